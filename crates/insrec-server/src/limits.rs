//! Guards against uploads and load that would hurt the server.

use std::time::Duration;

/// Server limits; `insrec serve` sets each from a flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest accepted upload (raw body, or the whole multipart body).
    pub max_upload_bytes: usize,
    /// Longest accepted audio, passed to the analyzer.
    pub max_duration_s: f64,
    /// Analyses that run at once; further requests wait in a queue.
    pub max_concurrent: usize,
    /// How long a request waits for a free slot before it gets 503 with `Retry-After`.
    pub queue_timeout: Duration,
    /// How long one analysis may run before it is cancelled with 504.
    pub analysis_timeout: Duration,
}

impl Limits {
    /// 100 MB uploads.
    pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 100 * 1_000_000;
    /// One hour of audio.
    pub const DEFAULT_MAX_DURATION_S: f64 = 3600.0;
    /// Wait up to 10 s for a slot.
    pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Two minutes per analysis.
    pub const DEFAULT_ANALYSIS_TIMEOUT: Duration = Duration::from_secs(120);
}

impl Default for Limits {
    /// The defaults above, with one concurrent analysis per core.
    fn default() -> Self {
        Self {
            max_upload_bytes: Self::DEFAULT_MAX_UPLOAD_BYTES,
            max_duration_s: Self::DEFAULT_MAX_DURATION_S,
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_timeout: Self::DEFAULT_QUEUE_TIMEOUT,
            analysis_timeout: Self::DEFAULT_ANALYSIS_TIMEOUT,
        }
    }
}
