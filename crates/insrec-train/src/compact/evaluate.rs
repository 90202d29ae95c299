//! Clip- and frame-level metrics of a compact model on a [`MelBank`].

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_encoders::compact::CompactModel;
use insrec_eval::{OfficialMetrics, Predictions};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use insrec_pipeline::file_scores;
use serde::{Deserialize, Serialize};

use super::augment::ITEM_LEN;
use super::bank::MelBank;
use super::error::Result;

const BATCH: usize = 64;

/// Per-frame probabilities `[clip][frame][class]` of every clip of `bank` (examples at offset 0).
pub fn frame_probabilities(
    model: &CompactModel,
    bank: &MelBank,
    device: &Device,
) -> Vec<[[f32; NUM_CLASSES]; FRAMES_PER_CLIP]> {
    let mut out = Vec::with_capacity(bank.len());
    let mut buffer = vec![0.0f32; BATCH * ITEM_LEN];
    for start in (0..bank.len()).step_by(BATCH) {
        let n = BATCH.min(bank.len() - start);
        for (i, item) in buffer.chunks_exact_mut(ITEM_LEN).take(n).enumerate() {
            bank.examples(start + i, 0, item);
        }
        let input = Tensor::<4>::from_data(
            TensorData::new(
                buffer[..n * ITEM_LEN].to_vec(),
                [n, FRAMES_PER_CLIP, EXAMPLE_FRAMES, MEL_BANDS],
            ),
            device,
        );
        let probs: Vec<f32> = sigmoid(model.forward(input))
            .into_data()
            .iter::<f32>()
            .collect();
        out.extend(
            probs
                .chunks_exact(FRAMES_PER_CLIP * NUM_CLASSES)
                .map(|clip| {
                    std::array::from_fn(|f| std::array::from_fn(|c| clip[f * NUM_CLASSES + c]))
                }),
        );
    }
    out
}

/// Clip predictions (file scores as the pipeline computes them) and frame predictions.
pub struct SplitPredictions {
    pub clips: Predictions,
    pub frames: Predictions,
}

impl SplitPredictions {
    pub fn new(model: &CompactModel, bank: &MelBank, device: &Device) -> Result<Self> {
        let all_known = [true; NUM_CLASSES];
        let relevance = |row: &[bool; NUM_CLASSES]| row.map(|l| f32::from(u8::from(l)));
        let (mut clips, mut frames) = (Predictions::new(), Predictions::new());
        for (i, probs) in frame_probabilities(model, bank, device).iter().enumerate() {
            let labels = bank.labels(i);
            let clip_labels: [bool; NUM_CLASSES] =
                std::array::from_fn(|c| labels.iter().any(|f| f[c]));
            let scores = file_scores(probs);
            clips.push(scores.0, relevance(&clip_labels), all_known)?;
            for (p, l) in probs.iter().zip(labels) {
                frames.push(*p, relevance(l), all_known)?;
            }
        }
        Ok(Self { clips, frames })
    }
}

/// Headline numbers of a split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Clip-level metrics at the given thresholds.
    pub clip: OfficialMetrics,
    /// Frame-level macro mAP.
    pub frame_map: Option<f64>,
}

impl SplitMetrics {
    pub fn new(predictions: &SplitPredictions, thresholds: &[f32; NUM_CLASSES]) -> Result<Self> {
        Ok(Self {
            clip: insrec_eval::official::evaluate(&predictions.clips, thresholds)?,
            frame_map: insrec_eval::official::evaluate(&predictions.frames, thresholds)?
                .mean_average_precision,
        })
    }
}
