//! Training-time augmentation on log-mel examples: clip mixing, gain, EQ (tilt and a random
//! piecewise-linear curve), noise and time/frequency masking. Log-mel is `ln(mel + 0.01)`, so
//! mixing and gain work on `exp(x) − 0.01`, the mel energies.

use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_data::Labels;
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::bank::{MAX_OFFSET, MelBank};
use super::data::{ClipLabels, FrameLabels};

const LOG_OFFSET: f32 = 0.01;
/// Values in one training item (ten examples).
pub const ITEM_LEN: usize = FRAMES_PER_CLIP * EXAMPLE_FRAMES * MEL_BANDS;

/// How strongly training items are augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augmentation {
    /// Chance that a second clip is mixed in (labels are the union). 0 by default: on the
    /// synthesized corpus single clips train better (README, "Default model").
    pub mix_probability: f64,
    /// Gain range of the whole item, dB.
    pub gain_db: [f32; 2],
    /// Gain of a mixed-in clip relative to the first, dB.
    pub mix_gain_db: [f32; 2],
    /// When set, a mix's labels that only its quieter clip has become unknown once that clip is
    /// at least this many dB below the other: its quiet parts may be buried under the louder
    /// clip, and the mel energies alone do not say which. `None` keeps them present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_unknown_db: Option<f32>,
    /// Largest spectral tilt from the lowest to the highest band, dB.
    pub tilt_db: f32,
    /// Largest gain of the random EQ curve (straight lines in dB between 3 to 6 random bands),
    /// dB; 0 turns it off.
    #[serde(default)]
    pub eq_db: f32,
    /// Largest shift of the whole item along the mel axis, in bands, drawn uniformly from
    /// `-shift_bands..=shift_bands` (the edge band repeated into the gap): pitch and formants
    /// moved together, a crude new timbre. 0 turns it off.
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub shift_bands: usize,
    /// Chance of adding a noise floor.
    pub noise_probability: f64,
    /// Chance of each of two frequency masks (up to 8 bands) and two time masks per example (up
    /// to 12 frames).
    pub mask_probability: f64,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            mix_probability: 0.0,
            gain_db: [-12.0, 6.0],
            mix_gain_db: [-12.0, 3.0],
            mix_unknown_db: None,
            tilt_db: 8.0,
            eq_db: 0.0,
            shift_bands: 0,
            noise_probability: 0.3,
            mask_probability: 0.5,
        }
    }
}

fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

fn range(rng: &mut ChaCha8Rng, [lo, hi]: [f32; 2]) -> f32 {
    lo + (hi - lo) * uniform(rng)
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    f64::from(uniform(rng)) < p
}

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// The labels of one training item: its clip's, joined with a mixed-in clip's.
#[derive(Debug, Clone, Copy, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per training item, collected once per batch; boxing would allocate per item"
)]
pub enum ItemLabels {
    /// Frame labels and which of them are known.
    Frames {
        present: FrameLabels,
        known: FrameLabels,
    },
    Clip(Labels),
}

/// Which clip of a mix is quiet enough for its own labels to be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quieter {
    Mine,
    Theirs,
}

impl ItemLabels {
    /// The labels of clip `clip` of `bank`.
    fn of(bank: &MelBank, clip: usize) -> Self {
        match bank.labels() {
            ClipLabels::Frames(frames) => Self::Frames {
                present: frames[clip],
                known: [[true; NUM_CLASSES]; FRAMES_PER_CLIP],
            },
            ClipLabels::Clips(clips) => Self::Clip(clips[clip]),
        }
    }

