//! `insrec train --model compact`: the end-to-end compact model (log-mel → encoder → frame head)
//! trained on an `insrec synth` corpus; what the embedded default model is made with.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use insrec_encoders::compact::HeadKind;
use insrec_train::DataKind;
use insrec_train::compact::{TrainSettings, train};

use super::train::TrainArgs;

/// Name under which `insrec train --model` selects the compact model.
pub const MODEL_NAME: &str = "compact";

/// Settings from the defaults, `--epochs`, `--seed` and `--set key=value`.
fn settings(args: &TrainArgs) -> anyhow::Result<TrainSettings> {
    let mut settings = TrainSettings::default();
    if let Some(epochs) = args.epochs {
        settings.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        settings.seed = seed;
    }
    for pair in &args.set {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--set {pair}: expected KEY=VALUE"))?;
        let key = key.trim().trim_start_matches("train.");
        let value = value.trim();
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("--set {key}={value}: {e}");
        let a = &mut settings.augmentation;
        match key {
            "head" => {
                settings.head = HeadKind::ALL
                    .into_iter()
                    .find(|h| h.name() == value)
                    .with_context(|| format!("--set head={value}: expected mlp, tcn or bigru"))?;
            }
            "batch_clips" => settings.batch_clips = value.parse().map_err(|e| bad(&e))?,
            "learning_rate" => settings.learning_rate = value.parse().map_err(|e| bad(&e))?,
            "weight_decay" => settings.weight_decay = value.parse().map_err(|e| bad(&e))?,
            "warmup_steps" => settings.warmup_steps = value.parse().map_err(|e| bad(&e))?,
            "patience" => settings.patience = value.parse().map_err(|e| bad(&e))?,
            "max_train_clips" => {
                settings.max_train_clips = Some(value.parse().map_err(|e| bad(&e))?)
            }
            "mix_probability" => a.mix_probability = value.parse().map_err(|e| bad(&e))?,
            "noise_probability" => a.noise_probability = value.parse().map_err(|e| bad(&e))?,
            "mask_probability" => a.mask_probability = value.parse().map_err(|e| bad(&e))?,
            "tilt_db" => a.tilt_db = value.parse().map_err(|e| bad(&e))?,
            _ => bail!(
                "--set {key}: the compact model knows head, batch_clips, learning_rate, \
                 weight_decay, warmup_steps, patience, max_train_clips, mix_probability, \
                 noise_probability, mask_probability, tilt_db"
            ),
        }
    }
    if settings.batch_clips == 0 || settings.epochs == 0 {
        bail!("batch_clips and epochs must be at least 1");
    }
    Ok(settings)
}

pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    if args.data.data.kind != DataKind::Synth {
        bail!(
            "--model compact learns from audio with frame labels: give --data synth:DIR \
             (a corpus made by `insrec synth`), not {}",
            args.data.data
        );
    }
    if args.data.embeddings.is_some()
        || args.data.encoding.encoder.is_some()
        || args.config.is_some()
    {
        bail!(
            "--model compact takes no --embeddings, --encoder or --config (it learns its own encoder)"
        );
    }
    let settings = settings(args)?;
    let checkpoint = args.out.join("checkpoint").join("state.json");
    if checkpoint.exists() && !args.resume {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            args.out.display()
        );
    }
    let metadata = serde_json::json!({
        "corpus": args.data.data.path.display().to_string(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    });
    let outcome = train(&args.data.data.path, &args.out, &settings, metadata)?;
    let pct = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
    println!(
        "compact: best epoch {}; valid clip mAP {} macro-F1 {} frame mAP {}",
        outcome.best_epoch,
        pct(outcome.valid.clip.mean_average_precision),
        pct(outcome.valid.clip.macro_f1),
        pct(outcome.valid.frame_map),
    );
    if let Some(test) = &outcome.test {
        println!(
            "held-out test: clip mAP {} macro-F1 {} frame mAP {}",
            pct(test.clip.mean_average_precision),
            pct(test.clip.macro_f1),
            pct(test.frame_map),
        );
    }
    println!("model: {}", outcome.model_dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Whether `--model NAME` selects the compact model.
pub fn is_compact(name: &str) -> bool {
    name.eq_ignore_ascii_case(MODEL_NAME) && !Path::new(name).exists()
}
