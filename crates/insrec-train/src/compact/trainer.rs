//! The training loop: AdamW with warm-up and cosine decay, frame-level BCE on augmented items,
//! validation each epoch, atomic checkpoints, resume, early stopping, export with tuned thresholds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_encoders::compact::{
    BlockSpec, CompactConfig, FORMAT, HeadKind, MAX_FLOPS_PER_FRAME, MAX_PARAMS, ModelDescription,
    Pooling, PresetBlend, PresetView, PresetViewConfig, flops_per_frame, write_dir,
};
use insrec_eval::tune_thresholds;
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::augment::{Augmentation, ITEM_LEN, ItemLabels, training_item};
use super::bank::MelBank;
use super::data::{AudioClips, PresetLabels};
use super::error::{Result, TrainError};
use super::evaluate::{Embedded, SplitMetrics, SplitPredictions, Views};
use super::network::{ClassifierSpec, Network, Outputs};
use crate::checkpoint::{guard_loader, write_atomic};
use crate::loss::LossKind;
use crate::progress::counter;
use crate::source::SplitPlan;
use crate::trainer::append_line;

/// Everything that decides a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub head: HeadKind,
    /// The encoder's convolution blocks.
    #[serde(default = "BlockSpec::default_list")]
    pub blocks: Vec<BlockSpec>,
    /// How the encoder pools its last feature map.
    #[serde(default = "global_pooling")]
    pub pooling: Pooling,
    /// Log-mel rows averaged before the stem (2: 20 ms per row, 1: the full 10 ms resolution).
    #[serde(default = "default_time_pool")]
    pub time_pool: usize,
    /// Width of the per-frame embedding (the encoder's projection).
    #[serde(default = "default_width")]
    pub embedding_dim: usize,
    /// Width of the frame head's hidden layers.
    #[serde(default = "default_width")]
    pub head_hidden: usize,
    pub epochs: usize,
    /// Clips per step (each gives ten frames).
    pub batch_clips: usize,
    pub learning_rate: f64,
    pub weight_decay: f32,
    /// Masked BCE, or its asymmetric variant (never the seed's single-label cross-entropy).
    #[serde(default)]
    pub loss: LossKind,
    /// Weight of an auxiliary BCE on which presets play in each frame (a synthesized corpus
    /// only); 0 turns it off, as for runs written before it existed.
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub preset_loss: f32,
    /// Train the class logits blended with the preset output's, `(1 − w)·head + w·max(presets
    /// of the class)`, as the exported model runs them; 0 trains the frame head alone (and is
    /// what runs written before it read as).
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub preset_blend: f32,
    /// Add each part's role (melody, comp, pad, bass, …) to the preset output's targets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub role_targets: bool,
    pub warmup_steps: usize,
    /// Epochs without a better validation mAP before stopping.
    pub patience: usize,
    pub seed: u64,
    /// Use at most this many training clips (all when `None`).
    pub max_train_clips: Option<usize>,
    pub augmentation: Augmentation,
    /// The zoo classifier of an end-to-end run; it reads the encoder's 10-frame embedding
    /// sequences and learns with it (clip BCE added to the frame head's loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<ClassifierSpec>,
}

impl TrainSettings {
    /// The model these settings train (head, blocks, time pooling, widths), refused when it is
    /// over the compute or parameter budget.
    pub fn model_config(&self) -> Result<CompactConfig> {
        let mut config = CompactConfig::with_head_kind(self.head);
        config.encoder.blocks.clone_from(&self.blocks);
        config.encoder.pooling = (self.pooling != Pooling::Global).then_some(self.pooling);
        config.encoder.time_pool = self.time_pool;
        config.encoder.embedding_dim = self.embedding_dim;
        config.head.input_dim = self.embedding_dim;
        config.head.hidden = self.head_hidden;
        let over = |reason: String| {
            TrainError::Run(crate::error::TrainError::BadSetting {
                key: "blocks, time_pool, embedding_dim, head_hidden".into(),
                reason,
            })
        };
        let flops = flops_per_frame(&config);
        if flops > MAX_FLOPS_PER_FRAME {
            return Err(over(format!(
                "{flops} FLOPs per frame, over the budget of {MAX_FLOPS_PER_FRAME}"
            )));
        }
        let params = config.init(&Device::flex()).num_params();
        if params > MAX_PARAMS {
            return Err(over(format!(
                "{params} parameters, over the budget of {MAX_PARAMS}"
            )));
        }
        Ok(config)
    }
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            head: HeadKind::Tcn,
            blocks: BlockSpec::default_list(),
            pooling: Pooling::BandsMax,
            time_pool: default_time_pool(),
            embedding_dim: default_width(),
            head_hidden: default_width(),
            epochs: 30,
            batch_clips: 24,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            loss: LossKind::MaskedBce,
            preset_loss: 3.0,
            preset_blend: 0.8,
            role_targets: true,
            warmup_steps: 150,
            patience: 6,
            seed: 0,
            max_train_clips: None,
            augmentation: Augmentation::default(),
            classifier: None,
        }
    }
}