    /// The labels of a mix of both items: a class is present where it is in either; absent only
    /// where it is known to be absent in both, unknown otherwise. Where one clip is `quieter`,
    /// what only that clip has present is unknown.
    fn union(self, other: Self, quieter: Option<Quieter>) -> Self {
        let unknown = |mine: bool, theirs: bool| match quieter {
            Some(Quieter::Mine) => mine && !theirs,
            Some(Quieter::Theirs) => theirs && !mine,
            None => false,
        };
        match (self, other) {
            (
                Self::Frames { present, known },
                Self::Frames {
                    present: theirs,
                    known: theirs_known,
                },
            ) => {
                let (mut present, mut known) = (present, known);
                for f in 0..FRAMES_PER_CLIP {
                    for c in 0..NUM_CLASSES {
                        let (m, t) = (present[f][c], theirs[f][c]);
                        present[f][c] = m || t;
                        known[f][c] = known[f][c] && theirs_known[f][c] && !unknown(m, t);
                    }
                }
                Self::Frames { present, known }
            }
            (Self::Clip(a), Self::Clip(b)) => {
                let (ta, tb) = (a.official_targets(), b.official_targets());
                let present: [bool; NUM_CLASSES] = std::array::from_fn(|c| ta[c] + tb[c] > 0.0);
                Self::Clip(Labels {
                    relevance: present.map(|p| f32::from(u8::from(p))),
                    mask: std::array::from_fn(|c| {
                        let buried = unknown(ta[c] > 0.0, tb[c] > 0.0);
                        !buried && (present[c] || (a.mask[c] && b.mask[c]))
                    }),
                })
            }
            (mine, _) => mine,
        }
    }
}

/// The clip of a mix whose own labels are unknown: the mixed-in one when it is at least
/// `threshold_db` below the first (`gain_db` is its gain relative to the first), the first when it
/// is that far below the mixed-in one.
fn quieter(gain_db: f32, threshold_db: Option<f32>) -> Option<Quieter> {
    let threshold = threshold_db?;
    if gain_db <= -threshold {
        Some(Quieter::Theirs)
    } else if gain_db >= threshold {
        Some(Quieter::Mine)
    } else {
        None
    }
}

/// Writes one training item built around clip `clip` into `examples` ([`ITEM_LEN`]) and returns
/// its labels and the clip mixed into it, if any. `scratch` needs [`ITEM_LEN`] values.
pub fn training_item(
    bank: &MelBank,
    clip: usize,
    settings: &Augmentation,
    rng: &mut ChaCha8Rng,
    examples: &mut [f32],
    scratch: &mut [f32],
) -> (ItemLabels, Option<usize>) {
    let mut labels = ItemLabels::of(bank, clip);
    let mut mixed_in = None;
    bank.examples(clip, below(rng, MAX_OFFSET + 1), examples);
    to_energy(examples);
    if chance(rng, settings.mix_probability) {
        let other = below(rng, bank.len());
        bank.examples(other, below(rng, MAX_OFFSET + 1), scratch);
        to_energy(&mut scratch[..ITEM_LEN]);
        let gain_db = range(rng, settings.mix_gain_db);
        let g = db_to_power(gain_db);
        for (e, s) in examples.iter_mut().zip(&scratch[..ITEM_LEN]) {
            *e += g * s;
        }
        let quieter = quieter(gain_db, settings.mix_unknown_db);
        labels = labels.union(ItemLabels::of(bank, other), quieter);
        mixed_in = Some(other);
    }
    let gain = db_to_power(range(rng, settings.gain_db));
    let tilt = range(rng, [-settings.tilt_db, settings.tilt_db]);
    let eq = (settings.eq_db > 0.0).then(|| eq_curve(rng, settings.eq_db));
    let band_gain: Vec<f32> = (0..MEL_BANDS)
        .map(|b| {
            let eq_db = eq.as_ref().map_or(0.0, |curve| curve[b]);
            gain * db_to_power(tilt * (b as f32 / (MEL_BANDS - 1) as f32 - 0.5) + eq_db)
        })
        .collect();
    let noise = chance(rng, settings.noise_probability).then(|| {
        let level = 10f32.powf(range(rng, [-2.0, 0.5]));
        let slope = range(rng, [-1.0, 0.5]);
        (0..MEL_BANDS)
            .map(|b| level * 10f32.powf(slope * b as f32 / MEL_BANDS as f32))
            .collect::<Vec<f32>>()
    });
    for row in examples[..ITEM_LEN].chunks_exact_mut(MEL_BANDS) {
        for (b, v) in row.iter_mut().enumerate() {
            let mut e = *v * band_gain[b];
            if let Some(noise) = &noise {
                e += noise[b] * (0.5 + uniform(rng));
            }
            *v = (e + LOG_OFFSET).ln();
        }
    }
    if settings.shift_bands > 0 {
        let k = settings.shift_bands;
        shift_bands(
            &mut examples[..ITEM_LEN],
            below(rng, 2 * k + 1) as isize - k as isize,
        );
    }
    let floor = LOG_OFFSET.ln();
    for example in examples[..ITEM_LEN].chunks_exact_mut(EXAMPLE_FRAMES * MEL_BANDS) {
        for _ in 0..2 {
            if chance(rng, settings.mask_probability) {
                let width = below(rng, 9);
                let start = below(rng, MEL_BANDS - width + 1);
                for row in example.chunks_exact_mut(MEL_BANDS) {
                    row[start..start + width].fill(floor);
                }
            }
            if chance(rng, settings.mask_probability) {
                let width = below(rng, 13);
                let start = below(rng, EXAMPLE_FRAMES - width + 1);
                example[start * MEL_BANDS..(start + width) * MEL_BANDS].fill(floor);
            }
        }
    }
    (labels, mixed_in)
}

