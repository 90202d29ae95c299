//! A trained zoo classifier behind a frame encoder, as a [`Recognizer`] for `insrec analyze`:
//! the classifier reads 10-frame windows, slid one frame at a time over the file, and each
//! frame's score is the mean over the windows that contain it.

use std::sync::Mutex;

use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_pipeline::{FrameHead, Recognizer};
use insrec_zoo::{Classifier, SequenceInput};

use crate::embed::Encoder;
use crate::evaluate::{TrainedModel, probabilities};
use crate::loss::LossKind;

/// Windows scored per forward pass.
const WINDOW_BATCH: usize = 256;

/// `model` reading the embeddings of `encoder` (the encoder it was trained on), with 0.5 as
/// every class's threshold.
pub fn zoo_recognizer(model: TrainedModel, encoder: Encoder, device: Device) -> Recognizer {
    let name = match &model.run {
        Some(run) => format!("{} ({}) on {}", run.model, model.path.display(), encoder.id),
        None => format!("{} on {}", model.path.display(), encoder.id),
    };
    let loss = model.loss();
    Recognizer {
        name,
        stream: encoder.stream,
        encoder: encoder.frame_encoder,
        head: Box::new(WindowedHead {
            classifier: Mutex::new(model.classifier),
            loss,
            device,
        }),
        thresholds: [0.5; NUM_CLASSES],
        half_frame_view: false,
    }
}

/// Slides the classifier's 10-frame window over a file's embeddings.
struct WindowedHead {
    classifier: Mutex<Classifier>,
    loss: LossKind,
    device: Device,
}

impl WindowedHead {
    /// Probabilities `[windows, 20]` of the windows starting at `starts` (a file shorter than
    /// one window is zero-padded and masked).
    fn score(
        &self,
        embeddings: &[f32],
        frames: usize,
        starts: &[usize],
    ) -> Result<Vec<f32>, String> {
        let window_len = FRAMES_PER_CLIP * EMBEDDING_DIM;
        let mut x = vec![0.0; starts.len() * window_len];
        let mut mask = vec![0.0; starts.len() * FRAMES_PER_CLIP];
        for (i, &start) in starts.iter().enumerate() {
            let end = (start + FRAMES_PER_CLIP).min(frames);
            let values = &embeddings[start * EMBEDDING_DIM..end * EMBEDDING_DIM];
            x[i * window_len..i * window_len + values.len()].copy_from_slice(values);
            mask[i * FRAMES_PER_CLIP..i * FRAMES_PER_CLIP + end - start].fill(1.0);
        }
        let n = starts.len();
        let x = Tensor::<3>::from_data(
            TensorData::new(x, [n, FRAMES_PER_CLIP, EMBEDDING_DIM]),
            &self.device,
        );
        let mut input = SequenceInput::new(x).map_err(|e| e.to_string())?;
        input.x_mask = Some(Tensor::<2>::from_data(
            TensorData::new(mask, [n, FRAMES_PER_CLIP]),
            &self.device,
        ));
        let classifier = self
            .classifier
            .lock()
            .map_err(|_| "model lock poisoned by an earlier panic".to_owned())?;
        probabilities(classifier.forward(&input), self.loss)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))
    }
}

impl FrameHead for WindowedHead {
    fn frame_probabilities(
        &self,
        embeddings: &[f32],
        dim: usize,
    ) -> Result<Vec<[f32; NUM_CLASSES]>, String> {
        if dim != EMBEDDING_DIM || !embeddings.len().is_multiple_of(EMBEDDING_DIM) {
            return Err(format!(
                "the classifier reads {EMBEDDING_DIM}-wide embeddings, not {} values of width {dim}",
                embeddings.len()
            ));
        }
        let frames = embeddings.len() / EMBEDDING_DIM;
        if frames == 0 {
            return Ok(Vec::new());
        }
        let windows = frames.saturating_sub(FRAMES_PER_CLIP) + 1;
        let starts: Vec<usize> = (0..windows).collect();
        let mut sums = vec![[0.0f32; NUM_CLASSES]; frames];
        let mut counts = vec![0u32; frames];
        for chunk in starts.chunks(WINDOW_BATCH) {
            let probs = self.score(embeddings, frames, chunk)?;
            for (&start, p) in chunk.iter().zip(probs.chunks_exact(NUM_CLASSES)) {
                for f in start..(start + FRAMES_PER_CLIP).min(frames) {
                    for (s, v) in sums[f].iter_mut().zip(p) {
                        *s += v;
                    }
                    counts[f] += 1;
                }
            }
        }
        Ok(sums
            .into_iter()
            .zip(counts)
            .map(|(s, c)| s.map(|v| v / c as f32))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use insrec_zoo::ModelKind;

    use super::*;

    fn head() -> WindowedHead {
        let device = Device::flex();
        let config = ModelKind::DLinear.production_config();
        WindowedHead {
            classifier: Mutex::new(config.init(&device).expect("DLinear builds")),
            loss: LossKind::MaskedBce,
            device,
        }
    }

    fn assert_close(actual: &[f32], expected: &[f32]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{actual:?} vs {expected:?}");
        }
    }

    fn embeddings(frames: usize) -> Vec<f32> {
        (0..frames * EMBEDDING_DIM)
            .map(|i| ((i * 37 % 101) as f32 / 101.0) - 0.5)
            .collect()
    }

    #[test]
    fn one_window_gives_every_frame_the_clip_scores() {
        let head = head();
        let e = embeddings(FRAMES_PER_CLIP);
        let clip = head.score(&e, FRAMES_PER_CLIP, &[0]).expect("scores");
        let frames = head.frame_probabilities(&e, EMBEDDING_DIM).expect("frames");
        assert_eq!(frames.len(), FRAMES_PER_CLIP);
        for frame in &frames {
            assert_close(frame, &clip);
        }
    }

    #[test]
    fn frames_average_the_windows_that_contain_them() {
        let head = head();
        let n = 23;
        let e = embeddings(n);
        let frames = head.frame_probabilities(&e, EMBEDDING_DIM).expect("frames");
        assert_eq!(frames.len(), n);
        // Frame 0 is only in window 0; the last frame only in the last window.
        let first = head.score(&e, n, &[0]).expect("scores");
        let last = head.score(&e, n, &[n - FRAMES_PER_CLIP]).expect("scores");
        // (scored in a batch of 14 windows vs alone: equal up to rounding)
        assert_close(&frames[0], &first);
        assert_close(&frames[n - 1], &last);
        // Frame 5 is in windows 0..=5.
        let six = head.score(&e, n, &[0, 1, 2, 3, 4, 5]).expect("scores");
        for class in 0..NUM_CLASSES {
            let mean = (0..6).map(|w| six[w * NUM_CLASSES + class]).sum::<f32>() / 6.0;
            assert!((frames[5][class] - mean).abs() < 1e-6);
        }
    }

    #[test]
    fn short_files_are_padded_and_wrong_widths_refused() {
        let head = head();
        let frames = head
            .frame_probabilities(&embeddings(3), EMBEDDING_DIM)
            .expect("frames");
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
        assert!(
            head.frame_probabilities(&[], EMBEDDING_DIM)
                .expect("empty")
                .is_empty()
        );
        assert!(head.frame_probabilities(&[0.0; 64], 64).is_err());
    }
}
