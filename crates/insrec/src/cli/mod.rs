//! Subcommands. Each module holds its clap `Args` struct and a `run` function.

mod analyze;
mod bench;
mod device;
mod embed;
mod encoders;
mod eval;
mod features;
mod inputs;
mod models;
mod recognizers;
mod serve;
mod synth;
mod train;
mod train_compact;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// InsRec: which of the 20 OpenMIC-2018 instruments play in a recording, and when.
#[derive(Debug, Parser)]
#[command(name = "insrec", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output (-v info, -vv debug); `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Which instruments play in each file, and when (per 0.96 s frame).
    Analyze(analyze::AnalyzeArgs),
    /// Compute VGGish log-mel examples [N, 96, 64] of an audio file and write them as .npy.
    Features(features::FeaturesArgs),
    /// Compute VGGish features [N, 10, 128] (OpenMIC-2018's X) of audio files, with sample keys.
    Embed(embed::EmbedArgs),
    /// Render a labelled training corpus from SoundFonts and drum kits.
    Synth(synth::SynthArgs),
    /// List the sequence classifiers (PyOmniTS backbones) with their parameter counts.
    Models(models::ModelsArgs),
    /// Serve the web page and the JSON API (default http://127.0.0.1:8080/).
    Serve(serve::ServeArgs),
    /// Train a sequence classifier on a dataset (resumable; best model kept on validation).
    Train(train::TrainArgs),
    /// Evaluate a trained classifier: official masked metrics and the seed's metrics.
    Eval(eval::EvalArgs),
    /// Train and evaluate several classifiers; write a markdown table.
    Bench(bench::BenchArgs),
}

/// Runs one subcommand; the exit code says whether every item succeeded.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Analyze(args) => analyze::run(args),
        Command::Features(args) => features::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Models(args) => models::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// Logs go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
pub fn init_logging(verbosity: u8) {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // symphonia logs probe failures at error level; they reach the user as InsRec's own error.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},symphonia=off")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// A `--…-s` option: a positive number of seconds, at most 10⁷ (about 116 days).
fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 1e7 {
        Ok(v)
    } else {
        Err(format!("{v} is not a positive number of seconds"))
    }
}
