//! `insrec serve`: the web page and the JSON API, with the pipeline's recognisers behind them.

mod pipeline;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use insrec_server::{AppState, Limits};

use pipeline::PipelineAnalyzer;

use super::parse_seconds;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; 0.0.0.0:8080 exposes the server to the network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Models to offer: `default` (embedded) or model folders; repeat the flag for several, the first is the
    /// default. A model that fails to load is listed as unavailable and its analyses get 503.
    #[arg(long = "model", default_value = "default")]
    pub models: Vec<String>,
    /// Also offer every model folder (model.json + weights.bpk, from `insrec train`) in this folder, named
    /// after its folder.
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Largest accepted upload, in MB.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_upload_mb: u64,
    /// Longest accepted audio, in seconds.
    #[arg(long, default_value_t = Limits::DEFAULT_MAX_DURATION_S, value_parser = parse_seconds)]
    pub max_duration_s: f64,
    /// Analyses that run at once (default: number of cores); further requests queue.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_concurrent: Option<u64>,
    /// Seconds a request waits for a free slot before it gets 503 with Retry-After.
    #[arg(long, default_value_t = Limits::DEFAULT_QUEUE_TIMEOUT.as_secs_f64(), value_parser = parse_seconds)]
    pub queue_timeout_s: f64,
    /// Seconds one analysis may run before it is cancelled with 504.
    #[arg(long, default_value_t = Limits::DEFAULT_ANALYSIS_TIMEOUT.as_secs_f64(), value_parser = parse_seconds)]
    pub timeout_s: f64,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        max_upload_bytes: usize::try_from(args.max_upload_mb * 1_000_000)
            .context("--max-upload-mb is too large")?,
        max_duration_s: args.max_duration_s,
        max_concurrent: args
            .max_concurrent
            .map_or(Limits::default().max_concurrent, |n| n as usize),
        queue_timeout: Duration::from_secs_f64(args.queue_timeout_s),
        analysis_timeout: Duration::from_secs_f64(args.timeout_s),
    };
    let analyzer = PipelineAnalyzer::load(
        &args.models,
        args.models_dir.as_deref(),
        args.max_duration_s,
    )?;
    for (name, reason) in analyzer.unavailable() {
        eprintln!("insrec: warning: model {name:?} is unavailable: {reason}");
    }
    let state = AppState::new(Arc::new(analyzer), limits);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        eprintln!(
            "insrec: serving http://{}/ (Ctrl-C stops)",
            listener.local_addr()?
        );
        insrec_server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}
