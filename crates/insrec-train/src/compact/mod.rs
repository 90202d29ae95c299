//! The default model's trainer: InsRec's compact encoder and frame head trained together on a
//! synthesized corpus (`insrec synth`), with augmentation in the log-mel domain.

mod augment;
mod bank;
mod error;
mod evaluate;
mod trainer;

pub use augment::Augmentation;
pub use error::{Result, TrainError};
pub use evaluate::SplitMetrics;
pub use trainer::{TrainOutcome, TrainSettings, export_run, train};
