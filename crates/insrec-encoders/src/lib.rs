//! Stage 4 of the pipeline: frame encoders (log-mel examples `[N, 96, 64]` → embeddings) and the
//! frame-level heads trained with them.
//!
//! - [`compact`]: InsRec's own small encoder and sequence head, trained on the synthesized corpus;
//!   the default model is embedded in the binary ([`compact::DefaultModel`]).
//! - [`vggish`]: the VGGish network, its standard weight files and the OpenMIC-2018 post-processor.

#![forbid(unsafe_code)]

pub mod compact;
mod error;
pub mod vggish;

pub use error::{EncoderError, Result};
