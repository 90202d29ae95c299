//! The default model's trainer: InsRec's compact encoder and frame head trained together on
//! labelled audio (a synthesized corpus from `insrec synth` with frame labels, a labelled folder
//! or OpenMIC-2018's audio with clip labels), with augmentation in the log-mel domain; in an
//! end-to-end run of a zoo model, that classifier learns with them on the encoder's embeddings.

mod augment;
mod bank;
mod data;
mod error;
mod evaluate;
mod network;
mod trainer;

pub use augment::Augmentation;
pub use data::{AudioClips, ClipAudio, ClipLabels, ClipSet};
pub use error::{Result, TrainError};
pub use evaluate::{SplitMetrics, SplitPredictions, predict};
pub use network::ClassifierSpec;
pub use trainer::{CLASSIFIER_FILE, TrainOutcome, TrainSettings, train, trained_split};

/// Whether a setting is at its off value (serde leaves such settings out of run files).
fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
