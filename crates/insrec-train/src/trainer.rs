//! Training a zoo classifier on embedding clips, resumably.
//!
//! A run folder holds:
//!
//! ```text
//! model.safetensors   the best model on validation so far (zoo format, config in its header)
//! run.json            model, config, recipe, data, split, status and outcome
//! log.jsonl           one line per epoch: rate, losses, validation metrics, timing
//! checkpoint/         the last epoch's model, Adam state and trainer state (see `checkpoint`)
//! ```
//!
//! Every epoch: shuffle (seeded by epoch), steps of forward, loss, backward, global-norm clipping
//! and Adam; then validation loss and metrics on every validation clip; the model is kept when
//! the loss is at or below the best so far; early stopping after `patience` epochs without that;
//! a log line; a checkpoint. A run killed at any point and started again with `resume` ends
//! with the same weights as an uninterrupted run: the checkpoint holds everything that changes
//! (weights, Adam moments and step counts, patience counter, epoch = RNG position).
//!
//! burn's flex backend has one process-wide random generator, so runs in one process take turns
//! (a lock); the random streams are re-seeded from `(seed, epoch, step)` before use.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use insrec_data::Dataset;
use insrec_eval::EvalReport;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batches::{Batch, VALIDATION, epoch_order, stream_seed};
use crate::checkpoint::{Checkpoints, replace_atomic, write_atomic};
use crate::early_stop::{EarlyStopping, Verdict};
use crate::error::{Result, TrainError};
use crate::evaluate::score;
use crate::optim::{adam, clip_grad_norm};
use crate::progress::TrainProgress;
use crate::recipe::{Recipe, TrainSetup};
use crate::source::SplitPlan;

/// The best model of a run.
pub const MODEL_FILE: &str = "model.safetensors";
/// The run description.
pub const RUN_JSON: &str = "run.json";
/// The per-epoch log.
pub const LOG_JSONL: &str = "log.jsonl";
/// The checkpoint folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// One training run at a time per process (burn's flex generator is global).
static TRAINING: Mutex<()> = Mutex::new(());

/// Whether a run has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Interrupted (or still going); `resume` continues it.
    Running,
    /// All epochs done or stopped early.
    Finished,
}

/// `run.json`: what was trained on what, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub model: String,
    pub config: Value,
    pub recipe: Recipe,
    /// The dataset (`KIND:PATH`).
    pub data: String,
    pub split: SplitPlan,
    pub train_clips: usize,
    pub val_clips: usize,
    /// Parameters (and BatchNorm statistics) of the model.
    pub params: usize,
    pub status: RunStatus,
    pub epochs_done: usize,
    /// 0-based epoch of the kept model and its validation loss.
    pub best_epoch: Option<usize>,
    pub best_val_loss: Option<f64>,
    pub stopped_early: bool,
    /// Training time over all sessions of the run (excluding start-up).
    pub train_seconds: f64,
}

impl RunInfo {
    /// Reads a `run.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs::read(path).map_err(TrainError::io(path))?;
        serde_json::from_slice(&text).map_err(|source| TrainError::Json {
            path: path.to_owned(),
            source,
        })
    }

    fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RUN_JSON);
        let json = serde_json::to_vec_pretty(self).map_err(|source| TrainError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json)
    }
}

/// One line of `log.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based.
    pub epoch: usize,
    pub learning_rate: f64,
    /// Mean training loss over the epoch's batches (weighted by their terms).
    pub train_loss: f64,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    pub val_loss: f64,
    /// Official macro mAP and macro F1 at 0.5 on validation.
    pub val_map: Option<f64>,
    pub val_macro_f1: Option<f64>,
    /// The seed's top-1 accuracy on validation.
    pub val_accuracy: f64,
    /// Whether this epoch's model is the best so far (kept).
    pub improved: bool,
    /// Wall time of the epoch, and of its validation pass alone.
    pub seconds: f64,
    pub val_seconds: f64,
}

/// Training and validation clips with a description for `run.json`.
pub struct TrainData<'a> {
    pub train: &'a dyn Dataset,
    pub val: &'a dyn Dataset,
    /// `KIND:PATH` of the dataset.
    pub data: String,
    pub split: SplitPlan,
}

/// Where and how to run.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// The run folder.
    pub out: PathBuf,
    /// Continue the checkpoint in `out` (a fresh start when there is none).
    pub resume: bool,
    pub progress: bool,
    /// Stop after this many epochs of this session, as a kill would (resume later).
    pub stop_after: Option<usize>,
    /// Where the model trains and validates (a plain device; autodiff is added for training).
    pub device: Device,
}

