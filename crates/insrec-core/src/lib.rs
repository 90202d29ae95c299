//! Shared vocabulary of InsRec: the 20 OpenMIC-2018 instrument classes, the timing constants of the
//! VGGish front end, the analysis report that the CLI and the HTTP API both emit, and the text of a
//! caught panic (dependencies that assert on malformed input are run under `catch_unwind`).

mod instrument;
mod report;

pub use instrument::{Instrument, NUM_CLASSES, ParseInstrumentError};
pub use report::{AnalysisReport, ClassScores, FileReport, FrameScores};

/// Sample rate of everything after resampling.
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// Length of one embedding frame ("example") in seconds: 96 log-mel frames of 10 ms.
pub const FRAME_SECONDS: f64 = 0.96;
/// Number of embedding frames in one classifier clip (≈ 10 s).
pub const FRAMES_PER_CLIP: usize = 10;
/// Width of a VGGish embedding.
pub const EMBEDDING_DIM: usize = 128;

/// The message of a caught panic: its `&str` or `String` payload, empty for any other.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