/// The pooling of runs written before it could be chosen.
fn global_pooling() -> Pooling {
    Pooling::Global
}

/// The time pooling of runs written before it could be chosen.
fn default_time_pool() -> usize {
    2
}

/// The embedding and head width of runs written before they could be chosen.
fn default_width() -> usize {
    128
}

/// Where a run stands; written with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    settings: TrainSettings,
    config: CompactConfig,
    /// Epochs finished.
    epoch: usize,
    best_epoch: usize,
    best_map: f64,
    seconds: f64,
    /// The presets of the auxiliary output, in its order (empty without it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    presets: Vec<String>,
}

/// One line of `log.jsonl`.
#[derive(Debug, Serialize)]
struct EpochLog {
    epoch: usize,
    loss: f64,
    learning_rate: f64,
    valid_map: Option<f64>,
    valid_frame_map: Option<f64>,
    valid_f1_at_half: Option<f64>,
    seconds: f64,
}

/// What a finished run produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub model_dir: PathBuf,
    /// The classifier's weights of an end-to-end run of a zoo model.
    pub classifier: Option<PathBuf>,
    pub best_epoch: usize,
    pub valid: SplitMetrics,
    pub test: Option<SplitMetrics>,
    pub thresholds: [f32; NUM_CLASSES],
}

struct Paths {
    checkpoint: PathBuf,
    best: PathBuf,
    log: PathBuf,
    model: PathBuf,
}

impl Paths {
    fn new(out: &Path) -> Self {
        Self {
            checkpoint: out.join("checkpoint"),
            best: out.join("best"),
            log: out.join("log.jsonl"),
            model: out.join("model"),
        }
    }
}

