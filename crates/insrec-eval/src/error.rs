//! Errors of the metric functions.

/// Result of the metric functions.
pub type Result<T> = std::result::Result<T, Error>;

/// Predictions that cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("no clips to evaluate")]
    Empty,
    #[error("score of clip {clip}, class {class} is NaN (did training diverge?)")]
    NanScore { clip: usize, class: &'static str },
    #[error("relevance of clip {clip}, class {class} is {value}, outside [0, 1]")]
    BadRelevance {
        clip: usize,
        class: &'static str,
        value: f32,
    },
    #[error("threshold of class {class} is {value}, not a finite number")]
    BadThreshold { class: &'static str, value: f32 },
    #[error("{groups} group labels for {clips} clips")]
    GroupCount { clips: usize, groups: usize },
}
