//! `insrec bench`: train and evaluate several classifiers on one dataset, and write a markdown
//! table like the seed's (plus the official metrics, wall time and parameter counts).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use insrec_eval::{BENCH_LEGEND, BenchRow, bench_table};
use insrec_train::{EvalSide, SplitPlan, TrainOptions, TrainedModel};
use insrec_zoo::ModelKind;

use super::device::DeviceArgs;
use super::train::{DataArgs, SplitArg, setup, train_on};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Comma-separated classifiers (PyOmniTS names), or `all` for every model.
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<String>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// The markdown table to write.
    #[arg(long, value_name = "FILE.md")]
    pub out: PathBuf,
    /// Run folders, one per model (default: `<out without extension>-runs/`).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Per-model configs: `<DIR>/<Model>.toml`, or a PyOmniTS `<DIR>/<Model>/config.json`.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Recipe overrides `train.key=value` for every model. Repeatable.
    #[arg(long = "set", value_name = "train.KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, value_enum, default_value_t = SplitArg::Official)]
    pub split: SplitArg,
    /// Continue interrupted runs in the work folder (finished ones are only evaluated).
    #[arg(long)]
    pub resume: bool,
    /// Per-class thresholds tuned on validation for the official F1.
    #[arg(long)]
    pub tune_thresholds: bool,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let kinds = models(&args.models)?;
    if let Some(bad) = args.set.iter().find(|s| !s.starts_with("train.")) {
        anyhow::bail!(
            "--set {bad:?}: bench takes recipe keys (train.KEY=VALUE) only; use --config-dir for model keys"
        );
    }
    let device = args.device.device()?;
    let data = args.data.load()?;
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| args.out.with_file_name(runs_dir_name(&args.out)));
    let mut rows = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let config = args
            .config_dir
            .as_deref()
            .and_then(|dir| config_file(dir, kind));
        let setup = setup(kind, config.as_deref(), &args.set, args.seed, args.epochs)?;
        let out = work.join(kind.name());
        let options = TrainOptions {
            out: out.clone(),
            resume: args.resume,
            progress: true,
            stop_after: None,
            device: device.clone(),
        };
        let info = train_on(&setup, &data, args.split.into(), &options)
            .with_context(|| format!("training {kind}"))?;
        let evaluating = Instant::now();
        let model = TrainedModel::load(&out, &device)?;
        let plan = SplitPlan {
            split: args.split.into(),
            ..model.split_plan()
        };
        let report = insrec_train::evaluate(
            &model,
            &data,
            &plan,
            EvalSide::Test,
            args.tune_thresholds,
            &device,
        )
        .with_context(|| format!("evaluating {kind}"))?;
        let wall = Duration::from_secs_f64(info.train_seconds) + evaluating.elapsed();
        let row = BenchRow::new(&report, wall, info.params);
        eprintln!(
            "{kind}: {} epochs, accuracy {:.2}, mAP {}",
            info.epochs_done,
            row.accuracy * 100.0,
            row.mean_average_precision
                .map_or_else(|| "n/a".to_owned(), |m| format!("{:.2}", m * 100.0))
        );
        rows.push(row);
    }
    let table = format!("{}\n{BENCH_LEGEND}\n", bench_table(&rows));
    std::fs::write(&args.out, &table).with_context(|| format!("writing {}", args.out.display()))?;
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// `A,B,...` or `all` (every model).
fn models(names: &[String]) -> anyhow::Result<Vec<ModelKind>> {
    if names.len() == 1 && names[0].eq_ignore_ascii_case("all") {
        return Ok(ModelKind::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| Ok(ModelKind::from_name(name.trim())?))
        .collect()
}

/// `<dir>/<Model>.toml`, else `<dir>/<Model>/config.json`, when present.
fn config_file(dir: &Path, kind: ModelKind) -> Option<PathBuf> {
    [
        dir.join(format!("{}.toml", kind.name())),
        dir.join(kind.name()).join("config.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// `table.md` → `table-runs`.
fn runs_dir_name(out: &Path) -> String {
    let stem = out
        .file_stem()
        .map_or_else(|| "bench".to_owned(), |s| s.to_string_lossy().into_owned());
    format!("{stem}-runs")
}
