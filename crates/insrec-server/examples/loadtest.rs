//! Load test of `POST /api/analyze` over loopback: `--clients` threads post clips, every `--corrupt-every`-th
//! upload corrupt, for at most `--seconds` and `--max-requests`. Reports throughput, failures, latency
//! percentiles and the server's memory; exits non-zero if a good clip failed or a corrupt one was not refused
//! with a 4xx.
//!
//! Without `--url` it starts the server in-process with the test suite's fake analyzer (WAV only), which
//! measures the HTTP layer. Against a real server: `insrec serve` in one shell, then
//! `cargo run --release -p insrec-server --example loadtest -- --url http://127.0.0.1:8080 --clip song.mp3
//! --server-pid $(pgrep -n insrec)`.

#[path = "../tests/support/clips.rs"]
mod clips;
#[path = "../tests/support/fake_analyzer.rs"]
mod fake_analyzer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Every n-th upload of each client is corrupt (0: none).
    #[arg(long, default_value_t = 5)]
    corrupt_every: u64,
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

#[derive(Default)]
struct Tally {
    good_ok: AtomicU64,
    good_failed: AtomicU64,
    corrupt_refused: AtomicU64,
    corrupt_other: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    failures: Mutex<Vec<String>>,
}

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
    let mut corrupt = clip[..clip.len().min(64)].to_vec();
    corrupt.extend((0..clip.len() / 8).map(|i| (i * 7919 % 251) as u8));
    let (clip, corrupt) = (Arc::new(clip), Arc::new(corrupt));
    println!(
        "loadtest: {} clients for ≤ {} s / ≤ {} requests, {} kB clips, 1 in {} corrupt; {server} at {base}",
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
    let memory = Arc::new(Mutex::new(Vec::new()));
    let sampler = pid.map(|pid| {
        let memory = Arc::clone(&memory);
        std::thread::spawn(move || {
            while Instant::now() < deadline {
                if let Some(kb) = rss_kb(pid) {
                    memory.lock().map(|mut m| m.push(kb)).ok();
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    });

    let url = format!("{base}/api/analyze");
    let workers: Vec<_> = (0..args.clients)
        .map(|_| {
            let (agent, tally, sent, clip, corrupt, url) = (
                agent.clone(),
                Arc::clone(&tally),
                Arc::clone(&sent),
                Arc::clone(&clip),
                Arc::clone(&corrupt),
                url.clone(),
            );
            let (max_requests, corrupt_every) = (args.max_requests, args.corrupt_every);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline
                    && sent.fetch_add(1, Ordering::Relaxed) < max_requests
                {
                    n += 1;
                    let is_corrupt = corrupt_every > 0 && n.is_multiple_of(corrupt_every);
                    let body: &[u8] = if is_corrupt { &corrupt } else { &clip };
                    let began = Instant::now();
                    let reply = agent
                        .post(&url)
                        .header("Content-Type", content_type)
                        .send(body);
                    let status = reply.map(|mut r| {
                        // Read the whole answer so the connection is reused.
                        let _ = r.body_mut().read_to_vec();
                        r.status().as_u16()
                    });
                    record(&tally, is_corrupt, status, began.elapsed());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a client thread panicked")?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(sampler) = sampler {
        sampler.join().map_err(|_| "the memory sampler panicked")?;
    }
    Ok(report(
        &tally,
        elapsed,
        args,
        &memory.lock().map(|m| m.clone()).unwrap_or_default(),
    ))
}

fn record(
    tally: &Tally,
    is_corrupt: bool,
    status: std::result::Result<u16, ureq::Error>,
    took: Duration,
) {
    let failure = match (is_corrupt, &status) {
        (false, Ok(200)) => {
            tally.good_ok.fetch_add(1, Ordering::Relaxed);
            tally.latencies.lock().map(|mut l| l.push(took)).ok();
            None
        }
        (true, Ok(code)) if (400..500).contains(code) => {
            tally.corrupt_refused.fetch_add(1, Ordering::Relaxed);
            None
        }
        (false, _) => {
            tally.good_failed.fetch_add(1, Ordering::Relaxed);
            Some(format!("good clip: {status:?}"))
        }
        (true, _) => {
            tally.corrupt_other.fetch_add(1, Ordering::Relaxed);
            Some(format!("corrupt clip: {status:?}"))
        }
    };
    if let Some(failure) = failure {
        tally.failures.lock().map(|mut f| f.push(failure)).ok();
    }
}

/// Prints the summary; true when nothing failed.
fn report(tally: &Tally, elapsed: f64, args: &Args, memory_kb: &[u64]) -> bool {
    let good_ok = tally.good_ok.load(Ordering::Relaxed);
    let good_failed = tally.good_failed.load(Ordering::Relaxed);
    let refused = tally.corrupt_refused.load(Ordering::Relaxed);
    let corrupt_other = tally.corrupt_other.load(Ordering::Relaxed);
    println!(
        "requests: {} in {elapsed:.1} s ({} good, {} corrupt)",
        good_ok + good_failed + refused + corrupt_other,
        good_ok + good_failed,
        refused + corrupt_other
    );
    let clip_label = match &args.clip {
        Some(path) => path.display().to_string(),
        None => format!("{} s", args.clip_seconds),
    };
    println!(
        "good clips: {good_ok} ok, {good_failed} failed; throughput {:.1} clips/s ({clip_label} clips)",
        good_ok as f64 / elapsed
    );
    println!("corrupt uploads: {refused} refused with 4xx, {corrupt_other} otherwise");
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
    if let Some(peak) = memory_kb.iter().max() {
        // Samples at each fifth of the run show whether memory stays flat under load.
        let mb = |q: f64| memory_kb[((memory_kb.len() - 1) as f64 * q).round() as usize] / 1024;
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
    if let Ok(failures) = tally.failures.lock() {
        for failure in failures.iter().take(5) {
            println!("failure: {failure}");
        }
    }
    good_failed == 0 && corrupt_other == 0
}

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
