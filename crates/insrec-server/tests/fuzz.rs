//! In-process mutation fuzzing of target (2): request bytes → the router (multipart and raw
//! uploads, query strings, methods, paths, content types) with the test suite's fake analyzer
//! (the real decoder is target (1), in `insrec-audio`).
//!
//! A fuzz input is a request written as `METHOD PATH?QUERY\nCONTENT-TYPE\nBODY`; inputs that no
//! HTTP parser would hand to the router (an invalid method, URI or header value) are refused
//! before it. Every request must get an answer within a second; a 5xx other than 503/504 is a
//! failure, and every error under `/api/` must be a JSON body with an `error` message. A long run:
//!
//! ```text
//! INSREC_FUZZ_EXECS=1000000 cargo test --release -p insrec-server --test fuzz -- --nocapture
//! ```

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use insrec_server::{AppState, Limits, app};
use insrec_testutil::fuzz::{Budget, Campaign, Seed, Verdict};
use support::clips::tone_wav;
use support::fake_analyzer::FakeAnalyzer;
use tower::ServiceExt;

/// Small limits, so that mutants also cross them.
fn limits() -> Limits {
    Limits {
        max_upload_bytes: 64 * 1024,
        max_duration_s: 5.0,
        max_concurrent: 2,
        queue_timeout: Duration::from_millis(500),
        analysis_timeout: Duration::from_millis(800),
    }
}

const BOUNDARY: &str = "fuzz-boundary";

fn multipart(fields: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, data) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{filename}\"\r\nContent-Type: audio/wav\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn seed(name: &str, head: &str, content_type: &str, body: &[u8]) -> Seed {
    let mut bytes = format!("{head}\n{content_type}\n").into_bytes();
    bytes.extend_from_slice(body);
    Seed::new(name, bytes)
}

fn seeds() -> Vec<Seed> {
    let wav = tone_wav(&[(440.0, 0.5), (660.0, 0.5)]);
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
    vec![
        seed("raw", "POST /api/analyze", "audio/wav", &wav),
        seed(
            "raw-query",
            "POST /api/analyze?top_k=3&threshold=0.2&model=fake-shifted",
            "application/octet-stream",
            &wav,
        ),
        seed(
            "multipart",
            "POST /api/analyze?top_k=1",
            &multipart_type,
            &multipart(&[("file", "tone.wav", &wav)]),
        ),
        seed(
            "multipart-two-fields",
            "POST /api/analyze",
            &multipart_type,
            &multipart(&[("note", "", b"hello"), ("file", "a b.wav", &wav)]),
        ),
        seed("models", "GET /api/models", "", b""),
        seed("health", "GET /api/health", "", b""),
        seed("page", "GET /", "", b""),
    ]
}

/// Splits a fuzz input into a request; `None` when no HTTP parser would produce it.
fn request(input: &[u8]) -> Option<Request<Body>> {
    let mut parts = input.splitn(3, |&b| b == b'\n');
    let head = parts.next()?;
    let content_type = parts.next()?;
    let body = parts.next().unwrap_or_default();
    let head = std::str::from_utf8(head).ok()?;
    let (method, uri) = head.split_once(' ')?;
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(uri);
    if !content_type.is_empty() {
        builder = builder.header(
            header::CONTENT_TYPE,
            header::HeaderValue::from_bytes(content_type).ok()?,
        );
    }
    builder.body(Body::from(body.to_vec())).ok()
}

#[test]
fn the_router_answers_every_request_within_a_second() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let router = app(AppState::new(Arc::new(FakeAnalyzer), limits()));
    let campaign = Campaign {
        target: "http",
        budget: Budget::from_env(300),
        max_exec: Duration::from_secs(1),
        max_input: 96 * 1024,
    };
    campaign
        .run(&seeds(), |_, input| {
            let Some(request) = request(input) else {
                return Ok(Verdict::Refused);
            };
            let path = request.uri().path().to_string();
            let (status, body) = runtime.block_on(async {
                let response = router
                    .clone()
                    .oneshot(request)
                    .await
                    .map_err(|e| format!("router error: {e}"))?;
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .map_err(|e| format!("{status}: unreadable body: {e}"))?;
                Ok::<_, String>((status, body))
            })?;
            if status.is_server_error()
                && status != StatusCode::SERVICE_UNAVAILABLE
                && status != StatusCode::GATEWAY_TIMEOUT
            {
                return Err(format!(
                    "{status} for {path}: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            if status.is_success() {
                return Ok(Verdict::Accepted);
            }
            if path.starts_with("/api/") {
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| format!("{status} for {path}: body is not JSON ({e})"))?;
                if !json["error"].is_string() {
                    return Err(format!("{status} for {path}: no error message: {json}"));
                }
            }
            Ok(Verdict::Refused)
        })
        .assert_clean();
}
