//! Test support shared with the examples: a fake analyzer and WAV clips.

pub mod clips;
pub mod fake_analyzer;
