//! Stages 1 and 2 of the pipeline: decode any common audio file, mix it to mono and resample it to
//! 16 kHz, in chunks, so that memory does not grow with the file's length.
//!
//! ```text
//! AudioDecoder (symphonia: wav/aiff/flac/mp3/ogg-vorbis/opus/m4a-aac/alac/caf/mkv)
//!   -> mono mean over channels -> [peak normalisation] -> Resampler (fast | resampy-legacy)
//!   -> 16 kHz mono f64 blocks (AudioStream)
//! ```

mod decode;
mod error;
mod legacy;
mod opus;
mod resample;
mod stream;

pub use decode::{AudioDecoder, AudioInfo, DecodeLimits};
pub use error::{AudioError, Result};
pub use legacy::LegacyResampy;
pub use resample::{FastResampler, Resampler, ResamplerKind, resample_to_16k};
pub use stream::{AudioSource, AudioStream, StreamOptions};
