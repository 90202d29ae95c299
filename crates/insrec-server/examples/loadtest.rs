//! Load test of `POST /api/analyze` over loopback: `--clients` threads post clips, every `--corrupt-every`-th
//! upload bad, for at most `--seconds` and `--max-requests`. Reports throughput, failures, latency
//! percentiles and the server's memory; exits non-zero if a good clip failed or a bad one was not answered as
//! allowed, or if the server's RSS grew by more than `--max-rss-growth` percent.
//!
//! The bad upload is a generated corrupt clip, which must be refused with a 4xx; with `--bad-dir` it is each file
//! of that folder in turn (sent with its name as `?filename=`), which must be decoded (200) or refused (4xx): a
//! bad-input corpus holds odd but valid files too. A 5xx, a dropped connection or a timeout always fails.
//!
//! Without `--url` it starts the server in-process with the test suite's fake analyzer (WAV only), which
//! measures the HTTP layer. Against a real server: `insrec serve` in one shell, then
//! `cargo run --release -p insrec-server --example loadtest -- --url http://127.0.0.1:8080 --clip song.mp3
//! --server-pid $(pgrep -n insrec)`. `scripts/soak.sh` runs the 10-minute soak test this way.

#[path = "../tests/support/clips.rs"]
mod clips;
#[path = "../tests/support/fake_analyzer.rs"]
mod fake_analyzer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use fake_analyzer::FakeAnalyzer;
use insrec_server::{AppState, Limits};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Stop after this many requests in all.
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
    /// Length of the generated clip (ignored with --clip).
    #[arg(long, default_value_t = 10.0)]
    clip_seconds: f64,
    /// Post this audio file instead of a generated WAV.
    #[arg(long)]
    clip: Option<PathBuf>,
    /// Every n-th upload of each client is bad (0: none).
    #[arg(long, default_value_t = 5)]
    corrupt_every: u64,
    /// Post the files of this folder in turn as the bad uploads (each may be decoded or refused with a 4xx)
    /// instead of a generated corrupt clip (which must be refused).
    #[arg(long)]
    bad_dir: Option<PathBuf>,
    /// Fail if the server's RSS at the end exceeds its RSS after the warm-up (the first 10 % of the run or its
    /// first 60 s, whichever is shorter) by more than this many percent.
    #[arg(long)]
    max_rss_growth: Option<f64>,
    /// A running server to test (loopback only); without it, an in-process server with the fake analyzer.
    #[arg(long)]
    url: Option<String>,
    /// Process id of the server behind --url, to sample its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Concurrent analyses of the in-process server (default: one per core).
    #[arg(long)]
    max_concurrent: Option<usize>,
}

/// The bad uploads, posted in turn: one generated corrupt clip, or the files of `--bad-dir`.
struct BadUploads {
    /// File name (sent as `?filename=` when from a folder) and bytes.
    files: Vec<(String, Vec<u8>)>,
    /// From `--bad-dir`: a 200 is allowed as well as a 4xx.
    from_dir: bool,
    next: AtomicU64,
}

impl BadUploads {
    fn generated(clip: &[u8]) -> Self {
        let mut corrupt = clip[..clip.len().min(64)].to_vec();
        corrupt.extend((0..clip.len() / 8).map(|i| (i * 7919 % 251) as u8));
        Self {
            files: vec![("corrupt".to_string(), corrupt)],
            from_dir: false,
            next: AtomicU64::new(0),
        }
    }

    fn from_dir(dir: &std::path::Path) -> Result<Self> {
        let mut paths = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()?;
        paths.retain(|p| p.is_file());
        paths.sort();
        let files = paths
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                Ok((name.into_owned(), std::fs::read(path)?))
            })
            .collect::<Result<Vec<_>>>()?;
        if files.is_empty() {
            return Err(format!("no files in --bad-dir {}", dir.display()).into());
        }
        Ok(Self {
            files,
            from_dir: true,
            next: AtomicU64::new(0),
        })
    }

    /// The next bad upload in turn.
    fn take(&self) -> &(String, Vec<u8>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        &self.files[(n % self.files.len() as u64) as usize]
    }

    fn accepts(&self, status: u16) -> bool {
        (400..500).contains(&status) || (self.from_dir && status == 200)
    }
}

#[derive(Default)]
struct Tally {
    good_ok: AtomicU64,
    good_failed: AtomicU64,
    /// Answers to bad uploads that were allowed, by status code.
    bad_answered: Mutex<BTreeMap<u16, u64>>,
    bad_failed: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    failures: Mutex<Vec<String>>,
}

/// Server RSS samples: seconds since the start, kB.
type Samples = Vec<(f64, u64)>;

