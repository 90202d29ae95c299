//! `insrec synth`: a labelled multi-instrument training corpus rendered from General-MIDI
//! SoundFonts and drum kits (the approach of the Slakh dataset: real sampled instruments,
//! sequenced).
//!
//! ```text
//! Library (SoundFonts, drum SoundFonts, Hydrogen kits; training and held-out palettes)
//!   -> compose: instruments (balanced over the 20 classes + distractors), style, song, roles, notes
//!   -> render: one stem per part (rustysynth / sampler) at a random sample rate
//!   -> mix: levels, pan fold-down; frame labels from stem energy; resample to 16 kHz;
//!           chorus, reverb, EQ, compression, loudness, noise, clipping
//!   -> corpus: clips/<id>.wav + clips/<id>.json, labels.csv, frame_labels.npy, manifest.json
//! ```
//!
//! [`SynthCorpus`] reads a finished corpus.

#![forbid(unsafe_code)]

mod compose;
mod corpus;
mod effects;
mod error;
mod generate;
mod hydrogen;
pub mod kit;
pub mod labels;
pub mod loudness;
mod mix;
pub mod modulators;
mod render;
mod rng;
mod song;
pub mod sources;
mod theory;
pub mod timbre;

#[cfg(test)]
mod pipeline_tests;

pub use corpus::{
    CLIPS_DIR, ClipRecord, CorpusClip, FRAME_LABELS_NPY, LABELS_CSV, MANIFEST_JSON, PartRecord,
    Split, SynthCorpus, clip_id,
};
pub use error::{Result, SynthError};
pub use generate::{
    CorpusArgs, FORMAT, Generator, LabelRule, Manifest, RunSummary, SplitStats, statistics,
};
pub use mix::MixSettings;
pub use sources::{Library, SourcePaths};
