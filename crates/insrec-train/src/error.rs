//! Errors of training, evaluation and data preparation. Messages name the file and the problem.

use std::path::PathBuf;

/// Result of the training crate.
pub type Result<T> = std::result::Result<T, TrainError>;

/// Why training, evaluation or feature preparation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] insrec_data::Error),
    #[error(transparent)]
    Zoo(#[from] insrec_zoo::ZooError),
    #[error(transparent)]
    Eval(#[from] insrec_eval::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error("training setting {key:?}: {reason}")]
    BadSetting { key: String, reason: String },
    #[error("data {spec:?}: {reason}")]
    BadDataSpec { spec: String, reason: String },
    #[error("{path}: {reason}")]
    BadEmbeddings { path: PathBuf, reason: String },
    #[error("{dataset}: clip {key:?} has audio but no embeddings; pass --encoder or --embeddings")]
    NeedsEmbeddings { dataset: String, key: String },
    #[error("{path}: cannot embed: {reason}")]
    Embed { path: PathBuf, reason: String },
    #[error("{dataset}: the {side} side of the split is empty")]
    EmptySplit { dataset: String, side: &'static str },
    #[error(
        "{dataset}: {clips} training clips make no full batch of {batch_size} (drop_last is on)"
    )]
    NoFullBatch {
        dataset: String,
        clips: usize,
        batch_size: usize,
    },
    #[error("training diverged at epoch {epoch}: the loss is {loss}")]
    Diverged { epoch: usize, loss: f64 },
    #[error("tensor data: {0}")]
    Tensor(String),
}

impl TrainError {
    /// An [`TrainError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
