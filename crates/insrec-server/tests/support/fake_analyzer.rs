//! A fake [`Analyzer`] for the API tests and the examples (fake server, browser check, load test): it reads
//! WAV with hound and derives deterministic scores from the audio.
//!
//! The fake maps each 0.96 s frame's pitch (estimated from zero crossings) to a class: semitones above
//! A0 modulo 20. Its scores fall off with the distance to that class and grow with loudness, so the page and
//! the API tests see a timeline that follows the content of the clip.

use std::io::Cursor;

use insrec_core::{ClassScores, FRAME_SECONDS, FileReport, FrameScores, NUM_CLASSES};
use insrec_server::{AnalyzeError, AnalyzeRequest, Analyzer, ModelInfo};

/// Deterministic stand-in for the pipeline. Model `fake-shifted` moves every class one index up.
#[derive(Debug, Default, Clone, Copy)]
pub struct FakeAnalyzer;

/// The models the fake offers, the default first.
pub const FAKE_MODELS: [&str; 2] = ["fake-default", "fake-shifted"];

/// Score at or above which the fake judges a class present.
const FAKE_THRESHOLD: f32 = 0.3;

impl Analyzer for FakeAnalyzer {
    fn models(&self) -> Vec<ModelInfo> {
        FAKE_MODELS
            .iter()
            .map(|name| ModelInfo {
                name: name.to_string(),
                description: format!("test stand-in ({name})"),
                available: true,
            })
            .collect()
    }

    fn analyze(&self, request: &AnalyzeRequest<'_>) -> Result<FileReport, AnalyzeError> {
        let shift = match request.model {
            "fake-default" => 0,
            "fake-shifted" => 1,
            other => {
                return Err(AnalyzeError::UnknownModel {
                    name: other.to_string(),
                    known: FAKE_MODELS.iter().map(|m| m.to_string()).collect(),
                });
            }
        };
        let (samples, sample_rate) = decode_wav(request.audio)?;
        let duration_s = samples.len() as f64 / f64::from(sample_rate);
        if duration_s > request.max_duration_s {
            return Err(AnalyzeError::LimitExceeded {
                reason: format!(
                    "audio is {duration_s:.1} s long; the limit is {} s",
                    request.max_duration_s
                ),
            });
        }
        let frame_len = ((FRAME_SECONDS * f64::from(sample_rate)) as usize).max(1);
        let mut frames = Vec::new();
        for (i, chunk) in samples.chunks(frame_len).enumerate() {
            if request.cancel.is_cancelled() {
                return Err(AnalyzeError::Cancelled);
            }
            frames.push(FrameScores {
                start_s: i as f64 * FRAME_SECONDS,
                scores: frame_scores(chunk, sample_rate, shift),
            });
        }
        let mut overall = [0.0f32; NUM_CLASSES];
        for frame in &frames {
            for (sum, s) in overall.iter_mut().zip(frame.scores) {
                *sum += s / frames.len() as f32;
            }
        }
        let scores = ClassScores(overall);
        let present = scores
            .ranked()
            .into_iter()
            .filter(|&(_, s)| s >= FAKE_THRESHOLD)
            .map(|(i, _)| i)
            .collect();
        Ok(FileReport {
            path: request.filename_hint.unwrap_or("upload").to_string(),
            duration_s,
            scores,
            present,
            frames,
            error: None,
        })
    }
}

/// Mono samples in [-1, 1] and the sample rate; not WAV is `Unsupported`, a broken WAV `Corrupt`.
fn decode_wav(bytes: &[u8]) -> Result<(Vec<f32>, u32), AnalyzeError> {
    if !bytes.starts_with(b"RIFF") {
        return Err(AnalyzeError::Unsupported {
            reason: "the fake analyzer reads only WAV".to_string(),
        });
    }
    let corrupt = |e: hound::Error| AnalyzeError::Corrupt {
        reason: e.to_string(),
    };
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).map_err(corrupt)?;
    let spec = reader.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(corrupt)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.max(1) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(corrupt)?
        }
    };
    let channels = usize::from(spec.channels.max(1));
    let mono = interleaved
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok((mono, spec.sample_rate))
}

/// Scores of one frame: a bump around the class of its pitch, scaled by loudness.
fn frame_scores(chunk: &[f32], sample_rate: u32, shift: usize) -> [f32; NUM_CLASSES] {
    let crossings = chunk
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    let hz = crossings as f64 * f64::from(sample_rate) / (2.0 * chunk.len() as f64);
    let rms = (chunk.iter().map(|s| s * s).sum::<f32>() / chunk.len() as f32).sqrt();
    let loudness = (rms * 3.0).min(1.0);
    let mut scores = [0.02f32; NUM_CLASSES];
    if hz > 20.0 {
        let semitones = (12.0 * (hz / 27.5).log2()).round() as i64;
        let class = (semitones + shift as i64).rem_euclid(NUM_CLASSES as i64) as usize;
        for (c, score) in scores.iter_mut().enumerate() {
            let d = c.abs_diff(class).min(NUM_CLASSES - c.abs_diff(class)) as f32;
            *score = (0.02 + 0.96 * loudness * (-d * d / 3.0).exp()).clamp(0.0, 1.0);
        }
    }
    scores
}
