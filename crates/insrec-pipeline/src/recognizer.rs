//! [`Recognizer`]: an encoder and a head, run over a streamed file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use insrec_audio::{AudioSource, AudioStream, StreamOptions};
use insrec_core::{FRAME_SECONDS, FileReport, FrameScores, NUM_CLASSES};
use insrec_features::{EXAMPLE_LEN, Examples, LogMelFrontend};

use crate::{PipelineError, Result, file_scores, merge_half_frame_view, present, smooth_timeline};

/// Examples encoded per encoder call.
const ENCODE_BATCH: usize = 64;

/// Stage 4: log-mel examples → one embedding per example.
pub trait FrameEncoder: Send + Sync {
    /// Width of one embedding.
    fn dim(&self) -> usize;
    /// `examples`: `[n, 96, 64]` row-major; returns `[n, dim]` row-major.
    fn encode(&self, examples: &[f32]) -> std::result::Result<Vec<f32>, String>;
}

/// Stage 5: the embeddings of a whole file → per-frame class probabilities in [0, 1].
pub trait FrameHead: Send + Sync {
    /// `embeddings`: `[n, dim]` row-major; returns `n` frames of 20 probabilities.
    fn frame_probabilities(
        &self,
        embeddings: &[f32],
        dim: usize,
    ) -> std::result::Result<Vec<[f32; NUM_CLASSES]>, String>;
}

/// Per-call options.
#[derive(Debug, Default)]
pub struct AnalyzeOptions<'a> {
    /// Polled between batches; when set, the analysis stops with [`PipelineError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// A complete recogniser: front-end settings, encoder, head and per-class decision thresholds.
pub struct Recognizer {
    pub name: String,
    pub stream: StreamOptions,
    pub encoder: Box<dyn FrameEncoder>,
    pub head: Box<dyn FrameHead>,
    pub thresholds: [f32; NUM_CLASSES],
    /// Also encode the examples of the half-frame view (the grid started 0.48 s later) and merge
    /// their frame probabilities in ([`merge_half_frame_view`]): twice the encoder's work.
    pub half_frame_view: bool,
}

impl Recognizer {
    /// Analyses one file or upload: overall scores, classes present and a 0.96 s timeline.
    pub fn analyze(
        &self,
        source: &AudioSource,
        options: &AnalyzeOptions<'_>,
    ) -> Result<FileReport> {
        let path = source.name();
        let cancelled = || options.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
        let mut stream = AudioStream::open(source, self.stream)?.decode_ahead();
        // Three overlapping stages: decoding on its own thread, resampling + log-mel on a second,
        // encoding on this one.
        let (batches, received) = mpsc::sync_channel::<(Vec<f32>, Vec<f32>)>(2);
        let (front_end, encoded) = std::thread::scope(|scope| {
            let producer = scope.spawn(|| -> Result<f64> {
                let mut frontend = LogMelFrontend::new();
                let mut block = Vec::new();
                let (mut examples, mut shifted) = (Examples::default(), Examples::default());
                loop {
                    if cancelled() {
                        return Err(PipelineError::Cancelled { path: path.clone() });
                    }
                    let more = stream.next_block(&mut block)?;
                    if self.half_frame_view {
                        frontend.push_views(&block, &mut examples, &mut shifted);
                    } else {
                        frontend.push(&block, &mut examples);
                    }
                    block.clear();
                    let full = examples.count() >= ENCODE_BATCH;
                    if (full || (!more && examples.count() > 0))
                        && batches
                            .send((
                                std::mem::take(&mut examples.data),
                                std::mem::take(&mut shifted.data),
                            ))
                            .is_err()
                    {
                        // The encoder stopped on an error; it reports it.
                        break;
                    }
                    if !more {
                        break;
                    }
                }
                drop(batches);
                Ok(stream.decoded_seconds())
            });
            let encoded = received.iter().try_fold(
                (Vec::new(), Vec::new()),
                |(mut all, mut all_shifted), (batch, shifted)| {
                    // One call per view: a batch of both would double the encoder's peak memory.
                    all.extend(self.encode(&batch)?);
                    if !shifted.is_empty() {
                        all_shifted.extend(self.encode(&shifted)?);
                    }
                    Ok::<_, PipelineError>((all, all_shifted))
                },
            );
            drop(received);
            let front_end = producer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (front_end, encoded)
        });
        let duration_s = front_end?;
        let (embeddings, shifted) = encoded?;
        if embeddings.is_empty() {
            return Err(PipelineError::TooShort {
                path,
                seconds: duration_s,
            });
        }
        let mut frames = self.frame_probabilities(&embeddings)?;
        if !shifted.is_empty() {
            frames = merge_half_frame_view(&frames, &self.frame_probabilities(&shifted)?);
        }
        let frames = smooth_timeline(&frames);
        let scores = file_scores(&frames);
        Ok(FileReport {
            path,
            duration_s,
            present: present(&scores, &self.thresholds),
            scores,
            frames: frames
                .into_iter()
                .enumerate()
                .map(|(i, scores)| FrameScores {
                    start_s: i as f64 * FRAME_SECONDS,
                    scores,
                })
                .collect(),
            error: None,
        })
    }