/// Record of the compact model in a checkpoint folder.
const MODEL_BPK: &str = "model.bpk";
/// Record of the auxiliary preset output in a checkpoint folder.
const PRESETS_BPK: &str = "presets.bpk";
/// Record of an end-to-end run's classifier in a checkpoint folder.
const CLASSIFIER_BPK: &str = "classifier.bpk";
/// The exported classifier of an end-to-end run, beside `model.json` (zoo format: weights,
/// model name and config).
pub const CLASSIFIER_FILE: &str = "classifier.safetensors";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Trains a compact model on `data`, writing checkpoints, `log.jsonl` and finally `model/`
/// (model.json + weights.bpk) into `out`. Resumes from `out/checkpoint` when
/// it exists; a resumed run may change `epochs` (the cosine schedule stretches to the new total;
/// no more than the epochs already run exports the best weights at once) and `patience`.
/// The fields of the `metadata` object are stored in the exported model.json beside the dataset's
/// name and split plan and the metrics. The network trains and is
/// evaluated on `device` (a plain device; autodiff is added for training).
pub fn train(
    data: &AudioClips,
    out: &Path,
    settings: &TrainSettings,
    metadata: serde_json::Value,
    device: &Device,
) -> Result<TrainOutcome> {
    let plain = device.clone();
    let paths = Paths::new(out);
    for dir in [&paths.checkpoint, &paths.best] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut train_set = data.train.clone();
    if let Some(max) = settings.max_train_clips {
        train_set.truncate(max);
    }
    if train_set.is_empty() {
        return Err(TrainError::EmptySplit("train"));
    }
    let presets = if settings.preset_loss > 0.0 {
        let labels = train_set.preset_labels(settings.role_targets).transpose()?;
        match &labels {
            Some(labels) => tracing::info!(presets = labels.names.len(), "preset targets"),
            None => tracing::warn!("preset_loss: no preset targets outside a synthesized corpus"),
        }
        labels
    } else {
        None
    };
    // A checkpoint is checked before the corpus is loaded (minutes for a large one).
    let device = plain.clone().autodiff();
    let resumed = resume(&paths, settings, &device)?;
    if let Some((state, _, _)) = &resumed {
        check_presets(&paths, state, presets.as_ref())?;
    }
    let train_bank = MelBank::load(&train_set, "log-mel train")?;
    let valid_bank = MelBank::load(&data.valid, "log-mel valid")?;
    tracing::info!(
        data = data.name,
        train = train_bank.len(),
        valid = valid_bank.len(),
        test = data.test.len(),
        "clips loaded"
    );

    let (mut state, mut model, mut optimizer) = match resumed {
        Some(resumed) => resumed,
        None => {
            let (mean, std) = train_bank.statistics();
            let mut config = settings.model_config()?;
            config.encoder.input_mean = mean;
            config.encoder.input_std = std;
            device.seed(settings.seed);
            let preset_names = presets
                .as_ref()
                .map(|p| p.names.clone())
                .unwrap_or_default();
            let model = Network::init(
                &config,
                settings.classifier.as_ref(),
                preset_names.len(),
                &device,
            )?;
            let state = RunState {
                settings: settings.clone(),
                config,
                epoch: 0,
                best_epoch: 0,
                best_map: f64::NEG_INFINITY,
                seconds: 0.0,
                presets: preset_names,
            };
            (state, model, optimizer_config(settings).init())
        }
    };
    tracing::info!(
        params = model.num_params(),
        flops_per_frame = flops_per_frame(&state.config),
        "model"
    );

    // The class logits trained (and validated) as blended with the preset output's.
    let blend = presets
        .as_ref()
        .filter(|_| settings.preset_blend > 0.0)
        .map(|p| PresetBlend::new(&p.members, p.names.len(), settings.preset_blend));
    let steps_per_epoch = train_bank.len() / settings.batch_clips;
    let total_steps = steps_per_epoch * settings.epochs;
    while state.epoch < settings.epochs && state.epoch - state.best_epoch <= settings.patience {
        let started = Instant::now();
        let epoch = state.epoch;
        // Dropout draws from the device's generator: seeded per epoch, a resumed run draws what an
        // uninterrupted one would.
        device.seed(epoch_seed(settings.seed, epoch));
        let order = shuffled(train_bank.len(), settings.seed, epoch);
        let bar = counter(true, steps_per_epoch, &format!("epoch {:>2}", epoch + 1));
        let mut loss_sum = 0.0;
        let mut lr = 0.0;
        // The next batch is augmented on its own thread while this one trains: the training step
        // leaves a core idle a third of the time (its small operations run on one thread).
        model = std::thread::scope(|scope| -> Result<Network> {
            let mut model = model;
            let (sender, batches) = std::sync::mpsc::sync_channel(1);
            let (bank, order, presets) = (&train_bank, &order, presets.as_ref());
            scope.spawn(move || {
                for (step, clips) in order.chunks_exact(settings.batch_clips).enumerate() {
                    if sender
                        .send(Batch::augmented(
                            bank, presets, clips, settings, epoch, step,
                        ))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            for (step, batch) in batches.iter().take(steps_per_epoch).enumerate() {
                let (input, targets) = batch.into_tensors(&device);
                let mut outputs = model.forward(input)?;
                if let (Some(blend), Some(presets)) = (&blend, &outputs.presets) {
                    outputs.frames = blend.apply(outputs.frames, presets.clone());
                }
                let loss = targets.loss(outputs, settings);
                let value = f64::from(loss.clone().into_scalar::<f32>());
                loss_sum += value;
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                lr = learning_rate(settings, epoch * steps_per_epoch + step, total_steps);
                model = optimizer.step(lr, model, grads);
                bar.inc(1);
                let mean_loss = loss_sum / (step + 1) as f64;
                if (step + 1) % 100 == 0 {
                    tracing::info!(
                        epoch = epoch + 1,
                        step = step + 1,
                        loss = mean_loss,
                        lr,
                        "training"
                    );
                }
            }
            Ok(model)
        })?;
        bar.finish_and_clear();
        let inference = model.valid().to_device(&plain);
        let mut scored = inference.clone();
        if let (Some(blend), Some(output)) = (&blend, &inference.presets) {
            scored.compact.head.presets = Some(PresetView::new(output.clone(), blend.clone()));
        }
        let valid = SplitMetrics::new(
            &SplitPredictions::new(&scored, &valid_bank, Views::Base, &plain)?,
            &[0.5; NUM_CLASSES],
        )?;
        let map = valid.clip.mean_average_precision.unwrap_or(0.0);
        state.epoch += 1;
        state.seconds += started.elapsed().as_secs_f64();
        if map > state.best_map {
            state.best_map = map;
            state.best_epoch = state.epoch;
            save_network(&paths.best, &inference)?;
        }
        let log = EpochLog {
            epoch: state.epoch,
            loss: loss_sum / steps_per_epoch.max(1) as f64,
            learning_rate: lr,
            valid_map: valid.clip.mean_average_precision,
            valid_frame_map: valid.frame_map,
            valid_f1_at_half: valid.clip.macro_f1,
            seconds: started.elapsed().as_secs_f64(),
        };
        tracing::info!(?log, "epoch done");
        append_line(&paths.log, &log)?;
        save_checkpoint(&paths, &state, &inference, &optimizer)?;
    }

    export(
        data,
        &paths,
        &state,
        &valid_bank,
        presets.as_ref(),
        metadata,
        &plain,
    )
}

/// The log-mel bank of `set`, with a progress bar.
fn optimizer_config(settings: &TrainSettings) -> AdamWConfig {
    AdamWConfig::new().with_weight_decay(settings.weight_decay)
}

/// Seed of the device generator for one epoch.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    rng_for(seed, epoch, u64::from(u32::MAX) - 1).next_u64()
}

/// Linear warm-up, then cosine decay to 5 % of the peak.
fn learning_rate(settings: &TrainSettings, step: usize, total: usize) -> f64 {
    let peak = settings.learning_rate;
    if step < settings.warmup_steps {
        return peak * (step + 1) as f64 / settings.warmup_steps as f64;
    }
    let progress = (step - settings.warmup_steps) as f64
        / (total.saturating_sub(settings.warmup_steps)).max(1) as f64;
    peak * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos()))
}

