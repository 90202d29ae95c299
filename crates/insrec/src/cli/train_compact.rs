//! `insrec train --model compact`: the end-to-end compact model (log-mel → encoder → frame head)
//! trained on labelled audio (an `insrec synth` corpus, a labelled folder, OpenMIC-2018's audio);
//! what the embedded default model is made with.
//! `insrec train --model NAME --end-to-end` adds the zoo classifier NAME on the encoder's
//! 10-frame embedding sequences and trains all of it together.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use insrec_encoders::compact::{BlockSpec, HeadKind, Pooling};
use insrec_train::compact::{AudioClips, ClassifierSpec, TrainSettings, train};
use insrec_train::{LossKind, SplitPlan};
use insrec_zoo::{ClassifierConfig, ModelKind};

use super::train::TrainArgs;

/// Name under which `insrec train --model` selects the compact model.
pub const MODEL_NAME: &str = "compact";

/// Settings from the defaults, `--epochs`, `--seed` and `--set key=value`; in an end-to-end run
/// of a zoo model, keys the compact trainer does not know configure the classifier.
fn settings(
    args: &TrainArgs,
    classifier: Option<ClassifierConfig>,
) -> anyhow::Result<TrainSettings> {
    let mut settings = TrainSettings::default();
    let mut model_overrides = Vec::new();
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
        let train_key = pair.trim_start().starts_with("train.");
        match key {
            "head" => {
                settings.head = HeadKind::ALL
                    .into_iter()
                    .find(|h| h.name() == value)
                    .with_context(|| format!("--set head={value}: expected mlp, tcn or bigru"))?;
            }
            "blocks" => settings.blocks = BlockSpec::parse_list(value).map_err(|e| bad(&e))?,
            "pooling" => {
                settings.pooling = Pooling::ALL
                    .into_iter()
                    .find(|p| p.name() == value)
                    .with_context(|| {
                        format!("--set pooling={value}: expected global, bands or bands_max")
                    })?;
            }
            "time_pool" => settings.time_pool = value.parse().map_err(|e| bad(&e))?,
            "embedding_dim" => settings.embedding_dim = value.parse().map_err(|e| bad(&e))?,
            "head_hidden" => settings.head_hidden = value.parse().map_err(|e| bad(&e))?,
            "batch_clips" => settings.batch_clips = value.parse().map_err(|e| bad(&e))?,
            "learning_rate" => settings.learning_rate = value.parse().map_err(|e| bad(&e))?,
            "weight_decay" => settings.weight_decay = value.parse().map_err(|e| bad(&e))?,
            "loss" => {
                settings.loss = match LossKind::from_name(value) {
                    Some(LossKind::SeedCe) | None => {
                        bail!("--set loss={value}: expected masked_bce or masked_asl")
                    }
                    Some(loss) => loss,
                }
            }
            "preset_loss" => settings.preset_loss = value.parse().map_err(|e| bad(&e))?,
            "preset_blend" => settings.preset_blend = value.parse().map_err(|e| bad(&e))?,
            "role_targets" => settings.role_targets = value.parse().map_err(|e| bad(&e))?,
            "warmup_steps" => settings.warmup_steps = value.parse().map_err(|e| bad(&e))?,
            "patience" => settings.patience = value.parse().map_err(|e| bad(&e))?,
            "max_train_clips" => {
                settings.max_train_clips = Some(value.parse().map_err(|e| bad(&e))?)
            }
            "mix_probability" => a.mix_probability = value.parse().map_err(|e| bad(&e))?,
            "noise_probability" => a.noise_probability = value.parse().map_err(|e| bad(&e))?,
            "mask_probability" => a.mask_probability = value.parse().map_err(|e| bad(&e))?,
            "tilt_db" => a.tilt_db = value.parse().map_err(|e| bad(&e))?,
            "eq_db" => a.eq_db = value.parse().map_err(|e| bad(&e))?,
            "shift_bands" => a.shift_bands = value.parse().map_err(|e| bad(&e))?,
            "mix_unknown_db" => a.mix_unknown_db = Some(value.parse().map_err(|e| bad(&e))?),
            _ if classifier.is_some() && !train_key => model_overrides.push(pair.clone()),
            _ => bail!(
                "--set {key}: the compact model knows head, blocks, pooling, time_pool, embedding_dim, head_hidden, batch_clips, learning_rate, \
                 weight_decay, loss, preset_loss, preset_blend, role_targets, warmup_steps, patience, max_train_clips, mix_probability, \
                 mix_unknown_db, noise_probability, mask_probability, tilt_db, eq_db, shift_bands{}",
                if classifier.is_some() {
                    " (keys without `train.` configure the classifier)"
                } else {
                    ""
                }
            ),
        }
    }
    if let Some(config) = classifier {
        let config = config.with_overrides(&model_overrides)?;
        settings.classifier = Some(ClassifierSpec::new(&config)?);
    }
    if [
        settings.batch_clips,
        settings.epochs,
        settings.embedding_dim,
        settings.head_hidden,
    ]
    .contains(&0)
    {
        bail!("batch_clips, epochs, embedding_dim and head_hidden must be at least 1");
    }
    let a = &settings.augmentation;
    for (key, p) in [
        ("mix_probability", a.mix_probability),
        ("noise_probability", a.noise_probability),
        ("mask_probability", a.mask_probability),
        ("preset_blend", f64::from(settings.preset_blend)),
    ] {
        if !(0.0..=1.0).contains(&p) {
            bail!("--set {key}={p}: must be between 0 and 1");
        }
    }
    if !(settings.learning_rate.is_finite() && settings.learning_rate > 0.0) {
        bail!(
            "--set learning_rate={}: must be a positive number",
            settings.learning_rate
        );
    }
    if settings.classifier.is_some() && settings.embedding_dim != insrec_core::EMBEDDING_DIM {
        bail!(
            "--end-to-end: the zoo classifiers read {}-wide embeddings, not embedding_dim={}",
            insrec_core::EMBEDDING_DIM,
            settings.embedding_dim
        );
    }
    // Refused here, before the dataset is read, rather than after loading it.
    settings.model_config()?;
    Ok(settings)
}

pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let what = if is_compact(&args.model) {
        "--model compact".to_owned()
    } else {
        format!("--model {} --end-to-end", args.model)
    };
    if args.data.embeddings.is_some() || args.data.encoding.encoder.is_some() {
        bail!("{what} takes no --embeddings or --encoder (it learns its own encoder)");
    }
    if args.stop_after.is_some() {
        bail!("{what} takes no --stop-after (stop it any time and continue with --resume)");
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        tracing::warn!(
            "MIMALLOC_PURGE_DELAY is unset: with MIMALLOC_PURGE_DELAY=-1 in the environment \
             training runs ≈ 13 % faster (freed pages stay with the allocator)"
        );
    }
    let classifier = if is_compact(&args.model) {
        if args.config.is_some() {
            bail!("--model compact takes no --config; use --set key=value");
        }
        None
    } else {
        let config = ModelKind::from_name(&args.model)?.production_config();
        Some(match &args.config {
            Some(path)
                if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json")) =>
            {
                config.kind().fixture_config(path)?
            }
            Some(path) => config.with_toml_file(path)?,
            None => config,
        })
    };
    let settings = settings(args, classifier)?;
    let checkpoint = args.out.join("checkpoint").join("state.json");
    if checkpoint.exists() && !args.resume {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            args.out.display()
        );
    }
    let device = args.device.device()?;
    let plan = SplitPlan::new(args.split.into(), settings.seed);
    let data = AudioClips::open(&args.data.data, &plan)?;
    let metadata = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    });
    let outcome = train(&data, &args.out, &settings, metadata, &device)?;
    let pct = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
    println!(
        "{}: best epoch {}; valid clip mAP {} macro-F1 {} frame mAP {}",
        args.model,
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
    if let Some(classifier) = &outcome.classifier {
        println!("classifier: {}", classifier.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `--model NAME` selects the compact model.
pub fn is_compact(name: &str) -> bool {
    name.eq_ignore_ascii_case(MODEL_NAME) && !Path::new(name).exists()
}
