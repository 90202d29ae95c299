//! Errors of the default-model trainer.

use std::path::PathBuf;

/// What stopped training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Corpus(#[from] insrec_synth::SynthError),
    #[error("{path}: {reason}")]
    BadClip { path: PathBuf, reason: String },
    #[error("the dataset has no {0} clips")]
    EmptySplit(&'static str),
    #[error(transparent)]
    Model(#[from] insrec_encoders::EncoderError),
    #[error(transparent)]
    Metrics(#[from] insrec_eval::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(#[from] crate::error::TrainError),
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
}

pub type Result<T> = std::result::Result<T, TrainError>;
