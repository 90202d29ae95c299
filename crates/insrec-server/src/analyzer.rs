//! The seam between the HTTP layer and the analysis pipeline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use insrec_core::FileReport;
use serde::Serialize;

/// A model an [`Analyzer`] can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The name clients pass as `?model=`.
    pub name: String,
    /// One line for people, e.g. "embedded default: compact CNN + PatchTST"; says why when unavailable.
    pub description: String,
    /// False when the model failed to load; analyses with it get [`AnalyzeError::ModelUnavailable`].
    pub available: bool,
}

/// Set when the client has gone or the request timed out; a long analysis polls it and stops early.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the analysis to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the analysis should stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for code that polls an `AtomicBool` (the pipeline's `AnalyzeOptions::cancel`).
    pub fn as_atomic(&self) -> &AtomicBool {
        &self.0
    }
}

/// One uploaded file to analyse, held in memory only.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeRequest<'a> {
    /// The encoded file (mp3, wav, ogg, flac, aac, m4a, ...).
    pub audio: &'a [u8],
    /// The client's file name, if any; its extension may help the decoder guess the format.
    pub filename_hint: Option<&'a str>,
    /// One of [`Analyzer::models`]' names.
    pub model: &'a str,
    /// Longer audio is refused with [`AnalyzeError::LimitExceeded`].
    pub max_duration_s: f64,
    /// Polled between chunks of work.
    pub cancel: &'a CancelFlag,
}

/// The analysis pipeline as the server sees it. Calls run on blocking threads, several at once.
pub trait Analyzer: Send + Sync {
    /// The models on offer, the default first; never empty.
    fn models(&self) -> Vec<ModelInfo>;

    /// Scores one file: overall and per-frame scores for the 20 classes and the classes judged present.
    fn analyze(&self, request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError>;
}

/// Why an analysis failed; all but the last three are the client's fault and reach it as a 4xx with the reason.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A format or codec the decoder does not handle.
    #[error("unsupported audio: {reason}")]
    Unsupported { reason: String },
    /// The bytes do not decode.
    #[error("corrupt audio: {reason}")]
    Corrupt { reason: String },
    /// Longer than [`AnalyzeRequest::max_duration_s`], or past another decoding guard.
    #[error("limit exceeded: {reason}")]
    LimitExceeded { reason: String },
    /// Decodable but unusable, e.g. no audio track or shorter than one frame.
    #[error("cannot analyse: {reason}")]
    Invalid { reason: String },
    /// A model name that is not among [`Analyzer::models`].
    #[error("unknown model {name:?} (available: {})", known.join(", "))]
    UnknownModel { name: String, known: Vec<String> },
    /// A model on offer that could not be loaded (a missing or broken checkpoint): the server's fault, 503.
    #[error("model {name:?} is unavailable: {reason}")]
    ModelUnavailable { name: String, reason: String },
    /// The [`CancelFlag`] was set.
    #[error("analysis cancelled")]
    Cancelled,
    /// A failure of the server, not of the upload; logged, and reported to the client as a bare 500.
    #[error("analysis failed: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}
