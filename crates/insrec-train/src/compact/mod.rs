//! The default model's trainer: InsRec's compact encoder and frame head trained together on a
//! synthesized corpus (`insrec synth`), with augmentation in the log-mel domain; in an end-to-end
//! run of a zoo model, that classifier learns with them on the encoder's embeddings.

mod augment;
mod bank;
mod error;
mod evaluate;
mod network;
mod trainer;

pub use augment::Augmentation;
pub use error::{Result, TrainError};
pub use evaluate::SplitMetrics;
pub use network::ClassifierSpec;
pub use trainer::{CLASSIFIER_FILE, TrainOutcome, TrainSettings, train};
