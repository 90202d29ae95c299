use std::path::PathBuf;

/// Why a file could not be turned into 16 kHz mono audio. Every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: is a directory, not an audio file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: unsupported audio: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: corrupt or truncated audio: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: contains no audio samples")]
    NoAudio { path: PathBuf },
    #[error("{path}: {what} exceeds the limit of {limit}")]
    LimitExceeded {
        path: PathBuf,
        what: String,
        limit: String,
    },
    #[error("resampler: {0}")]
    Resample(String),
    #[error("{path}: analysis cancelled")]
    Cancelled { path: PathBuf },
}

impl AudioError {
    /// True when the input itself is at fault (a client error), false for internal failures.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Self::Resample(_) | Self::Cancelled { .. })
    }
}

pub type Result<T> = std::result::Result<T, AudioError>;
