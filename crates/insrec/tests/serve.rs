//! `insrec serve` run as a user runs it: the real binary on a loopback port, spoken to over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `insrec serve`; killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `insrec serve` on a free port with `args` and waits for its "serving" line.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_insrec"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run insrec serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!(
                    "insrec serve exited before serving; stderr:\n{}",
                    seen.join("\n")
                );
            };
            if let Some(rest) = line.strip_prefix("insrec: serving http://") {
                break rest
                    .split('/')
                    .next()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("no address in {line:?}"));
            }
            seen.push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    /// One HTTP/1.1 request; returns the status code and the JSON body.
    fn request(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(body).expect("write body");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).expect("read reply");
        let reply = String::from_utf8(reply).expect("UTF-8 reply");
        let (head, body) = reply.split_once("\r\n\r\n").expect("header/body separator");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        let json = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {body:?}"));
        (status, json)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, "text/plain", &[])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_model_that_fails_to_load_is_offered_unavailable_with_a_json_error() {
    let missing = tempfile::tempdir().expect("tempdir");
    let missing = missing.path().join("no-such-model");
    let missing = missing.to_str().expect("UTF-8 temp path");
    let server = Server::start(&["--model", missing, "--max-upload-mb", "2"]);

    let (status, health) = server.get("/api/health");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["limits"]["max_upload_bytes"], 2_000_000);

    let (status, models) = server.get("/api/models");
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["default"], missing);
    assert_eq!(models["models"][0]["available"], false);

    let ogg = std::fs::read(insrec_testutil::fixture("vggish/000046_3840.ogg")).expect("fixture");
    let (status, error) = server.request("POST", "/api/analyze", "audio/ogg", &ogg);
    assert_eq!(status, 503, "{error}");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(message.contains("is unavailable"), "{message}");
}

#[test]
fn the_default_model_analyses_an_upload_and_refuses_a_corrupt_one() {
    let server = Server::start(&[]);
    let (status, models) = server.get("/api/models");
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["default"], "default");
    assert_eq!(models["models"][0]["available"], true, "{models}");

    let ogg = std::fs::read(insrec_testutil::fixture("vggish/000046_3840.ogg")).expect("fixture");
    let (status, report) = server.request(
        "POST",
        "/api/analyze?filename=clip.ogg&top_k=2",
        "audio/ogg",
        &ogg,
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["model"], "default");
    let file = &report["files"][0];
    assert_eq!(file["path"], "clip.ogg");
    assert!(
        (file["duration_s"].as_f64().unwrap_or(0.0) - 10.0).abs() < 0.01,
        "{file}"
    );
    assert_eq!(file["frames"].as_array().map(Vec::len), Some(10));
    let scores = file["scores"].as_object().expect("scores");
    assert_eq!(scores.len(), 20);
    assert!(
        scores
            .values()
            .all(|s| s.as_f64().is_some_and(|s| (0.0..=1.0).contains(&s))),
        "{scores:?}"
    );
    assert!(file["present"].as_array().is_some_and(|p| p.len() <= 2));

    let mut corrupt = ogg.clone();
    corrupt[200..]
        .iter_mut()
        .for_each(|b| *b = b.wrapping_mul(31) ^ 0x5a);
    let (status, error) = server.request("POST", "/api/analyze", "audio/ogg", &corrupt);
    assert!((400..500).contains(&status), "{status}: {error}");
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{error}"
    );
    let (status, _) = server.request("POST", "/api/analyze", "audio/ogg", &ogg);
    assert_eq!(status, 200, "the server keeps serving");
}

#[test]
fn every_bad_input_corpus_file_gets_a_json_answer_and_the_server_keeps_serving() {
    let server = Server::start(&["--max-duration-s", "300"]);
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../insrec-audio/tests/data/bad");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "{} corpus files", files.len());
    let ogg = std::fs::read(insrec_testutil::fixture("vggish/000046_3840.ogg")).expect("fixture");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(&path).expect("corpus file");
        let (status, reply) = server.request(
            "POST",
            &format!("/api/analyze?filename={name}"),
            "application/octet-stream",
            &bytes,
        );
        if name.starts_with("err_") {
            assert!((400..500).contains(&status), "{name}: {status} {reply}");
            let error = reply["error"].as_str().unwrap_or_default();
            assert!(!error.is_empty(), "{name}: {reply}");
        } else {
            // Clips shorter than one 0.96 s frame may be refused as too short, never failed.
            assert!(status == 200 || status == 422, "{name}: {status} {reply}");
        }
        let (status, _) = server.request("POST", "/api/analyze", "audio/ogg", &ogg);
        assert_eq!(status, 200, "the server keeps serving after {name}");
    }
}