    fn encode(&self, examples: &[f32]) -> Result<Vec<f32>> {
        let n = examples.len() / EXAMPLE_LEN;
        let out = self
            .encoder
            .encode(examples)
            .map_err(|reason| self.model_error(reason))?;
        if out.len() != n * self.encoder.dim() {
            return Err(self.model_error(format!(
                "encoder returned {} values for {n} examples",
                out.len()
            )));
        }
        Ok(out)
    }

    fn frame_probabilities(&self, embeddings: &[f32]) -> Result<Vec<[f32; NUM_CLASSES]>> {
        self.head
            .frame_probabilities(embeddings, self.encoder.dim())
            .map_err(|reason| self.model_error(reason))
    }

    fn model_error(&self, reason: String) -> PipelineError {
        PipelineError::Model {
            model: self.name.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::sync::Arc;

    use super::*;

    /// Mean of each example as a 1-d embedding; fails when asked to.
    struct MeanEncoder {
        fail: bool,
    }

    impl FrameEncoder for MeanEncoder {
        fn dim(&self) -> usize {
            1
        }

        fn encode(&self, examples: &[f32]) -> std::result::Result<Vec<f32>, String> {
            if self.fail {
                return Err("weights are broken".into());
            }
            Ok(examples
                .chunks_exact(EXAMPLE_LEN)
                .map(|e| e.iter().sum::<f32>() / EXAMPLE_LEN as f32)
                .collect())
        }
    }

    struct ConstantHead;

    impl FrameHead for ConstantHead {
        fn frame_probabilities(
            &self,
            embeddings: &[f32],
            dim: usize,
        ) -> std::result::Result<Vec<[f32; NUM_CLASSES]>, String> {
            Ok(vec![[0.25; NUM_CLASSES]; embeddings.len() / dim])
        }
    }

    fn recognizer(fail: bool) -> Recognizer {
        Recognizer {
            name: "test".into(),
            stream: StreamOptions::default(),
            encoder: Box::new(MeanEncoder { fail }),
            head: Box::new(ConstantHead),
            thresholds: [0.5; NUM_CLASSES],
            half_frame_view: false,
        }
    }

    /// `seconds` of a 440 Hz tone as a 16 kHz mono 16-bit WAV.
    fn tone(seconds: f64) -> AudioSource {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("wav writer");
        for i in 0..(seconds * 16_000.0) as usize {
            let t = i as f64 / 16_000.0;
            let sample = (0.3 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() * 32_767.0) as i16;
            writer.write_sample(sample).expect("sample");
        }
        writer.finalize().expect("finalize");
        AudioSource::Bytes {
            name: "tone.wav".into(),
            data: Arc::from(bytes.into_inner()),
        }
    }

    #[test]
    fn long_files_give_one_frame_per_example_across_many_batches() {
        // 200 s: 208 examples, four encoder batches.
        let report = recognizer(false)
            .analyze(&tone(200.0), &AnalyzeOptions::default())
            .expect("analysis");
        assert_eq!(report.frames.len(), 208);
        assert!((report.duration_s - 200.0).abs() < 1e-6);
        assert!((report.frames[207].start_s - 207.0 * FRAME_SECONDS).abs() < 1e-9);
    }

    #[test]
    fn an_encoder_error_ends_the_analysis_without_hanging() {
        let err = recognizer(true)
            .analyze(&tone(200.0), &AnalyzeOptions::default())
            .expect_err("broken encoder");
        assert!(matches!(err, PipelineError::Model { .. }), "{err}");
        assert!(err.to_string().contains("weights are broken"), "{err}");
    }

    #[test]
    fn a_cancelled_analysis_stops() {
        let cancel = AtomicBool::new(true);
        let err = recognizer(false)
            .analyze(
                &tone(30.0),
                &AnalyzeOptions {
                    cancel: Some(&cancel),
                },
            )
            .expect_err("cancelled");
        assert!(matches!(err, PipelineError::Cancelled { .. }), "{err}");
    }

    #[test]
    fn too_short_and_corrupt_inputs_are_input_errors() {
        let short = recognizer(false)
            .analyze(&tone(0.5), &AnalyzeOptions::default())
            .expect_err("too short");
        assert!(matches!(short, PipelineError::TooShort { .. }), "{short}");
        let garbage = AudioSource::Bytes {
            name: "noise.mp3".into(),
            data: Arc::from(vec![0x55u8; 4096]),
        };
        let corrupt = recognizer(false)
            .analyze(&garbage, &AnalyzeOptions::default())
            .expect_err("garbage");
        assert!(corrupt.is_bad_input(), "{corrupt}");
    }
}
