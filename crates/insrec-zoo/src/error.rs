//! Errors of the model zoo.

use std::path::PathBuf;

/// Result of every fallible zoo operation.
pub type Result<T> = std::result::Result<T, ZooError>;

/// What went wrong while building, loading or running a sequence classifier.
#[derive(Debug, thiserror::Error)]
pub enum ZooError {
    /// The name is not one of the 27 PyOmniTS models.
    #[error("zoo: unknown model {name:?}; known models: {known}")]
    UnknownModel { name: String, known: String },
    /// A configuration key that the model does not have.
    #[error("zoo: {model} has no config key {key:?}; known keys: {known}")]
    UnknownConfigKey {
        model: &'static str,
        key: String,
        known: String,
    },
    /// A configuration value that the model cannot be built with.
    #[error("zoo: invalid {model} config: {reason}")]
    InvalidConfig { model: &'static str, reason: String },
    /// An override not written as `key=value`.
    #[error("zoo: config override {0:?} is not of the form key=value")]
    MalformedOverride(String),
    /// A config file or fixture config that does not parse.
    #[error("zoo: cannot parse config {path}: {reason}")]
    ConfigSyntax { path: PathBuf, reason: String },
    /// An input tensor with the wrong shape.
    #[error("zoo: {what} has shape {found:?}, expected {expected}")]
    InputShape {
        what: &'static str,
        found: Vec<usize>,
        expected: String,
    },
    /// A checkpoint that does not match the model: missing, unexpected or mis-shaped tensors.
    #[error("zoo: weights {path} do not fit {model}:\n{}", problems.join("\n"))]
    WeightMismatch {
        model: &'static str,
        path: PathBuf,
        problems: Vec<String>,
    },
    /// A checkpoint file that cannot be read (format or I/O).
    #[error("zoo: cannot read weights {path}: {reason}")]
    WeightFormat { path: PathBuf, reason: String },
    /// A file that cannot be read or written.
    #[error("zoo: {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
