//! Training-time augmentation on log-mel examples: clip mixing, gain, EQ, noise and
//! time/frequency masking. Log-mel is `ln(mel + 0.01)`, so mixing and gain work on
//! `exp(x) − 0.01`, the mel energies.

use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::bank::{MAX_OFFSET, MelBank};

const LOG_OFFSET: f32 = 0.01;
/// Values in one training item (ten examples).
pub const ITEM_LEN: usize = FRAMES_PER_CLIP * EXAMPLE_FRAMES * MEL_BANDS;

/// How strongly training items are augmented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augmentation {
    /// Chance that a second clip is mixed in (labels are the union).
    pub mix_probability: f64,
    /// Gain range of the whole item, dB.
    pub gain_db: [f32; 2],
    /// Gain of a mixed-in clip relative to the first, dB.
    pub mix_gain_db: [f32; 2],
    /// Largest spectral tilt from the lowest to the highest band, dB.
    pub tilt_db: f32,
    /// Chance of adding a noise floor.
    pub noise_probability: f64,
    /// Chance of each of two frequency masks (up to 8 bands) and two time masks per example (up
    /// to 12 frames).
    pub mask_probability: f64,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            mix_probability: 0.5,
            gain_db: [-12.0, 6.0],
            mix_gain_db: [-12.0, 3.0],
            tilt_db: 8.0,
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

/// Writes one training item built around clip `clip` into `examples` ([`ITEM_LEN`]) and its frame
/// targets into `targets` (10 × 20, 0/1). `scratch` needs [`ITEM_LEN`] values.
pub fn training_item(
    bank: &MelBank,
    clip: usize,
    settings: &Augmentation,
    rng: &mut ChaCha8Rng,
    examples: &mut [f32],
    scratch: &mut [f32],
    targets: &mut [f32],
) {
    let mut labels = *bank.labels(clip);
    bank.examples(clip, below(rng, MAX_OFFSET + 1), examples);
    to_energy(examples);
    if chance(rng, settings.mix_probability) {
        let other = below(rng, bank.len());
        bank.examples(other, below(rng, MAX_OFFSET + 1), scratch);
        to_energy(&mut scratch[..ITEM_LEN]);
        let g = db_to_power(range(rng, settings.mix_gain_db));
        for (e, s) in examples.iter_mut().zip(&scratch[..ITEM_LEN]) {
            *e += g * s;
        }
        for (mine, theirs) in labels.iter_mut().zip(bank.labels(other)) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m |= *t;
            }
        }
    }
    let gain = db_to_power(range(rng, settings.gain_db));
    let tilt = range(rng, [-settings.tilt_db, settings.tilt_db]);
    let band_gain: Vec<f32> = (0..MEL_BANDS)
        .map(|b| gain * db_to_power(tilt * (b as f32 / (MEL_BANDS - 1) as f32 - 0.5)))
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
    for (t, l) in targets.chunks_exact_mut(NUM_CLASSES).zip(&labels) {
        for (t, &l) in t.iter_mut().zip(l) {
            *t = f32::from(u8::from(l));
        }
    }
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
    fn energy_round_trip_is_identity_without_augmentation() {
        let mut v = vec![-4.6, -1.0, 0.0, 2.5];
        let original = v.clone();
        to_energy(&mut v);
        for (x, o) in v.iter().zip(&original) {
            assert!(((x + LOG_OFFSET).ln() - o).abs() < 1e-4);
        }
    }
}