fn rng_for(seed: u64, epoch: usize, item: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((epoch as u64) << 32) | item);
    rng
}

/// Clip order of an epoch (Fisher–Yates with the epoch's generator).
fn shuffled(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = rng_for(seed, epoch, u64::from(u32::MAX));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    order
}

/// What a batch is trained towards.
struct Targets {
    /// Frame labels `[batch, 10, 20]` and their weights (0 where a label is unknown) where the
    /// clips have them: the frame head learns them. Otherwise the frame head learns the clip labels
    /// through the maximum over each clip's frames (multiple-instance learning).
    frames: Option<(Tensor<3>, Tensor<3>)>,
    /// Clip labels `[batch, 20]` (the union of the frame labels where there are frame labels).
    clips: Tensor<2>,
    /// Weights of the clip labels `[batch, 20]`: 0 where a label is unknown.
    weights: Tensor<2>,
    /// Which presets play `[batch, 10, presets]`, when the network learns them.
    presets: Option<Tensor<3>>,
}

impl Targets {
    /// The mean loss (masked BCE or ASL) of `outputs`: the frame head's term plus, in an
    /// end-to-end run, the classifier's on the clip labels, plus the weighted preset BCE.
    fn loss(self, outputs: Outputs, settings: &TrainSettings) -> Tensor<1> {
        let masked = settings.loss;
        let frame_loss = match self.frames {
            Some((frames, weights)) => {
                let [batch, count, classes] = frames.dims();
                let flat = |t: Tensor<3>| t.reshape([batch * count, classes]);
                masked.mean(flat(outputs.frames), flat(frames), flat(weights))
            }
            None => {
                let [batch, _, classes] = outputs.frames.dims();
                let pooled = outputs.frames.max_dim(1).reshape([batch, classes]);
                masked.mean(pooled, self.clips.clone(), self.weights.clone())
            }
        };
        let loss = match outputs.clips {
            Some(clips) => frame_loss + masked.mean(clips, self.clips, self.weights),
            None => frame_loss,
        };
        match outputs.presets.zip(self.presets) {
            Some((logits, targets)) => {
                let [batch, count, presets] = targets.dims();
                let flat = |t: Tensor<3>| t.reshape([batch * count, presets]);
                let (logits, targets) = (flat(logits), flat(targets));
                let weights = targets.ones_like();
                loss + LossKind::MaskedBce.mean(logits, targets, weights) * settings.preset_loss
            }
            None => loss,
        }
    }
}

/// One training step's augmented items and their targets, as plain values (built off the
/// training thread).
struct Batch {
    clips: usize,
    examples: Vec<f32>,
    /// Frame targets `[clips, 10, 20]`, empty when the clips have clip labels only.
    frames: Vec<f32>,
    /// Their weights (0 where unknown), as long as `frames`.
    frame_weights: Vec<f32>,
    clip_targets: Vec<f32>,
    weights: Vec<f32>,
    /// Preset targets `[clips, 10, presets]`, empty without them.
    presets: Vec<f32>,
    preset_count: usize,
}

impl Batch {
    /// Augmented items of `clips`; each item has its own generator, so the batch is the same
    /// whatever the thread count.
    fn augmented(
        bank: &MelBank,
        preset_labels: Option<&PresetLabels>,
        clips: &[usize],
        settings: &TrainSettings,
        epoch: usize,
        step: usize,
    ) -> Self {
        let n = clips.len();
        let mut examples = vec![0.0f32; n * ITEM_LEN];
        let (labels, mixed_in): (Vec<ItemLabels>, Vec<Option<usize>>) = examples
            .par_chunks_exact_mut(ITEM_LEN)
            .zip(clips.par_iter().enumerate())
            .map(|(item, (i, &clip))| {
                let mut rng = rng_for(
                    settings.seed,
                    epoch,
                    (step * settings.batch_clips + i) as u64,
                );
                let mut scratch = vec![0.0f32; ITEM_LEN];
                training_item(
                    bank,
                    clip,
                    &settings.augmentation,
                    &mut rng,
                    item,
                    &mut scratch,
                )
            })
            .unzip();
        let one = |b: &bool| f32::from(u8::from(*b));
        let (mut frames, mut frame_weights) = (Vec::new(), Vec::new());
        let (mut clip_targets, mut weights) = (Vec::new(), Vec::new());
        for label in &labels {
            match label {
                ItemLabels::Frames { present, known } => {
                    frames.extend(present.iter().flatten().map(one));
                    frame_weights.extend(known.iter().flatten().map(one));
                    let any = |c: usize| present.iter().any(|row| row[c]);
                    clip_targets.extend((0..NUM_CLASSES).map(|c| one(&any(c))));
                    weights.extend([1.0; NUM_CLASSES]);
                }
                ItemLabels::Clip(c) => {
                    clip_targets.extend(c.official_targets());
                    weights.extend(c.weights());
                }
            }
        }
        let mut presets = Vec::new();
        if let Some(labels) = preset_labels {
            for (&clip, other) in clips.iter().zip(&mixed_in) {
                labels.extend_targets(std::iter::once(clip).chain(*other), &mut presets);
            }
        }
        Self {
            clips: n,
            examples,
            frames,
            frame_weights,
            clip_targets,
            weights,
            presets,
            preset_count: preset_labels.map_or(0, |l| l.names.len()),
        }
    }

