//! Shared vocabulary of InsRec: the 20 OpenMIC-2018 instrument classes, the timing constants of the
//! VGGish front end, and the analysis report that the CLI and the HTTP API both emit.

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