/// Trainer state saved with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainState {
    epochs_done: usize,
    early: EarlyStopping,
    stopped_early: bool,
    train_seconds: f64,
    /// Model config, recipe (less `train_epochs`, which may grow on resume), data and split.
    fingerprint: Value,
}

/// Trains `setup` on `data` into `options.out`; returns the run's `run.json`.
pub fn train(setup: &TrainSetup, data: &TrainData, options: &TrainOptions) -> Result<RunInfo> {
    let _turn = TRAINING.lock().unwrap_or_else(PoisonError::into_inner);
    let recipe = &setup.recipe;
    for (side, set) in [("train", data.train), ("validation", data.val)] {
        if set.is_empty() {
            return Err(TrainError::EmptySplit {
                dataset: set.name(),
                side,
            });
        }
    }
    if recipe.drop_last && data.train.len() < recipe.batch_size {
        return Err(TrainError::NoFullBatch {
            dataset: data.train.name(),
            clips: data.train.len(),
            batch_size: recipe.batch_size,
        });
    }
    let out = &options.out;
    fs::create_dir_all(out).map_err(TrainError::io(out))?;
    let checkpoints = Checkpoints::new(out.join(CHECKPOINT_DIR));
    if checkpoints.exists() && !options.resume {
        return Err(TrainError::Checkpoint {
            path: checkpoints.dir().to_owned(),
            reason: "a run was already started here; pass --resume to continue it, or choose \
                     another --out"
                .to_owned(),
        });
    }
    let device = options.device.clone().autodiff();
    device.seed(recipe.seed);
    let fresh = setup.model.init(&device)?;
    fresh.visit(&mut Materialize);
    let fingerprint = fingerprint(setup, data)?;
    let loaded = if options.resume {
        checkpoints.load(fresh.clone(), adam())?
    } else {
        None
    };
    let (mut model, mut optimizer, mut state) = match loaded {
        Some((model, optimizer, state)) => {
            let state: TrainState = state;
            if state.fingerprint != fingerprint {
                return Err(TrainError::Checkpoint {
                    path: checkpoints.dir().to_owned(),
                    reason: format!(
                        "written for another setup; it has {} but this run is {}",
                        state.fingerprint, fingerprint
                    ),
                });
            }
            tracing::info!(
                epochs_done = state.epochs_done,
                "resuming {}",
                out.display()
            );
            (model, optimizer, state)
        }
        None => {
            let state = TrainState {
                epochs_done: 0,
                early: EarlyStopping::new(recipe.patience),
                stopped_early: false,
                train_seconds: 0.0,
                fingerprint,
            };
            (fresh, adam(), state)
        }
    };
    let log = out.join(LOG_JSONL);
    keep_log_lines(&log, state.epochs_done)?;
    let mut info = RunInfo {
        model: setup.model.kind().name().to_owned(),
        config: setup.model.to_json()?,
        recipe: recipe.clone(),
        data: data.data.clone(),
        split: data.split.clone(),
        train_clips: data.train.len(),
        val_clips: data.val.len(),
        params: model.num_params(),
        status: RunStatus::Running,
        epochs_done: state.epochs_done,
        best_epoch: None,
        best_val_loss: None,
        stopped_early: state.stopped_early,
        train_seconds: state.train_seconds,
    };
    info.write(out)?;

    let plain = options.device.clone();
    let val_rows: Vec<usize> = (0..data.val.len()).collect();
    let progress = TrainProgress::new(options.progress, state.epochs_done, recipe.train_epochs);
    let mut session_epochs = 0;
    while state.epochs_done < recipe.train_epochs && !state.stopped_early {
        if options.stop_after == Some(session_epochs) {
            break;
        }
        let epoch = state.epochs_done;
        let started = Instant::now();
        let learning_rate = recipe.learning_rate * recipe.lr_scheduler.factor(epoch);
        let order = epoch_order(data.train.len(), recipe.seed, epoch);
        let batches: Vec<&[usize]> = order
            .chunks(recipe.batch_size)
            .filter(|rows| !recipe.drop_last || rows.len() == recipe.batch_size)
            .collect();
        progress.start_epoch(batches.len());
        let (mut loss_sum, mut weight_sum, mut norm_sum) = (0.0, 0.0, 0.0);
        for (step, rows) in batches.iter().enumerate() {
            device.seed(stream_seed(recipe.seed, epoch, step as u64));
            let batch = Batch::gather(data.train, rows, recipe.loss, &device)?;
            let logits = model.forward(&batch.input);
            let loss = recipe.loss.mean(logits, batch.targets, batch.weights);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(TrainError::Diverged { epoch, loss: value });
            }
            loss_sum += value * batch.weight_sum;
            weight_sum += batch.weight_sum;
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            norm_sum += clip_grad_norm(&model, &mut grads, recipe.grad_clip);
            model = optimizer.step(learning_rate, model, grads);
            progress.step(loss_sum / weight_sum.max(1.0));
        }

        let validating = Instant::now();
        let valid = model.valid();
        plain.seed(stream_seed(recipe.seed, epoch, VALIDATION));
        let val = score(
            &valid,
            data.val,
            &val_rows,
            recipe.loss,
            recipe.batch_size,
            &plain,
        )?;
        let metrics = EvalReport::new(&info.model, data.val.name(), &val.predictions, None)?;
        let val_seconds = validating.elapsed().as_secs_f64();
        let verdict = state.early.update(epoch, val.loss);
        if verdict == Verdict::Improved {
            replace_atomic(&out.join(MODEL_FILE), |tmp| {
                Ok(valid.save(&setup.model, tmp)?)
            })?;
        }
        state.epochs_done += 1;
        state.stopped_early = verdict == Verdict::Stop;
        let seconds = started.elapsed().as_secs_f64();
        state.train_seconds += seconds;
        let record = EpochRecord {
            epoch,
            learning_rate,
            train_loss: loss_sum / weight_sum.max(1.0),
            grad_norm: norm_sum / batches.len().max(1) as f64,
            val_loss: val.loss,
            val_map: metrics.official.mean_average_precision,
            val_macro_f1: metrics.official.macro_f1,
            val_accuracy: metrics.seed.accuracy,
            improved: verdict == Verdict::Improved,
            seconds,
            val_seconds,
        };
        append_line(&log, &record)?;
        checkpoints.save(state.epochs_done, &model, &optimizer, &state)?;
        progress.end_epoch(format!(
            "train {:.4} val {:.4} mAP {} acc {:.3}",
            record.train_loss,
            record.val_loss,
            record
                .val_map
                .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.3}")),
            record.val_accuracy
        ));
        tracing::info!(?record, "epoch done");
        session_epochs += 1;
    }
    progress.finish();

    let finished = state.epochs_done >= recipe.train_epochs || state.stopped_early;
    info.status = if finished {
        RunStatus::Finished
    } else {
        RunStatus::Running
    };
    info.epochs_done = state.epochs_done;
    info.best_epoch = state.early.best.map(|(_, epoch)| epoch);
    info.best_val_loss = state.early.best.map(|(loss, _)| loss);
    info.stopped_early = state.stopped_early;
    info.train_seconds = state.train_seconds;
    if finished && info.best_epoch.is_none() {
        return Err(TrainError::Diverged {
            epoch: state.epochs_done.saturating_sub(1),
            loss: f64::NAN,
        });
    }
    info.write(out)?;
    Ok(info)
}

