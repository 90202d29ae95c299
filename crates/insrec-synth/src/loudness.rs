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
//!
//! Measured on Debian's fonts (2023 packages): TimGM6mb and FluidR3_GM agree with fluidsynth within
//! ±1 dB at every velocity from 16 up. MuseScore_General's grand pianos (0:0, 0:1, 8:0) render
//! 21–25 dB too quietly at velocities 75–107 and its honky-tonk piano (0:3) 18–19 dB too quietly at
//! 75–100; the bad range is split at its middle and mapped to the nearest good velocity. Below
//! velocity 20 rustysynth renders several presets 7–80 dB quieter than fluidsynth, so no note is
//! sent below [`MIN_VELOCITY`].

use std::ops::RangeInclusive;

/// Lowest velocity sent to a synthesizer.
pub const MIN_VELOCITY: u8 = 24;
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

const MUSESCORE: &str = "MuseScore_General";

const fn fix(bank: u16, program: u8, bad: RangeInclusive<u8>, replacement: u8) -> VelocityFix {
    VelocityFix {
        font: MUSESCORE,
        bank,
        program,
        bad,
        replacement,
    }
}

/// Corrections measured with the `loudness` example (see the module docs).
pub const VELOCITY_FIXES: &[VelocityFix] = &[
    fix(0, 0, 75..=91, 74),
    fix(0, 0, 92..=107, 108),
    fix(0, 1, 75..=91, 74),
    fix(0, 1, 92..=107, 108),
    fix(8, 0, 75..=91, 74),
    fix(8, 0, 92..=107, 108),
    fix(0, 3, 75..=87, 74),
    fix(0, 3, 88..=100, 101),
];

/// The corrections that apply to a SoundFont with this INFO bank name.
pub fn fixes_for(bank_name: &str) -> Vec<&'static VelocityFix> {
    VELOCITY_FIXES
        .iter()
        .filter(|f| bank_name.contains(f.font))
        .collect()
}

/// The velocity to send for a note of a preset: at least [`MIN_VELOCITY`], outside bad ranges.
pub fn corrected_velocity(fixes: &[&VelocityFix], bank: u16, program: u8, velocity: u8) -> u8 {
    let velocity = velocity.clamp(MIN_VELOCITY, 127);
    fixes
        .iter()
        .find(|f| f.bank == bank && f.program == program && f.bad.contains(&velocity))
        .map_or(velocity, |f| f.replacement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn musescore_pianos_skip_their_quiet_velocities() {
        let fixes = fixes_for("MuseScore_General_Full.sf2 (MuseScore_General_HQ v0.2.1)");
        assert_eq!(fixes.len(), VELOCITY_FIXES.len());
        for v in 0..=127u8 {
            for (bank, program) in [(0, 0), (0, 1), (8, 0)] {
                let out = corrected_velocity(&fixes, bank, program, v);
                assert!(
                    out >= MIN_VELOCITY && !(75..=107).contains(&out),
                    "{bank}:{program} v{v} -> {out}"
                );
                // Never moved further than half the bad range.
                assert!((i16::from(out) - i16::from(v.max(MIN_VELOCITY))).abs() <= 17);
            }
        }
        assert_eq!(
            corrected_velocity(&fixes, 0, 2, 90),
            90,
            "electric grand is fine"
        );
        assert_eq!(
            corrected_velocity(&fixes_for("Fluid R3 GM"), 0, 0, 90),
            90,
            "other fonts are untouched"
        );
        assert_eq!(corrected_velocity(&[], 0, 0, 3), MIN_VELOCITY);
    }
}
