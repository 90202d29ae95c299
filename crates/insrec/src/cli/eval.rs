//! `insrec eval`: official and seed metrics of a trained classifier on a dataset.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use insrec_eval::EvalReport;
use insrec_train::compact::{CLASSIFIER_FILE, trained_split};
use insrec_train::{EvalSide, SplitKind, TrainedModel};

use super::device::DeviceArgs;
use super::encoders::compact_encoder;
use super::train::DataArgs;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run folder written by `insrec train` (or a model .safetensors), or the model folder of an
    /// end-to-end run (its encoder is used unless --encoder names another).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Which clips: the test side of the `official` or `seed` split, or `all` of them
    /// (default: the split the model was trained with).
    #[arg(long, value_enum)]
    pub split: Option<EvalSplit>,
    /// Per-class thresholds maximising F1 on the validation side (else 0.5).
    #[arg(long)]
    pub tune_thresholds: bool,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalSplit {
    Official,
    Seed,
    All,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let device = args.device.device()?;
    // The model folder of an end-to-end run brings its own encoder and the split it learnt on.
    let classifier = args.model.join(CLASSIFIER_FILE);
    let (model_path, encoder, trained_on) = if classifier.is_file() {
        let (description, weights) = insrec_encoders::compact::read_dir(&args.model)
            .with_context(|| format!("loading the encoder {}", args.model.display()))?;
        let plan = trained_split(&description);
        let encoder = compact_encoder(description, &weights)
            .with_context(|| format!("building the encoder {}", args.model.display()))?;
        (classifier, Some(encoder), plan)
    } else {
        (args.model.clone(), None, None)
    };
    let model = TrainedModel::load(&model_path, &device)
        .with_context(|| format!("loading the model {}", args.model.display()))?;
    let data = args.data.load_with(encoder)?;
    let mut plan = trained_on.unwrap_or_else(|| model.split_plan());
    let side = match args.split {
        Some(EvalSplit::All) => EvalSide::All,
        Some(EvalSplit::Official) => {
            plan.split = SplitKind::Official;
            EvalSide::Test
        }
        Some(EvalSplit::Seed) => {
            plan.split = SplitKind::Seed;
            EvalSide::Test
        }
        None => EvalSide::Test,
    };
    let report = insrec_train::evaluate(&model, &data, &plan, side, args.tune_thresholds, &device)?;
    print!("{}", render(&report));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as a per-class table with macro and seed summaries.
pub fn render(report: &EvalReport) -> String {
    let pct =
        |v: Option<f64>| v.map_or_else(|| "   n/a".to_owned(), |v| format!("{:6.2}", v * 100.0));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {}: {} clips, thresholds {}",
        report.model,
        report.dataset,
        report.clips,
        if report.tuned_thresholds {
            "tuned on validation"
        } else {
            "0.5"
        }
    );
    let _ = writeln!(
        out,
        "{:<18} {:>8} {:>5} {:>9} {:>6} {:>6} {:>6}",
        "class", "observed", "pos", "threshold", "F1", "AP", "AUC"
    );
    for c in &report.official.per_class {
        let _ = writeln!(
            out,
            "{:<18} {:>8} {:>5} {:>9.3} {} {} {}",
            c.class,
            c.observed,
            c.positives,
            c.threshold,
            pct(c.f1),
            pct(c.average_precision),
            pct(c.roc_auc)
        );
    }
    let o = &report.official;
    let _ = writeln!(
        out,
        "official (×100): macro-F1 {}  mAP {}  macro ROC-AUC {}  macro precision {}  macro recall {}",
        pct(o.macro_f1).trim(),
        pct(o.mean_average_precision).trim(),
        pct(o.macro_roc_auc).trim(),
        pct(o.macro_precision).trim(),
        pct(o.macro_recall).trim()
    );
    let s = &report.seed;
    let _ = writeln!(
        out,
        "seed (×100, argmax over {} classes): accuracy {:.2}  precision {:.2}  recall {:.2}  F1 {:.2}",
        s.classes_averaged,
        s.accuracy * 100.0,
        s.precision * 100.0,
        s.recall * 100.0,
        s.f1 * 100.0
    );
    out
}
