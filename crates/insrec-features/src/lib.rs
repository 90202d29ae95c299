//! Stage 3 of the pipeline: the VGGish log-mel front end, numerically identical to the reference
//! (`shared/reference/vggish.md` §3–6), streaming, and the grouping of examples into clips.
//!
//! ```text
//! 16 kHz mono -> frames 400/160 -> periodic Hann -> |rFFT 512| -> 64 HTK mel bands (125–7500 Hz)
//!   -> ln(mel + 0.01) -> examples of 96 frames (hop 96) = [N, 96, 64] -> clips of 10 examples
//! ```

mod clips;
mod frontend;
mod mel;

pub use clips::{Clip, clips};
pub use frontend::{Examples, LogMelFrontend, example_count, examples};
pub use mel::{MelFilterbank, periodic_hann};

/// Analysis window in samples (25 ms at 16 kHz).
pub const WINDOW_SAMPLES: usize = 400;
/// Hop between frames in samples (10 ms).
pub const HOP_SAMPLES: usize = 160;
/// FFT length (next power of two above the window).
pub const FFT_SIZE: usize = 512;
/// Magnitude bins of the real FFT.
pub const FFT_BINS: usize = FFT_SIZE / 2 + 1;
/// Mel bands.
pub const MEL_BANDS: usize = 64;
/// Log-mel frames per example (0.96 s).
pub const EXAMPLE_FRAMES: usize = 96;
/// Log-mel frames between an example's start and its half-frame view's (0.48 s).
pub const HALF_EXAMPLE_FRAMES: usize = EXAMPLE_FRAMES / 2;
/// Values in one example (`96 × 64`).
pub const EXAMPLE_LEN: usize = EXAMPLE_FRAMES * MEL_BANDS;
/// Offset added before the logarithm.
pub const LOG_OFFSET: f64 = 0.01;
/// Input samples between the starts of consecutive examples.
pub const EXAMPLE_HOP_SAMPLES: usize = EXAMPLE_FRAMES * HOP_SAMPLES;