    /// The network's input `[clips, 10, 96, 64]` and the targets, on `device`.
    fn into_tensors(self, device: &Device) -> (Tensor<4>, Targets) {
        let n = self.clips;
        let input = Tensor::from_data(
            TensorData::new(
                self.examples,
                [n, FRAMES_PER_CLIP, EXAMPLE_FRAMES, MEL_BANDS],
            ),
            device,
        );
        let clip_tensor =
            |values: Vec<f32>| Tensor::from_data(TensorData::new(values, [n, NUM_CLASSES]), device);
        let frame_tensor = |values: Vec<f32>| {
            (!values.is_empty()).then(|| {
                Tensor::from_data(
                    TensorData::new(values, [n, FRAMES_PER_CLIP, NUM_CLASSES]),
                    device,
                )
            })
        };
        let targets = Targets {
            frames: frame_tensor(self.frames).zip(frame_tensor(self.frame_weights)),
            clips: clip_tensor(self.clip_targets),
            weights: clip_tensor(self.weights),
            presets: (!self.presets.is_empty()).then(|| {
                Tensor::from_data(
                    TensorData::new(self.presets, [n, FRAMES_PER_CLIP, self.preset_count]),
                    device,
                )
            }),
        };
        (input, targets)
    }
}

fn module_bytes<M: Module>(module: &M) -> Result<Vec<u8>> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| TrainError::Checkpoint {
            path: PathBuf::from("model"),
            reason: e.to_string(),
        })?;
    Ok(bytes.to_vec())
}

fn load_record<M: Module>(module: M, bytes: Vec<u8>, path: &Path) -> Result<M> {
    let bad = |reason: String| TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let record =
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| bad(e.to_string()))?;
    module
        .try_load_record(record)
        .map_err(|e| bad(e.to_string()))
}

/// Writes the network's records into `dir`: `model.bpk` (compact model) and, in an end-to-end
/// run, `classifier.bpk`.
fn save_network(dir: &Path, network: &Network) -> Result<()> {
    write_atomic(&dir.join(MODEL_BPK), &module_bytes(&network.compact)?)?;
    if let Some(classifier) = &network.classifier {
        write_atomic(&dir.join(CLASSIFIER_BPK), &module_bytes(classifier)?)?;
    }
    if let Some(presets) = &network.presets {
        write_atomic(&dir.join(PRESETS_BPK), &module_bytes(presets)?)?;
    }
    Ok(())
}

/// Reads what [`save_network`] wrote for the run of `state`.
fn load_network(dir: &Path, state: &RunState, device: &Device) -> Result<Network> {
    let fresh = Network::init(
        &state.config,
        state.settings.classifier.as_ref(),
        state.presets.len(),
        device,
    )?;
    Ok(Network {
        compact: load_module(fresh.compact, &dir.join(MODEL_BPK))?,
        classifier: match fresh.classifier {
            Some(classifier) => Some(load_module(classifier, &dir.join(CLASSIFIER_BPK))?),
            None => None,
        },
        presets: match fresh.presets {
            Some(presets) => Some(load_module(presets, &dir.join(PRESETS_BPK))?),
            None => None,
        },
    })
}

/// `module` with the record in `path` loaded into it; a malformed record is an error, not a panic.
fn load_module<M: Module>(module: M, path: &Path) -> Result<M> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    guard_loader(
        || load_record(module, bytes, path),
        |reason| TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        },
    )
}

