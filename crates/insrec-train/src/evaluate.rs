//! Scoring a classifier on rows of a dataset, and loading a trained run for evaluation.

use std::path::{Path, PathBuf};

use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor};
use insrec_core::NUM_CLASSES;
use insrec_data::Dataset;
use insrec_eval::{EvalReport, Predictions, tune_thresholds};
use insrec_zoo::{Classifier, ClassifierConfig};

use crate::batches::Batch;
use crate::error::{Result, TrainError};
use crate::loss::LossKind;
use crate::recipe::DEFAULT_SEED;
use crate::source::{LoadedData, SplitKind, SplitPlan};
use crate::trainer::{MODEL_FILE, RUN_JSON, RunInfo};

/// Per-class probabilities of logits: sigmoid for a model trained with masked BCE or ASL, softmax for
/// one trained with the seed's cross-entropy.
///
/// # Shapes
/// - logits: `[batch, 20]` → `[batch, 20]`
pub fn probabilities(logits: Tensor<2>, loss: LossKind) -> Tensor<2> {
    match loss {
        LossKind::MaskedBce | LossKind::MaskedAsl => sigmoid(logits),
        LossKind::SeedCe => softmax(logits, 1),
    }
}

/// Predictions on some rows and the mean loss over them.
#[derive(Debug, Clone)]
pub struct Scored {
    pub predictions: Predictions,
    pub loss: f64,
}

/// Runs `model` (in eval mode, on a plain device) over `rows` of `dataset` in batches.
pub fn score(
    model: &Classifier,
    dataset: &dyn Dataset,
    rows: &[usize],
    loss: LossKind,
    batch_size: usize,
    device: &Device,
) -> Result<Scored> {
    let mut predictions = Predictions::new();
    let (mut loss_sum, mut weight_sum) = (0.0, 0.0);
    for chunk in rows.chunks(batch_size.max(1)) {
        let batch = Batch::gather(dataset, chunk, loss, device)?;
        let logits = model.forward(&batch.input);
        loss_sum += f64::from(
            loss.sum(logits.clone(), batch.targets, batch.weights)
                .into_scalar::<f32>(),
        );
        weight_sum += batch.weight_sum;
        let probs = probabilities(logits, loss)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Tensor(format!("{e:?}")))?;
        for (scores, labels) in probs.chunks_exact(NUM_CLASSES).zip(&batch.labels) {
            let scores: [f32; NUM_CLASSES] = std::array::from_fn(|j| scores[j]);
            predictions.push(scores, labels.relevance, labels.mask)?;
        }
    }
    let loss = if weight_sum > 0.0 {
        loss_sum / weight_sum
    } else {
        0.0
    };
    Ok(Scored { predictions, loss })
}

/// A trained classifier read from a run folder (or a bare `.safetensors` written by the zoo).
#[derive(Debug)]
pub struct TrainedModel {
    pub classifier: Classifier,
    pub config: ClassifierConfig,
    /// `run.json` of the run, when the model came from one.
    pub run: Option<RunInfo>,
    pub path: PathBuf,
}

impl TrainedModel {
    /// Loads `<dir>/model.safetensors` and `<dir>/run.json`, or a `.safetensors` file alone.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let (weights, run_json) = if path.is_dir() {
            (path.join(MODEL_FILE), Some(path.join(RUN_JSON)))
        } else {
            (path.to_owned(), None)
        };
        let run = run_json.map(|p| RunInfo::read(&p)).transpose()?;
        let (classifier, config) = Classifier::load(&weights, device)?;
        Ok(Self {
            classifier,
            config,
            run,
            path: weights,
        })
    }

    /// The loss the model was trained with (masked BCE when unknown).
    pub fn loss(&self) -> LossKind {
        self.run
            .as_ref()
            .map_or_else(LossKind::default, |r| r.recipe.loss)
    }

    /// The split the model was trained on, or the official one with default fractions.
    pub fn split_plan(&self) -> SplitPlan {
        self.run.as_ref().map_or_else(
            || SplitPlan::new(SplitKind::Official, DEFAULT_SEED),
            |r| r.split.clone(),
        )
    }
}

/// Which clips to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalSide {
    /// The test side of the split. Under the seed protocol a last partial batch of 128 is left
    /// out, as the seed's test loop does (unless no full batch exists).
    Test,
    /// The validation side of the split.
    Valid,
    /// The training side of the split.
    Train,
    /// Every clip of the dataset.
    All,
}

impl EvalSide {
    /// How a report names the clips: e.g. "test side of the official split".
    pub fn describe(self, split: SplitKind) -> String {
        match self {
            Self::All => "all clips".to_owned(),
            side => format!("{} side of the {split:?} split", side.name()).to_lowercase(),
        }
    }

    /// The side's name: "test", "validation", "training" or "any".
    pub fn name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Valid => "validation",
            Self::Train => "training",
            Self::All => "any",
        }
    }
}

/// Batch size of the seed's test loop, which skips a last partial batch.
pub const SEED_TEST_BATCH: usize = 128;

/// Evaluates `model` on `data`: official and seed metrics, optionally at per-class thresholds
/// tuned on the validation side.
pub fn evaluate(
    model: &TrainedModel,
    data: &LoadedData,
    plan: &SplitPlan,
    side: EvalSide,
    tune: bool,
    device: &Device,
) -> Result<EvalReport> {
    let dataset = data.dataset();
    let loss = model.loss();
    let batch = 256;
    let (rows, splits) = match side {
        EvalSide::All => ((0..dataset.len()).collect(), None),
        EvalSide::Test => {
            let splits = data.splits(plan)?;
            let mut test = splits.test.clone();
            if plan.split == SplitKind::Seed && test.len() >= SEED_TEST_BATCH {
                test.truncate(test.len() / SEED_TEST_BATCH * SEED_TEST_BATCH);
            }
            (test, Some(splits))
        }
        EvalSide::Valid => {
            let splits = data.splits(plan)?;
            (splits.val.clone(), Some(splits))
        }
        EvalSide::Train => {
            let splits = data.splits(plan)?;
            (splits.train.clone(), Some(splits))
        }
    };
    if rows.is_empty() {
        return Err(TrainError::EmptySplit {
            dataset: dataset.name(),
            side: side.name(),
        });
    }
    let thresholds = match (tune, &splits) {
        (false, _) => None,
        (true, Some(splits)) => {
            let val = score(&model.classifier, dataset, &splits.val, loss, batch, device)?;
            Some(tune_thresholds(&val.predictions))
        }
        (true, None) => {
            return Err(TrainError::BadSetting {
                key: "tune-thresholds".to_owned(),
                reason: "needs a validation side; evaluate the test side, not all clips".to_owned(),
            });
        }
    };
    let scored = score(&model.classifier, dataset, &rows, loss, batch, device)?;
    Ok(EvalReport::new(
        model.classifier.kind().name(),
        format!("{} ({})", data.spec, side.describe(plan.split)),
        &scored.predictions,
        thresholds.as_ref(),
    )?)
}