fn main() -> std::process::ExitCode {
    match run(&Args::parse()) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(err) => {
            eprintln!("loadtest: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<bool> {
    let (base, pid, server) = match &args.url {
        Some(url) => {
            check_loopback(url)?;
            (
                url.trim_end_matches('/').to_string(),
                args.server_pid,
                "external server".to_string(),
            )
        }
        None => {
            let limits = Limits {
                max_concurrent: args
                    .max_concurrent
                    .unwrap_or_else(|| Limits::default().max_concurrent),
                ..Limits::default()
            };
            let slots = limits.max_concurrent;
            let addr = start_server(limits)?;
            (
                format!("http://{addr}"),
                Some(std::process::id()),
                format!("in-process fake analyzer, {slots} slots"),
            )
        }
    };
    if args.max_rss_growth.is_some() && pid.is_none() {
        return Err("--max-rss-growth needs --server-pid with --url".into());
    }
    let (clip, content_type) = match &args.clip {
        Some(path) => (std::fs::read(path)?, "application/octet-stream"),
        None => {
            let tones: Vec<(f64, f64)> = [220.0, 330.0, 440.0, 550.0]
                .iter()
                .map(|&hz| (hz, args.clip_seconds / 4.0))
                .collect();
            (clips::tone_wav(&tones), "audio/wav")
        }
    };
    let bad = Arc::new(match &args.bad_dir {
        Some(dir) => BadUploads::from_dir(dir)?,
        None => BadUploads::generated(&clip),
    });
    let clip = Arc::new(clip);
    let bad_label = match &args.bad_dir {
        Some(dir) => format!("{} files of {}", bad.files.len(), dir.display()),
        None => "a generated corrupt clip".to_string(),
    };
    println!(
        "loadtest: {} clients for ≤ {} s / ≤ {} requests, {} kB clips, 1 in {} bad ({bad_label}); {server} at {base}",
        args.clients,
        args.seconds,
        args.max_requests,
        clip.len() / 1000,
        args.corrupt_every
    );

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .max_idle_connections(args.clients)
        .max_idle_connections_per_host(args.clients)
        .build()
        .into();
    let tally = Arc::new(Tally::default());
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let done = Arc::new(AtomicBool::new(false));
    let memory = Arc::new(Mutex::new(Samples::new()));
    let sampler = pid.map(|pid| {
        let (memory, done) = (Arc::clone(&memory), Arc::clone(&done));
        std::thread::spawn(move || {
            // Stops when the clients are done: the last sample is the server at the end of the load.
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    let at = start.elapsed().as_secs_f64();
                    memory.lock().map(|mut m| m.push((at, kb))).ok();
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    });

    let url = format!("{base}/api/analyze");
    let workers: Vec<_> = (0..args.clients)
        .map(|_| {
            let (agent, tally, sent, clip, bad, url) = (
                agent.clone(),
                Arc::clone(&tally),
                Arc::clone(&sent),
                Arc::clone(&clip),
                Arc::clone(&bad),
                url.clone(),
            );
            let (max_requests, corrupt_every) = (args.max_requests, args.corrupt_every);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline
                    && sent.fetch_add(1, Ordering::Relaxed) < max_requests
                {
                    n += 1;
                    let is_bad = corrupt_every > 0 && n.is_multiple_of(corrupt_every);
                    let upload = is_bad.then(|| bad.take());
                    let request = match upload {
                        Some((name, _)) if bad.from_dir => agent
                            .post(&url)
                            .query("filename", name)
                            .header("Content-Type", "application/octet-stream"),
                        _ => agent.post(&url).header("Content-Type", content_type),
                    };
                    let body = upload.map_or(clip.as_slice(), |(_, bytes)| bytes.as_slice());
                    let began = Instant::now();
                    let status = request.send(body).map(|mut r| {
                        // Read the whole answer so the connection is reused.
                        let _ = r.body_mut().read_to_vec();
                        r.status().as_u16()
                    });
                    let bad_upload = upload.map(|(name, _)| (name.as_str(), bad.as_ref()));
                    record(&tally, bad_upload, status, began.elapsed());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a client thread panicked")?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        sampler.join().map_err(|_| "the memory sampler panicked")?;
    }
    let memory = memory.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(report(&tally, elapsed, args, &bad_label, &memory))
}

/// Counts one answer; `bad` names the bad upload, if it was one.
fn record(
    tally: &Tally,
    bad: Option<(&str, &BadUploads)>,
    status: std::result::Result<u16, ureq::Error>,
    took: Duration,
) {
    let failure = match (bad, &status) {
        (None, Ok(200)) => {
            tally.good_ok.fetch_add(1, Ordering::Relaxed);
            tally.latencies.lock().map(|mut l| l.push(took)).ok();
            None
        }
        (Some((_, uploads)), Ok(code)) if uploads.accepts(*code) => {
            tally
                .bad_answered
                .lock()
                .map(|mut a| *a.entry(*code).or_default() += 1)
                .ok();
            None
        }
        (None, _) => {
            tally.good_failed.fetch_add(1, Ordering::Relaxed);
            Some(format!("good clip: {status:?}"))
        }
        (Some((name, _)), _) => {
            tally.bad_failed.fetch_add(1, Ordering::Relaxed);
            Some(format!("bad upload {name}: {status:?}"))
        }
    };
    if let Some(failure) = failure {
        tally.failures.lock().map(|mut f| f.push(failure)).ok();
    }
}

/// Prints the summary; true when nothing failed.
fn report(
    tally: &Tally,
    elapsed: f64,
    args: &Args,
    bad_label: &str,
    memory: &[(f64, u64)],
) -> bool {
    let good_ok = tally.good_ok.load(Ordering::Relaxed);
    let good_failed = tally.good_failed.load(Ordering::Relaxed);
    let bad_answered = tally
        .bad_answered
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let refused: u64 = bad_answered
        .iter()
        .filter(|(code, _)| (400..500).contains(*code))
        .map(|(_, n)| n)
        .sum();
    let decoded = bad_answered.get(&200).copied().unwrap_or_default();
    let bad_failed = tally.bad_failed.load(Ordering::Relaxed);
    println!(
        "requests: {} in {elapsed:.1} s ({} good, {} bad)",
        good_ok + good_failed + refused + decoded + bad_failed,
        good_ok + good_failed,
        refused + decoded + bad_failed
    );
    let clip_label = match &args.clip {
        Some(path) => path.display().to_string(),
        None => format!("{} s", args.clip_seconds),
    };
    println!(
        "good clips: {good_ok} ok, {good_failed} failed; throughput {:.1} clips/s ({clip_label} clips)",
        good_ok as f64 / elapsed
    );
    let codes: Vec<String> = bad_answered
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect();
    println!(
        "bad uploads ({bad_label}): {refused} refused with 4xx, {decoded} decoded (200), {bad_failed} failed [{}]",
        codes.join(" ")
    );
    if let Ok(mut latencies) = tally.latencies.lock()
        && !latencies.is_empty()
    {
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies[((latencies.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
        };
        println!(
            "latency of good clips: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
    }
    if let Some(peak) = memory.iter().map(|&(_, kb)| kb).max() {
        // Samples at each fifth of the run show whether memory stays flat under load.
        let mb = |q: f64| memory[((memory.len() - 1) as f64 * q).round() as usize].1 / 1024;
        println!(
            "server RSS over the run (MB): {} | {} | {} | {} | {} | {}; peak {}",
            mb(0.0),
            mb(0.2),
            mb(0.4),
            mb(0.6),
            mb(0.8),
            mb(1.0),
            peak / 1024
        );
    }
    let rss_ok = match (rss_growth(memory, elapsed), args.max_rss_growth) {
        (Some(growth), limit) => {
            let within = limit.is_none_or(|limit| growth.percent <= limit);
            println!(
                "server RSS growth: {:+.1} % ({} kB after the {:.0}-s warm-up, {} kB at the end{})",
                growth.percent,
                growth.after_warmup_kb,
                growth.warmup_s,
                growth.end_kb,
                limit.map_or(String::new(), |l| format!(
                    "; limit {l} %: {}",
                    if within { "ok" } else { "EXCEEDED" }
                ))
            );
            within
        }
        (None, Some(_)) => {
            println!("server RSS growth: too few memory samples to measure");
            false
        }
        (None, None) => true,
    };
    if let Ok(failures) = tally.failures.lock() {
        for failure in failures.iter().take(5) {
            println!("failure: {failure}");
        }
    }
    good_failed == 0 && bad_failed == 0 && rss_ok
}

struct RssGrowth {
    warmup_s: f64,
    after_warmup_kb: u64,
    end_kb: u64,
    percent: f64,
}

/// Growth of the last RSS sample over the first one after the warm-up: the first 10 % of the run or its first
/// 60 s, whichever is shorter. None without a sample after the warm-up.
fn rss_growth(memory: &[(f64, u64)], elapsed: f64) -> Option<RssGrowth> {
    let warmup_s = (elapsed * 0.1).min(60.0);
    let &(_, after_warmup_kb) = memory.iter().find(|&&(at, _)| at >= warmup_s)?;
    let &(_, end_kb) = memory.last()?;
    (after_warmup_kb > 0).then(|| RssGrowth {
        warmup_s,
        after_warmup_kb,
        end_kb,
        percent: (end_kb as f64 / after_warmup_kb as f64 - 1.0) * 100.0,
    })
}

/// Percent-encodes a query parameter value.
fn check_loopback(url: &str) -> Result<()> {
    use std::net::ToSocketAddrs;
    let authority = url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?
        .split('/')
        .next()
        .unwrap_or_default();
    let addrs: Vec<_> = authority.to_socket_addrs()?.collect();
    if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
        Ok(())
    } else {
        Err(format!("refusing to load-test {url}: loopback addresses only").into())
    }
}

/// Resident set size of a process, from /proc.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the server with the fake analyzer on a free loopback port, on a background runtime.
fn start_server(limits: Limits) -> Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(async { tokio::net::TcpListener::from_std(listener) })?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let state = AppState::new(Arc::new(FakeAnalyzer), limits);
            if let Err(err) = insrec_server::serve(listener, state, std::future::pending()).await {
                eprintln!("server stopped: {err}");
            }
        });
    });
    Ok(addr)
}