/// Network, optimizer and state; `state.json` is written last, so it only ever names complete files.
fn save_checkpoint(
    paths: &Paths,
    state: &RunState,
    network: &Network,
    optimizer: &impl OptimizerBytes,
) -> Result<()> {
    let dir = &paths.checkpoint;
    save_network(dir, network)?;
    write_atomic(&dir.join("optimizer.bpk"), &optimizer.to_bytes(dir)?)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| TrainError::Checkpoint {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    Ok(write_atomic(&dir.join("state.json"), &json)?)
}

type Resumed<O> = (RunState, Network, O);

/// The top-level settings that differ, as `key: checkpoint value, now value` (`-` where one
/// leaves the key out, i.e. at its off value).
fn setting_differences(checkpoint: &TrainSettings, now: &TrainSettings) -> Vec<String> {
    let object = |settings: &TrainSettings| match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (old, new) = (object(checkpoint), object(now));
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let show = |value: Option<&serde_json::Value>| value.map_or("-".to_owned(), |v| v.to_string());
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            format!(
                "{k}: {} in the checkpoint, {} now",
                show(old.get(k)),
                show(new.get(k))
            )
        })
        .collect()
}

fn resume(
    paths: &Paths,
    settings: &TrainSettings,
    device: &Device,
) -> Result<Option<Resumed<burn::optim::ModuleOptimizer>>> {
    let state_path = paths.checkpoint.join("state.json");
    let Ok(json) = std::fs::read(&state_path) else {
        return Ok(None);
    };
    let bad = |reason: String| TrainError::Checkpoint {
        path: state_path.clone(),
        reason,
    };
    let state: RunState = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    let same_recipe = TrainSettings {
        epochs: settings.epochs,
        patience: settings.patience,
        ..state.settings.clone()
    };
    if same_recipe != *settings {
        return Err(bad(format!(
            "was written with other settings ({}); only epochs and patience may change on resume: \
             pass the checkpoint's values with --set, or use another output folder",
            setting_differences(&same_recipe, settings).join(", ")
        )));
    }
    let model = load_network(&paths.checkpoint, &state, device)?;
    let optimizer_path = paths.checkpoint.join("optimizer.bpk");
    let bytes = std::fs::read(&optimizer_path).map_err(io(&optimizer_path))?;
    let optimizer = guard_loader(
        || {
            optimizer_config(settings)
                .init()
                .from_bytes(Bytes::from_bytes_vec(bytes))
                .map_err(|e| bad(format!("optimizer state: {e}")))
        },
        |reason| TrainError::Checkpoint {
            path: optimizer_path.clone(),
            reason,
        },
    )?;
    tracing::info!(epoch = state.epoch, "resuming");
    let state = RunState {
        settings: settings.clone(),
        ..state
    };
    Ok(Some((state, model, optimizer)))
}

/// Refuses a checkpoint whose preset output names other presets than the corpus has.
fn check_presets(paths: &Paths, state: &RunState, presets: Option<&PresetLabels>) -> Result<()> {
    if presets.map(|p| &p.names) != (!state.presets.is_empty()).then_some(&state.presets) {
        return Err(TrainError::Checkpoint {
            path: paths.checkpoint.clone(),
            reason: "its preset output names other presets than the corpus has".into(),
        });
    }
    Ok(())
}

/// Serialised optimizer state.
trait OptimizerBytes {
    fn to_bytes(&self, dir: &Path) -> Result<Vec<u8>>;
}

impl OptimizerBytes for burn::optim::ModuleOptimizer {
    fn to_bytes(&self, dir: &Path) -> Result<Vec<u8>> {
        self.into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| TrainError::Checkpoint {
                path: dir.to_path_buf(),
                reason: format!("optimizer state: {e}"),
            })
    }
}

/// Best weights → thresholds tuned on validation → test metrics → `model/`.
fn export(
    data: &AudioClips,
    paths: &Paths,
    state: &RunState,
    valid_bank: &MelBank,
    presets: Option<&PresetLabels>,
    metadata: serde_json::Value,
    device: &Device,
) -> Result<TrainOutcome> {
    let mut model = load_network(&paths.best, state, device)?;
    let valid_embedded = Embedded::new(&model, valid_bank, Views::WithHalfFrame, device);
    let mut config = state.config.clone();
    if let (Some(output), Some(labels)) = (model.presets.take(), presets) {
        config.head.presets = Some(blend_presets(
            &mut model,
            output,
            labels,
            &valid_embedded,
            device,
        )?);
    }
    let valid_predictions = SplitPredictions::of_embedded(&model, &valid_embedded, device)?;
    let thresholds = tune_thresholds(&valid_predictions.clips);
    let valid = SplitMetrics::new(&valid_predictions, &thresholds)?;
    let test = if data.test.is_empty() {
        None
    } else {
        let bank = MelBank::load(&data.test, "log-mel test")?;
        Some(SplitMetrics::new(
            &SplitPredictions::new(&model, &bank, Views::WithHalfFrame, device)?,
            &thresholds,
        )?)
    };
    let classifier = state.settings.classifier.as_ref();
    let description = ModelDescription {
        format: FORMAT.to_owned(),
        name: classifier.map_or_else(
            || "default".to_owned(),
            |c| format!("{} end-to-end", c.model),
        ),
        config: config.clone(),
        thresholds,
        metadata: serde_json::json!({
            "training": training_record(data, metadata),
            "settings": state.settings,
            "best_epoch": state.best_epoch,
            "epochs_run": state.epoch,
            "train_seconds": state.seconds,
            "params": model.num_params(),
            "classifier": classifier.map(|c| &c.model),
            "flops_per_frame": flops_per_frame(&config),
            "valid": summary(&valid),
            "test": test.as_ref().map(summary),
        }),
    };
    let classifier_file = match (&model.classifier, classifier) {
        (Some(module), Some(spec)) => {
            let path = paths.model.join(CLASSIFIER_FILE);
            std::fs::create_dir_all(&paths.model).map_err(io(&paths.model))?;
            module
                .save(&spec.config()?, &path)
                .map_err(crate::error::TrainError::from)?;
            Some(path)
        }
        _ => None,
    };
    write_dir(&paths.model, &description, model.compact)?;
    Ok(TrainOutcome {
        model_dir: paths.model.clone(),
        classifier: classifier_file,
        best_epoch: state.best_epoch,
        valid,
        test,
        thresholds,
    })
}

