//! [`MelBank`]: the log-mel frames of every clip of a split, computed once and kept in memory as
//! 16-bit fixed point (≈128 KB per 10 s clip).

use indicatif::ProgressBar;
use insrec_audio::StreamOptions;
use insrec_core::FRAMES_PER_CLIP;
use insrec_features::{EXAMPLE_FRAMES, LogMelFrontend, MEL_BANDS};
use rayon::prelude::*;

use super::data::{ClipAudio, ClipLabels, ClipSet};
use super::error::{Result, TrainError};
use crate::embed::first_clip;
use crate::progress::counter;

/// STFT frames of a 10 s clip at 16 kHz (1 + (160 000 − 400) / 160).
pub const ROWS_PER_CLIP: usize = 998;
/// Frames a training example may start late: the ten examples span 960 of the 998 rows.
pub const MAX_OFFSET: usize = ROWS_PER_CLIP - FRAMES_PER_CLIP * EXAMPLE_FRAMES;

const FLOOR: f32 = -5.0;
const STEPS_PER_UNIT: f32 = 2000.0;

fn quantise(v: f64) -> u16 {
    ((v as f32 - FLOOR) * STEPS_PER_UNIT)
        .round()
        .clamp(0.0, 65535.0) as u16
}

fn dequantise(q: u16) -> f32 {
    f32::from(q) / STEPS_PER_UNIT + FLOOR
}

/// Log-mel rows and labels of a set of clips.
pub struct MelBank {
    rows: Vec<u16>,
    labels: ClipLabels,
}

impl MelBank {
    /// Reads and analyses the clips of `set` in parallel, behind a progress bar labelled `what`.
    pub fn load(set: &ClipSet, what: &str) -> Result<Self> {
        let bar = counter(true, set.len(), what);
        let bank = Self::load_with(set, &bar);
        bar.finish_and_clear();
        bank
    }

    fn load_with(set: &ClipSet, bar: &ProgressBar) -> Result<Self> {
        let per_clip: Vec<Vec<u16>> = (0..set.len())
            .into_par_iter()
            .map(|i| {
                let samples = clip_samples(set, i)?;
                let mut rows = Vec::with_capacity(ROWS_PER_CLIP * MEL_BANDS);
                LogMelFrontend::new().push_frames(&samples, |frame| {
                    rows.extend(frame.iter().map(|&v| quantise(v)))
                });
                bar.inc(1);
                if rows.len() != ROWS_PER_CLIP * MEL_BANDS {
                    return Err(TrainError::BadClip {
                        path: set.path(i),
                        reason: format!(
                            "{} log-mel frames, expected {ROWS_PER_CLIP} (10 s at 16 kHz)",
                            rows.len() / MEL_BANDS
                        ),
                    });
                }
                Ok(rows)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            rows: per_clip.concat(),
            labels: set.labels.clone(),
        })
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.rows.len() / (ROWS_PER_CLIP * MEL_BANDS)
    }

    /// Whether the bank holds no clip.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The clips' labels.
    pub fn labels(&self) -> &ClipLabels {
        &self.labels
    }

    /// Writes the clip's ten examples starting `offset` rows late into `out` (10 × 96 × 64 log-mel).
    pub fn examples(&self, clip: usize, offset: usize, out: &mut [f32]) {
        self.examples_at(clip, offset, FRAMES_PER_CLIP, out);
    }

    /// `count` consecutive examples of `clip` from log-mel row `offset` into `out`
    /// (`offset + count · 96` ≤ 998).
    pub fn examples_at(&self, clip: usize, offset: usize, count: usize, out: &mut [f32]) {
        let start = (clip * ROWS_PER_CLIP + offset) * MEL_BANDS;
        let len = count * EXAMPLE_FRAMES * MEL_BANDS;
        for (o, &q) in out[..len].iter_mut().zip(&self.rows[start..start + len]) {
            *o = dequantise(q);
        }
    }

    /// Mean and standard deviation of the log-mel values (a strided sample of rows).
    pub fn statistics(&self) -> (f64, f64) {
        let (mut sum, mut sq, mut n) = (0.0f64, 0.0f64, 0.0f64);
        for &q in self.rows.iter().step_by(7) {
            let v = f64::from(dequantise(q));
            sum += v;
            sq += v * v;
            n += 1.0;
        }
        let mean = sum / n.max(1.0);
        (mean, (sq / n.max(1.0) - mean * mean).max(1e-6).sqrt())
    }
}

/// The 16 kHz samples of clip `i`: a corpus WAV as stored, or the first 10 s of a file
/// (decoded, mixed to mono, resampled; zero-padded when shorter).
fn clip_samples(set: &ClipSet, i: usize) -> Result<Vec<f64>> {
    match &set.audio {
        ClipAudio::Corpus { corpus, indices } => Ok(corpus
            .read_audio(indices[i])?
            .iter()
            .map(|&s| f64::from(s))
            .collect()),
        ClipAudio::Files(paths) => {
            first_clip(&paths[i], StreamOptions::default()).map_err(|reason| TrainError::BadClip {
                path: paths[i].clone(),
                reason,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_keeps_log_mel_within_a_thousandth() {
        for v in [-4.605_170_2, -1.0, 0.0, 3.3, 12.5] {
            assert!((dequantise(quantise(v)) - v as f32).abs() < 3e-4, "{v}");
        }
        assert_eq!(dequantise(quantise(-50.0)), FLOOR);
    }
}