/// Moves every row's values `shift` bands up (down when negative), repeating the edge band.
fn shift_bands(values: &mut [f32], shift: isize) {
    if shift == 0 {
        return;
    }
    let last = MEL_BANDS as isize - 1;
    let mut shifted = [0.0f32; MEL_BANDS];
    for row in values.chunks_exact_mut(MEL_BANDS) {
        for (b, out) in shifted.iter_mut().enumerate() {
            *out = row[(b as isize - shift).clamp(0, last) as usize];
        }
        row.copy_from_slice(&shifted);
    }
}

/// A random EQ curve over the mel bands, dB: straight lines between the first band, the last
/// and one to four bands in between, each at a gain drawn from `±max_db`.
fn eq_curve(rng: &mut ChaCha8Rng, max_db: f32) -> [f32; MEL_BANDS] {
    let last = MEL_BANDS - 1;
    let mut bands: Vec<usize> = (0..1 + below(rng, 4))
        .map(|_| 1 + below(rng, last - 1))
        .chain([0, last])
        .collect();
    bands.sort_unstable();
    bands.dedup();
    let points: Vec<(usize, f32)> = bands
        .into_iter()
        .map(|b| (b, range(rng, [-max_db, max_db])))
        .collect();
    let mut curve = [0.0; MEL_BANDS];
    for pair in points.windows(2) {
        let ((b0, g0), (b1, g1)) = (pair[0], pair[1]);
        for (b, value) in curve.iter_mut().enumerate().take(b1 + 1).skip(b0) {
            *value = g0 + (g1 - g0) * (b - b0) as f32 / (b1 - b0) as f32;
        }
    }
    curve
}

