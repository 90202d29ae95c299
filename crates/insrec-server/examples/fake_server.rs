//! The InsRec page and API with the test suite's fake analyzer, for trying the page without a model:
//! `cargo run -p insrec-server --example fake_server -- --addr 127.0.0.1:8080` (WAV uploads only).

#[path = "../tests/support/fake_analyzer.rs"]
mod fake_analyzer;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use fake_analyzer::FakeAnalyzer;
use insrec_server::{AppState, Limits};

#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "fake InsRec server on http://{}/ (Ctrl-C stops it)",
        listener.local_addr()?
    );
    let state = AppState::new(Arc::new(FakeAnalyzer), Limits::default());
    insrec_server::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
