//! Errors of the encoders crate.

use std::path::PathBuf;

/// What went wrong while building, loading or running an encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A config that cannot build a model.
    #[error("compact model: invalid config: {0}")]
    InvalidConfig(String),
    /// A model file or folder that could not be read.
    #[error("compact model: cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A model description (JSON) that does not parse.
    #[error("compact model: bad {what}: {reason}")]
    BadModelFile { what: String, reason: String },
    /// Weights that do not fit the config.
    #[error("compact model: weights do not match the config: {0}")]
    BadWeights(String),
    /// Input with the wrong shape.
    #[error("compact model: {what} has {len} values, not a multiple of {unit}")]
    BadShape {
        what: &'static str,
        len: usize,
        unit: usize,
    },
}

pub type Result<T> = std::result::Result<T, EncoderError>;
