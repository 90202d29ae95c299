//! The whole pipeline for one file:
//!
//! ```text
//! AudioStream (decode, mono, 16 kHz) -> LogMelFrontend (96×64 examples)
//!   -> FrameEncoder (batches of examples -> embeddings) -> FrameHead (embeddings -> per-frame probabilities)
//!   -> FileReport (overall scores, classes present, timeline)
//! ```
//!
//! Memory: examples are encoded in batches as they stream in; only the embeddings of the whole file
//! are kept (128 floats per 0.96 s: 1.9 MB per hour).

mod error;
mod recognizer;
mod scores;

pub use error::{PipelineError, Result};
pub use recognizer::{AnalyzeOptions, FrameEncoder, FrameHead, Recognizer};
pub use scores::{file_scores, merge_half_frame_view, present, smooth_timeline};
