//! [`MelBank`]: the log-mel frames of every clip of a corpus split, computed once and kept in
//! memory as 16-bit fixed point (≈128 KB per 10 s clip).

use indicatif::ProgressBar;
use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_features::{EXAMPLE_FRAMES, LogMelFrontend, MEL_BANDS};
use insrec_synth::SynthCorpus;
use rayon::prelude::*;

use super::error::{Result, TrainError};

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

/// Log-mel rows and frame labels of a set of clips.
pub struct MelBank {
    rows: Vec<u16>,
    labels: Vec<[[bool; NUM_CLASSES]; FRAMES_PER_CLIP]>,
}

impl MelBank {
    /// Reads and analyses the clips `indices` of `corpus` in parallel.
    pub fn load(corpus: &SynthCorpus, indices: &[usize], bar: &ProgressBar) -> Result<Self> {
        let per_clip: Vec<Vec<u16>> = indices
            .par_iter()
            .map(|&i| {
                let audio = corpus.read_audio(i)?;
                let samples: Vec<f64> = audio.iter().map(|&s| f64::from(s)).collect();
                let mut rows = Vec::with_capacity(ROWS_PER_CLIP * MEL_BANDS);
                LogMelFrontend::new().push_frames(&samples, |frame| {
                    rows.extend(frame.iter().map(|&v| quantise(v)))
                });
                bar.inc(1);
                if rows.len() != ROWS_PER_CLIP * MEL_BANDS {
                    return Err(TrainError::BadClip {
                        path: corpus.wav_path(i),
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
            labels: indices.iter().map(|&i| corpus.frame_labels(i)).collect(),
        })
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the bank holds no clip.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Frame labels of clip `clip`.
    pub fn labels(&self, clip: usize) -> &[[bool; NUM_CLASSES]; FRAMES_PER_CLIP] {
        &self.labels[clip]
    }

    /// Writes the clip's ten examples starting `offset` rows late into `out` (10 × 96 × 64 log-mel).
    pub fn examples(&self, clip: usize, offset: usize, out: &mut [f32]) {
        let start = (clip * ROWS_PER_CLIP + offset) * MEL_BANDS;
        let len = FRAMES_PER_CLIP * EXAMPLE_FRAMES * MEL_BANDS;
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
