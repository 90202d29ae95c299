//! [`Recognizer`]: an encoder and a head, run over a streamed file.

use std::sync::atomic::{AtomicBool, Ordering};

use insrec_audio::{AudioSource, AudioStream, StreamOptions};
use insrec_core::{FRAME_SECONDS, FileReport, FrameScores, NUM_CLASSES};
use insrec_features::{EXAMPLE_LEN, Examples, LogMelFrontend};

use crate::{PipelineError, Result, file_scores, present};

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
        let mut stream = AudioStream::open(source, self.stream)?;
        let mut frontend = LogMelFrontend::new();
        let (mut block, mut examples, mut embeddings) =
            (Vec::new(), Examples::default(), Vec::new());
        loop {
            if cancelled() {
                return Err(PipelineError::Cancelled { path });
            }
            let more = stream.next_block(&mut block)?;
            frontend.push(&block, &mut examples);
            block.clear();
            if examples.count() >= ENCODE_BATCH || (!more && examples.count() > 0) {
                embeddings.extend(self.encode(&examples.data)?);
                examples.data.clear();
            }
            if !more {
                break;
            }
        }
        let duration_s = stream.decoded_seconds();
        let dim = self.encoder.dim();
        if embeddings.is_empty() {
            return Err(PipelineError::TooShort {
                path,
                seconds: duration_s,
            });
        }
        let frames = self
            .head
            .frame_probabilities(&embeddings, dim)
            .map_err(|reason| self.model_error(reason))?;
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

    fn model_error(&self, reason: String) -> PipelineError {
        PipelineError::Model {
            model: self.name.clone(),
            reason,
        }
    }
}
