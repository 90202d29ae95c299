use insrec_audio::AudioError;

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("{path}: too short: {seconds:.3} s of audio, one 0.96 s frame needs at least 0.975 s")]
    TooShort { path: String, seconds: f64 },
    #[error("{path}: analysis cancelled")]
    Cancelled { path: String },
    #[error("model {model}: {reason}")]
    Model { model: String, reason: String },
}

impl PipelineError {
    /// True when the input is at fault (a client error), false for internal failures.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Audio(e) => e.is_bad_input(),
            Self::TooShort { .. } => true,
            Self::Cancelled { .. } | Self::Model { .. } => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, PipelineError>;
