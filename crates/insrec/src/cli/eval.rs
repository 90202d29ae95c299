//! `insrec eval`: official and seed metrics of a trained classifier on a dataset.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use insrec_core::Instrument;
use insrec_encoders::compact::{ModelDescription, load_model};
use insrec_eval::{EvalReport, PartsGroup, ThresholdSource, by_parts, tune_thresholds};
use insrec_train::compact::{AudioClips, CLASSIFIER_FILE, predict, trained_split};
use insrec_train::{DEFAULT_SEED, EvalSide, SplitKind, SplitPlan, TrainedModel};

use super::device::DeviceArgs;
use super::encoders::compact_encoder;
use super::recognizers;
use super::train::DataArgs;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// `default` (the embedded model) or the model folder of `insrec train --model compact`
    /// (scored on each clip's first 10 s as `insrec analyze` scores a file); a run folder written
    /// by `insrec train` (or a model .safetensors); or the model folder of an end-to-end run (its
    /// encoder is used unless --encoder names another).
    #[arg(long, value_name = "default|DIR")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Which clips: the test side of the `official` or `seed` split, or `all` of them
    /// (default: the split the model was trained with).
    #[arg(long, value_enum)]
    pub split: Option<EvalSplit>,
    /// Which side of the split to score (default: test); not with `--split all`.
    #[arg(long, value_enum)]
    pub side: Option<Side>,
    /// Per-class thresholds maximising F1 on the validation side (else 0.5).
    #[arg(long)]
    pub tune_thresholds: bool,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also score the clips grouped by their number of parts (a compact model on a `synth:`
    /// corpus): how recognition holds up as more instruments play at once.
    #[arg(long)]
    pub by_parts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalSplit {
    Official,
    Seed,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Side {
    Test,
    Valid,
    Train,
}

impl EvalArgs {
    /// The clips `--split` and `--side` pick, and the split protocol to use instead of the
    /// model's own (if any).
    fn side(&self) -> anyhow::Result<(EvalSide, Option<SplitKind>)> {
        let side = match self.side {
            None | Some(Side::Test) => EvalSide::Test,
            Some(Side::Valid) => EvalSide::Valid,
            Some(Side::Train) => EvalSide::Train,
        };
        Ok(match self.split {
            Some(EvalSplit::All) if self.side.is_some() => {
                bail!("--side picks a side of a split; --split all scores every clip")
            }
            Some(EvalSplit::All) => (EvalSide::All, None),
            Some(EvalSplit::Official) => (side, Some(SplitKind::Official)),
            Some(EvalSplit::Seed) => (side, Some(SplitKind::Seed)),
            None => (side, None),
        })
    }
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let (side, split) = args.side()?;
    if let Some((description, weights)) = recognizers::compact(&args.model.to_string_lossy())? {
        return run_compact(&args, description, &weights, side, split);
    }
    if args.by_parts {
        bail!(
            "--by-parts scores compact models (`default` or a model folder of `insrec train --model compact`)"
        );
    }
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
    if let Some(split) = split {
        plan.split = split;
    }
    let report = insrec_train::evaluate(&model, &data, &plan, side, args.tune_thresholds, &device)?;
    write(&args, &report)
}

/// A compact model (encoder + frame head) on the audio of `--data`: clip metrics at the model's
/// thresholds (or tuned on the dataset's validation side), and frame mAP where frames are labelled.
fn run_compact(
    args: &EvalArgs,
    description: ModelDescription,
    weights: &[u8],
    side: EvalSide,
    split: Option<SplitKind>,
) -> anyhow::Result<ExitCode> {
    if args.data.embeddings.is_some() || args.data.encoding.encoder.is_some() {
        bail!("a compact model reads the dataset's audio: drop --embeddings and --encoder");
    }
    let device = args.device.device()?;
    let spec = &args.data.data;
    let mut plan = trained_split(&description)
        .unwrap_or_else(|| SplitPlan::new(SplitKind::Official, DEFAULT_SEED));
    if let Some(split) = split {
        plan.split = split;
    }
    let (clips, valid) = if side == EvalSide::All {
        if args.tune_thresholds {
            bail!("--tune-thresholds needs a validation side; evaluate a side, not --split all");
        }
        (AudioClips::all(spec)?, None)
    } else {
        let data = AudioClips::open(spec, &plan)?;
        let valid = args.tune_thresholds.then(|| data.valid.clone());
        let clips = match side {
            EvalSide::Valid => data.valid,
            EvalSide::Train => data.train,
            EvalSide::Test | EvalSide::All => data.test,
        };
        (clips, valid)
    };
    if clips.is_empty() {
        bail!(
            "{spec}: the {} side of the split has no clip; `--split all` scores every clip",
            side.name()
        );
    }
    // Read before the audio, so that a dataset without parts fails at once.
    let parts = match args.by_parts.then(|| clips.part_counts()) {
        None => None,
        Some(Some(parts)) => Some(parts?),
        Some(None) => {
            bail!(
                "--by-parts needs a synth: corpus (its clip records list their parts), not {spec}"
            )
        }
    };
    let model = load_model(&description, weights, &device)?;
    let (thresholds, source) = match valid {
        Some(valid) => {
            let predictions = predict(model.clone(), &valid, &device)?;
            (tune_thresholds(&predictions.clips), ThresholdSource::Tuned)
        }
        None => (description.thresholds, ThresholdSource::Model),
    };
    let predictions = predict(model, &clips, &device)?;
    let name = if args.model.as_os_str() == recognizers::DEFAULT {
        description.name
    } else {
        args.model.display().to_string()
    };
    let dataset = format!("{spec} ({})", side.describe(plan.split));
    let mut report =
        EvalReport::with_thresholds(name, dataset, &predictions.clips, &thresholds, source)?;
    if let Some(frames) = &predictions.frames {
        report.frame_map =
            insrec_eval::official::evaluate(frames, &thresholds)?.mean_average_precision;
    }
    if let Some(parts) = parts {
        report.by_parts = by_parts(&predictions.clips, &parts, &thresholds)?;
    }
    write(args, &report)
}

/// Prints the report, and writes it as JSON with `--json`.
fn write(args: &EvalArgs, report: &EvalReport) -> anyhow::Result<ExitCode> {
    print!("{}", render(report));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as a per-class table with macro and seed summaries.
pub fn render(report: &EvalReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {}: {} clips, thresholds {}",
        report.model,
        report.dataset,
        report.clips,
        match report.thresholds {
            ThresholdSource::Fixed => "0.5",
            ThresholdSource::Tuned => "tuned on validation",
            ThresholdSource::Model => "the model's own (tuned on its training validation split)",
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
    if let Some(frame_map) = report.frame_map {
        let _ = writeln!(out, "frame-level (×100): mAP {:.2}", frame_map * 100.0);
    }
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
    if !report.by_parts.is_empty() {
        render_by_parts(&mut out, &report.by_parts);
    }
    out
}

/// A metric ×100 in six columns, `n/a` where it is undefined.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "   n/a".to_owned(), |v| format!("{:6.2}", v * 100.0))
}

/// AP (×100) per class and number of parts, one column per number.
fn render_by_parts(out: &mut String, groups: &[PartsGroup]) {
    let _ = writeln!(
        out,
        "AP (×100) by number of parts (instruments and distractors) in the clip:"
    );
    let _ = write!(out, "{:<18}", "parts");
    for g in groups {
        let _ = write!(out, " {:>6}", g.parts);
    }
    let _ = write!(out, "\n{:<18}", "clips");
    for g in groups {
        let _ = write!(out, " {:>6}", g.clips);
    }
    for (c, instrument) in Instrument::ALL.iter().enumerate() {
        let _ = write!(out, "\n{:<18}", instrument.name());
        for g in groups {
            let _ = write!(
                out,
                " {}",
                pct(g.average_precision.get(c).copied().flatten())
            );
        }
    }
    let _ = write!(out, "\n{:<18}", "mAP");
    for g in groups {
        let _ = write!(out, " {}", pct(g.mean_average_precision));
    }
    out.push('\n');
}