fn to_energy(values: &mut [f32]) {
    for v in values {
        *v = (v.exp() - LOG_OFFSET).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_shift_moves_each_row_and_repeats_the_edge() {
        let row: Vec<f32> = (0..MEL_BANDS).map(|b| b as f32).collect();
        let mut values = [row.clone(), row].concat();
        shift_bands(&mut values, 2);
        assert_eq!(values[..4], [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(values[MEL_BANDS - 1], (MEL_BANDS - 3) as f32);
        assert_eq!(values[MEL_BANDS..MEL_BANDS + 4], [0.0, 0.0, 0.0, 1.0]);
        shift_bands(&mut values[..MEL_BANDS], -3);
        assert_eq!(values[0], 1.0); // band 3 of the shifted row, i.e. band 1
        assert_eq!(
            values[MEL_BANDS - 4..MEL_BANDS],
            [(MEL_BANDS - 3) as f32; 4]
        );
    }

    #[test]
    fn mixed_clip_labels_are_absent_only_where_both_clips_say_so() {
        let known_absent = Labels {
            relevance: [0.0; NUM_CLASSES],
            mask: [true; NUM_CLASSES],
        };
        let (mut a, mut b) = (known_absent, known_absent);
        a.relevance[0] = 1.0; // present in a
        b.mask[1] = false; // absent in a, unknown in b
        a.mask[2] = false; // unknown in a, present in b
        b.relevance[2] = 0.8;
        a.mask[3] = false; // unknown in both
        b.mask[3] = false;
        let ItemLabels::Clip(mix) = ItemLabels::Clip(a).union(ItemLabels::Clip(b), None) else {
            unreachable!("clip labels mix into clip labels")
        };
        assert_eq!(mix.official_targets()[..5], [1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(mix.mask[..5], [true, false, true, false, true]);
    }

    #[test]
    fn labels_only_the_quieter_clip_has_are_unknown_in_a_mix() {
        let mut mine = [[false; NUM_CLASSES]; FRAMES_PER_CLIP];
        let mut theirs = mine;
        mine[0][0] = true; // only mine
        theirs[0][1] = true; // only theirs
        (mine[0][2], theirs[0][2]) = (true, true); // both
        let known = [[true; NUM_CLASSES]; FRAMES_PER_CLIP];
        let frames = |present| ItemLabels::Frames { present, known };
        let mix = |quieter| match frames(mine).union(frames(theirs), quieter) {
            ItemLabels::Frames { present, known } => (present[0], known[0]),
            ItemLabels::Clip(_) => unreachable!("frame labels mix into frame labels"),
        };
        let (present, known) = mix(None);
        assert_eq!(present[..4], [true, true, true, false]);
        assert!(known.iter().all(|&k| k));
        let (present, known) = mix(Some(Quieter::Theirs));
        assert_eq!(present[..4], [true, true, true, false]);
        assert_eq!(known[..4], [true, false, true, true]);
        let (_, known) = mix(Some(Quieter::Mine));
        assert_eq!(known[..4], [false, true, true, true]);
    }

    #[test]
    fn the_clip_mixed_at_least_the_threshold_below_is_the_quieter() {
        let rule = |gain_db| quieter(gain_db, Some(6.0));
        assert_eq!(rule(-12.0), Some(Quieter::Theirs));
        assert_eq!(rule(-6.0), Some(Quieter::Theirs));
        assert_eq!(rule(-5.9), None);
        assert_eq!(rule(3.0), None);
        assert_eq!(rule(6.5), Some(Quieter::Mine));
        assert_eq!(quieter(-12.0, None), None);
    }

    #[test]
    fn eq_curves_are_bounded_piecewise_lines_that_vary() {
        use rand_core::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let curves: Vec<[f32; MEL_BANDS]> = (0..200).map(|_| eq_curve(&mut rng, 6.0)).collect();
        for curve in &curves {
            assert!(curve.iter().all(|g| g.abs() <= 6.0));
            // Between knots a line: second differences vanish except at up to four inner knots.
            let kinks = curve
                .windows(3)
                .filter(|w| (w[0] - 2.0 * w[1] + w[2]).abs() > 1e-3)
                .count();
            assert!(kinks <= 4, "{kinks} kinks");
        }
        let spread = curves
            .iter()
            .map(|c| c[0])
            .fold(0.0f32, |m, g| m.max(g.abs()));
        assert!(spread > 5.0, "edge gains reach near ±6 dB, got {spread}");
        assert!(curves.iter().any(|c| c[20] != c[40]));
    }

    #[test]
    fn energy_round_trip_is_identity_without_augmentation() {
        let mut v = vec![-4.6, -1.0, 0.0, 2.5];
        let original = v.clone();
        to_energy(&mut v);
        for (x, o) in v.iter().zip(&original) {
            assert!(((x + LOG_OFFSET).ln() - o).abs() < 1e-4);
        }
    }
}