/// Weights of the preset output in the class logits tried on the validation split (1: a class
/// with presets is its best preset alone).
const PRESET_BLENDS: [f32; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// Installs the trained preset `output` in `model`'s frame head as a [`PresetView`] blended with
/// the weight of [`PRESET_BLENDS`] that gives the best validation clip mAP; returns its config.
fn blend_presets(
    model: &mut Network,
    output: Linear,
    labels: &PresetLabels,
    valid: &Embedded,
    device: &Device,
) -> Result<PresetViewConfig> {
    let mut best: Option<(f64, PresetViewConfig)> = None;
    for weight in PRESET_BLENDS {
        let config = PresetViewConfig::new(labels.names.clone(), labels.members.clone(), weight)
            .with_input_dim(output.weight.dims()[0]);
        model.compact.head.presets = Some(config.with_output(output.clone()));
        let predictions = SplitPredictions::of_embedded(model, valid, device)?;
        let map = SplitMetrics::new(&predictions, &[0.5; NUM_CLASSES])?
            .clip
            .mean_average_precision
            .unwrap_or(0.0);
        tracing::info!(weight, valid_clip_map = map, "preset blend");
        if best.as_ref().is_none_or(|(b, _)| map > *b) {
            best = Some((map, config));
        }
    }
    let (map, config) = best.ok_or(TrainError::EmptySplit("valid"))?;
    tracing::info!(
        weight = config.weight,
        valid_clip_map = map,
        "preset blend chosen"
    );
    model.compact.head.presets = Some(config.with_output(output));
    Ok(config)
}

/// `model.json`'s record of the training data: the dataset's name and split plan, and the fields
/// of the caller's `metadata` object.
fn training_record(data: &AudioClips, metadata: serde_json::Value) -> serde_json::Value {
    let mut record = serde_json::json!({ "data": data.name, "split": data.split });
    if let (Some(record), serde_json::Value::Object(extra)) = (record.as_object_mut(), metadata) {
        record.extend(extra);
    }
    record
}

/// The split plan a model exported by [`train`] learnt on (`None` for models written before it
/// was recorded).
pub fn trained_split(description: &ModelDescription) -> Option<SplitPlan> {
    serde_json::from_value(description.metadata["training"]["split"].clone()).ok()
}

fn summary(metrics: &SplitMetrics) -> serde_json::Value {
    serde_json::json!({
        "clip_map": metrics.clip.mean_average_precision,
        "clip_macro_f1": metrics.clip.macro_f1,
        "frame_map": metrics.frame_map,
        "per_class": metrics.clip.per_class.iter().map(|c| serde_json::json!({
            "class": c.class, "ap": c.average_precision, "f1": c.f1, "threshold": c.threshold,
            "positives": c.positives,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_warms_up_then_decays_to_five_percent() {
        let s = TrainSettings {
            warmup_steps: 10,
            learning_rate: 1.0,
            ..TrainSettings::default()
        };
        assert!((learning_rate(&s, 0, 100) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&s, 10, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&s, 100, 100) - 0.05).abs() < 1e-12);
        assert!(learning_rate(&s, 50, 100) < learning_rate(&s, 20, 100));
    }

    #[test]
    fn shuffles_are_permutations_that_change_with_the_epoch() {
        let a = shuffled(50, 3, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, shuffled(50, 3, 1));
        assert_eq!(a, shuffled(50, 3, 0));
    }

    #[test]
    fn widths_set_the_embedding_and_head_and_older_settings_read_as_128() {
        let wide = TrainSettings {
            embedding_dim: 256,
            head_hidden: 64,
            ..TrainSettings::default()
        };
        let config = wide.model_config().expect("within budget");
        assert_eq!(config.encoder.embedding_dim, 256);
        assert_eq!((config.head.input_dim, config.head.hidden), (256, 64));
        let cost = |time_pool, embedding_dim, head_hidden| {
            let settings = TrainSettings {
                time_pool,
                embedding_dim,
                head_hidden,
                ..TrainSettings::default()
            };
            flops_per_frame(&settings.model_config().expect("within budget"))
        };
        assert!(cost(2, 128, 64) < cost(2, 128, 128) && cost(2, 128, 128) < cost(2, 256, 128));
        // The full 10 ms rows double the encoder's cost: over the budget with the half-frame view.
        let full_rows = TrainSettings {
            time_pool: 1,
            ..TrainSettings::default()
        };
        assert!(full_rows.model_config().is_err());
        let model = config.init(&Device::flex());
        let examples = Tensor::<4>::zeros([1, 2, EXAMPLE_FRAMES, MEL_BANDS], &Device::flex());
        assert_eq!(model.forward(examples).dims(), [1, 2, NUM_CLASSES]);

        let mut json = serde_json::to_value(TrainSettings::default()).expect("serialize");
        let object = json.as_object_mut().expect("object");
        object.remove("embedding_dim");
        object.remove("head_hidden");
        object.remove("time_pool");
        let old: TrainSettings = serde_json::from_value(json).expect("older settings");
        assert_eq!(
            (old.embedding_dim, old.head_hidden, old.time_pool),
            (128, 128, 2)
        );
        let full_rate = TrainSettings {
            time_pool: 1,
            blocks: BlockSpec::parse_list("16:2,32:2,64:2,64:1").expect("blocks"),
            ..TrainSettings::default()
        };
        let full_rate = full_rate.model_config().expect("within budget");
        assert_eq!(full_rate.encoder.time_pool, 1);
    }

    #[test]
    fn frame_loss_is_the_mean_bce_over_known_labels() {
        let device = Device::flex();
        let frames =
            |values: Vec<f32>| Tensor::<3>::from_data(TensorData::new(values, [1, 1, 3]), &device);
        let targets = Targets {
            // The third label is unknown: its wrong logit must not count.
            frames: Some((frames(vec![1.0, 0.0, 1.0]), frames(vec![1.0, 1.0, 0.0]))),
            clips: Tensor::zeros([1, 3], &device),
            weights: Tensor::ones([1, 3], &device),
            presets: None,
        };
        let outputs = Outputs {
            frames: frames(vec![2.0, -1.0, -9.0]),
            clips: None,
            presets: None,
        };
        let got = targets
            .loss(outputs, &TrainSettings::default())
            .into_scalar::<f32>();
        // Target 1 at logit 2: ln(1 + e^-2); target 0 at logit -1: ln(1 + e^-1).
        let expected = ((1.0 + (-2.0f32).exp()).ln() + (1.0 + (-1.0f32).exp()).ln()) / 2.0;
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn a_resume_with_other_settings_names_them() {
        let checkpoint = TrainSettings {
            role_targets: false,
            ..TrainSettings::default()
        };
        let now = TrainSettings {
            learning_rate: 1e-3,
            ..TrainSettings::default()
        };
        assert_eq!(
            setting_differences(&checkpoint, &now),
            [
                "learning_rate: 0.003 in the checkpoint, 0.001 now",
                "role_targets: - in the checkpoint, true now"
            ]
        );
        assert!(setting_differences(&now, &now).is_empty());
    }

    #[test]
    fn the_preset_term_adds_its_weighted_mean_bce() {
        let device = Device::flex();
        let tensor =
            |values: Vec<f32>| Tensor::<3>::from_data(TensorData::new(values, [1, 1, 2]), &device);
        let targets = || Targets {
            frames: Some((tensor(vec![1.0, 0.0]), tensor(vec![1.0, 1.0]))),
            clips: Tensor::zeros([1, 2], &device),
            weights: Tensor::ones([1, 2], &device),
            presets: Some(tensor(vec![0.0, 1.0])),
        };
        let outputs = || Outputs {
            frames: tensor(vec![0.0, 0.0]),
            clips: None,
            presets: Some(tensor(vec![0.0, 0.0])),
        };
        let settings = TrainSettings::default();
        let off = TrainSettings {
            preset_loss: 0.0,
            ..settings.clone()
        };
        let without = targets().loss(outputs(), &off).into_scalar::<f32>();
        let with = targets().loss(outputs(), &settings).into_scalar::<f32>();
        // Every logit 0: BCE ln 2 per label, the preset term weighted 3.
        let ln2 = std::f32::consts::LN_2;
        assert!((without - ln2).abs() < 1e-6, "{without}");
        assert!((with - 4.0 * ln2).abs() < 1e-5, "{with}");
    }
}
