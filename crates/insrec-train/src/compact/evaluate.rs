//! Clip- and frame-level metrics of a [`Network`] on a [`MelBank`] (frame-level only where the
//! clips have frame labels).

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_encoders::compact::CompactModel;
use insrec_eval::{OfficialMetrics, Predictions};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use insrec_pipeline::{file_scores, smooth_timeline};
use serde::{Deserialize, Serialize};

use super::augment::ITEM_LEN;
use super::bank::MelBank;
use super::data::{ClipLabels, ClipSet};
use super::error::Result;
use super::network::Network;

const BATCH: usize = 64;

/// Probabilities of one clip: per frame from the frame head, and from the classifier when the
/// network has one.
struct ClipProbabilities {
    frames: [[f32; NUM_CLASSES]; FRAMES_PER_CLIP],
    classifier: Option<[f32; NUM_CLASSES]>,
}

/// Probabilities of every clip of `bank` (examples at offset 0).
fn probabilities(
    network: &Network,
    bank: &MelBank,
    device: &Device,
) -> Result<Vec<ClipProbabilities>> {
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
        let outputs = network.forward(input)?;
        let frames = sigmoid_values(outputs.frames);
        let clips = outputs.clips.map(sigmoid_values);
        for (i, clip) in frames
            .chunks_exact(FRAMES_PER_CLIP * NUM_CLASSES)
            .enumerate()
        {
            out.push(ClipProbabilities {
                frames: std::array::from_fn(|f| std::array::from_fn(|c| clip[f * NUM_CLASSES + c])),
                classifier: clips
                    .as_ref()
                    .map(|p| std::array::from_fn(|c| p[i * NUM_CLASSES + c])),
            });
        }
    }
    Ok(out)
}

/// The sigmoid of `logits`, flattened.
fn sigmoid_values<const D: usize>(logits: Tensor<D>) -> Vec<f32> {
    sigmoid(logits).into_data().iter::<f32>().collect()
}

/// Clip predictions, and frame predictions where the clips have frame labels, both as
/// `insrec analyze` reports them: frames are the smoothed timeline of the frame head's, a clip's
/// scores the classifier's when the network has one, else the file scores made of that timeline.
pub struct SplitPredictions {
    pub clips: Predictions,
    pub frames: Option<Predictions>,
}

impl SplitPredictions {
    pub fn new(network: &Network, bank: &MelBank, device: &Device) -> Result<Self> {
        let all_known = [true; NUM_CLASSES];
        let relevance = |row: &[bool; NUM_CLASSES]| row.map(|l| f32::from(u8::from(l)));
        let mut clips = Predictions::new();
        let mut frames = match bank.labels() {
            ClipLabels::Frames(_) => Some(Predictions::new()),
            ClipLabels::Clips(_) => None,
        };
        for (i, probs) in probabilities(network, bank, device)?.iter().enumerate() {
            let timeline = smooth_timeline(&probs.frames);
            let scores = probs.classifier.unwrap_or_else(|| file_scores(&timeline).0);
            match bank.labels() {
                ClipLabels::Frames(labels) => {
                    let labels = &labels[i];
                    let clip_labels: [bool; NUM_CLASSES] =
                        std::array::from_fn(|c| labels.iter().any(|f| f[c]));
                    clips.push(scores, relevance(&clip_labels), all_known)?;
                    if let Some(frames) = &mut frames {
                        for (p, l) in timeline.iter().zip(labels) {
                            frames.push(*p, relevance(l), all_known)?;
                        }
                    }
                }
                ClipLabels::Clips(labels) => {
                    clips.push(scores, labels[i].relevance, labels[i].mask)?;
                }
            }
        }
        Ok(Self { clips, frames })
    }
}

/// Predictions of a trained compact model (encoder + frame head, e.g. the embedded default) on
/// the first 10 s of each of `clips`, scored as `insrec analyze` scores a file.
pub fn predict(model: CompactModel, clips: &ClipSet, device: &Device) -> Result<SplitPredictions> {
    let bank = MelBank::load(clips, "log-mel")?;
    let network = Network {
        compact: model,
        classifier: None,
        presets: None,
    };
    SplitPredictions::new(&network, &bank, device)
}

/// Headline numbers of a split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// Clip-level metrics at the given thresholds.
    pub clip: OfficialMetrics,
    /// Frame-level macro mAP (clips with frame labels only).
    pub frame_map: Option<f64>,
}

impl SplitMetrics {
    pub fn new(predictions: &SplitPredictions, thresholds: &[f32; NUM_CLASSES]) -> Result<Self> {
        Ok(Self {
            clip: insrec_eval::official::evaluate(&predictions.clips, thresholds)?,
            frame_map: match &predictions.frames {
                Some(frames) => {
                    insrec_eval::official::evaluate(frames, thresholds)?.mean_average_precision
                }
                None => None,
            },
        })
    }
}
