//! Loudness of rustysynth against the reference SoundFont renderer.
//!
//! `cargo run --release -p insrec-synth --example loudness -- FONT.sf2...` renders every preset of
//! [`crate::timbre::TIMBRES`] at 16 velocities with rustysynth (the font read as the corpus reads it,
//! with its note-on modulators baked in: [`crate::modulators`]) and with Debian's `fluidsynth` CLI
//! and prints the level difference per preset and velocity. After removing each font's overall
//! offset (the two renderers use different master gains), a velocity whose difference is more than
//! [`OUTLIER_DB`] away from the preset's median is an outlier.
//!
//! Measured on Debian's fonts (2023 packages, 2026-11-29): TimGM6mb has no outlier, FluidR3_GM two, both
//! at velocity 16. MuseScore_General's grand pianos rendered 21–25 dB too quietly at velocities 75–107
//! (its honky-tonk piano 18–19 dB at 75–100) until its modulators were baked in: those velocities
//! open the pianos' filter through a velocity modulator; now 31 outliers in 1 456 notes, 23 at velocity
//! 16, the rest in two pads (Pad 2 and the time-varying Pad 8, 7–22 dB at 32–56) and the trumpets at
//! 24. Below velocity 20 rustysynth renders several presets 7–80 dB quieter than fluidsynth, so no
//! note is sent below [`MIN_VELOCITY`].

/// Lowest velocity sent to a synthesizer.
pub const MIN_VELOCITY: u8 = 24;
/// A level difference (dB) from the preset's median that counts as a rendering defect.
pub const OUTLIER_DB: f64 = 6.0;
