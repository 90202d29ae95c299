//! Training for InsRec.
//!
//! Zoo classifiers on embedding clips ([`train`], [`evaluate()`]): the seed's recipe
//! ([`Recipe`]), masked BCE or the seed's cross-entropy ([`LossKind`]), `DelayedStepDecayLR`
//! ([`LrSchedule`]), Adam with global gradient-norm clipping ([`optim`]), early stopping
//! ([`EarlyStopping`]), atomic per-epoch checkpoints that resume exactly ([`Checkpoints`]), a JSONL
//! epoch log and progress bars. Datasets come from `openmic:`, `synth:` or `folder:` specs
//! ([`DataSpec`]), audio embedded through a frame encoder with a content-hashed cache
//! ([`embed`]).

#![forbid(unsafe_code)]

pub mod batches;
pub mod checkpoint;
pub mod compact;
pub mod early_stop;
pub mod embed;
mod error;
pub mod evaluate;
pub mod loss;
pub mod optim;
pub mod progress;
pub mod recipe;
pub mod recognizer;
pub mod schedule;
pub mod source;
pub mod trainer;

pub use checkpoint::Checkpoints;
pub use early_stop::{EarlyStopping, Verdict};
pub use error::{Result, TrainError};
pub use evaluate::{EvalSide, TrainedModel, evaluate};
pub use loss::LossKind;
pub use recipe::{DEFAULT_SEED, Recipe, TrainSetup};
pub use schedule::LrSchedule;
pub use source::{DataKind, DataSpec, FeatureOptions, LoadedData, SplitKind, SplitPlan};
pub use trainer::{RunInfo, RunStatus, TrainData, TrainOptions, train};