/// What must not change between a checkpoint and its resumption.
fn fingerprint(setup: &TrainSetup, data: &TrainData) -> Result<Value> {
    let mut recipe = serde_json::to_value(&setup.recipe).map_err(|e| TrainError::BadSetting {
        key: "train".to_owned(),
        reason: e.to_string(),
    })?;
    if let Some(fields) = recipe.as_object_mut() {
        fields.remove("train_epochs");
    }
    Ok(serde_json::json!({
        "model": setup.model.kind().name(),
        "config": setup.model.to_json()?,
        "recipe": recipe,
        "data": data.data,
        "split": data.split,
        "train_clips": data.train.len(),
        "val_clips": data.val.len(),
    }))
}

/// Keeps the log lines of epochs before `epochs` (a resumed run rewrites the later ones).
fn keep_log_lines(path: &Path, epochs: usize) -> Result<()> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| serde_json::from_str::<EpochRecord>(line).is_ok_and(|r| r.epoch < epochs))
        .map(|line| format!("{line}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())
}

/// Appends `record` as one JSON line to `path` (the runs' `log.jsonl`).
pub(crate) fn append_line(path: &Path, record: &impl Serialize) -> Result<()> {
    let mut line = serde_json::to_string(record).map_err(|source| TrainError::Json {
        path: path.to_owned(),
        source,
    })?;
    line.push('\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(TrainError::io(path))
}

/// Initialises lazily created parameters now, so that initialisation draws from the run's seed.
struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}
