//! Clip- and frame-level metrics of a [`Network`] on a [`MelBank`] (frame-level only where the
//! clips have frame labels).

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_encoders::compact::CompactModel;
use insrec_eval::{OfficialMetrics, Predictions};
use insrec_features::{EXAMPLE_FRAMES, EXAMPLE_LEN, HALF_EXAMPLE_FRAMES, MEL_BANDS};
use insrec_pipeline::{file_scores, merge_half_frame_view, smooth_timeline};
use insrec_zoo::SequenceInput;
use serde::{Deserialize, Serialize};

use super::augment::ITEM_LEN;
use super::bank::MelBank;
use super::data::{ClipLabels, ClipSet};
use super::error::Result;
use super::network::Network;

const BATCH: usize = 64;

/// Frames of a clip's half-frame view: the examples starting 48 log-mel rows in that fit its 998.
const SHIFTED_FRAMES: usize = FRAMES_PER_CLIP - 1;

/// How a split's clips are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Views {
    /// The clip's 10 examples (the per-epoch validation: half the encoder's work).
    Base,
    /// Also its half-frame view, merged in as `insrec analyze` does.
    WithHalfFrame,
}

/// Embeddings of every clip of a bank: `[clips, 10, dim]`, and `[clips, 9, dim]` of the
/// half-frame view when asked for.
pub struct Embedded {
    base: Vec<f32>,
    shifted: Option<Vec<f32>>,
    dim: usize,
    labels: ClipLabels,
}

impl Embedded {
    pub fn new(network: &Network, bank: &MelBank, views: Views, device: &Device) -> Self {
        let mut base = Vec::new();
        let mut shifted = (views == Views::WithHalfFrame).then(Vec::new);
        let mut buffer = vec![0.0f32; BATCH * ITEM_LEN];
        for start in (0..bank.len()).step_by(BATCH) {
            let n = BATCH.min(bank.len() - start);
            for (i, item) in buffer.chunks_exact_mut(ITEM_LEN).take(n).enumerate() {
                bank.examples(start + i, 0, item);
            }
            base.extend(embed(
                network,
                &buffer[..n * ITEM_LEN],
                FRAMES_PER_CLIP,
                device,
            ));
            if let Some(shifted) = &mut shifted {
                let len = SHIFTED_FRAMES * EXAMPLE_LEN;
                for (i, item) in buffer.chunks_exact_mut(len).take(n).enumerate() {
                    bank.examples_at(start + i, HALF_EXAMPLE_FRAMES, SHIFTED_FRAMES, item);
                }
                shifted.extend(embed(network, &buffer[..n * len], SHIFTED_FRAMES, device));
            }
        }
        let dim = base.len() / (bank.len() * FRAMES_PER_CLIP).max(1);
        Self {
            base,
            shifted,
            dim,
            labels: bank.labels().clone(),
        }
    }

    fn clips(&self) -> usize {
        self.base.len() / (FRAMES_PER_CLIP * self.dim).max(1)
    }

    /// `[n, frames, dim]` embeddings of clips `start..start + n` of a view.
    fn batch(
        &self,
        view: &[f32],
        frames: usize,
        start: usize,
        n: usize,
        device: &Device,
    ) -> Tensor<3> {
        let len = frames * self.dim;
        Tensor::<3>::from_data(
            TensorData::new(
                view[start * len..(start + n) * len].to_vec(),
                [n, frames, self.dim],
            ),
            device,
        )
    }
}

/// The encoder's embeddings of `examples` (`[clips, frames, 96, 64]`), flattened.
fn embed(network: &Network, examples: &[f32], frames: usize, device: &Device) -> Vec<f32> {
    let n = examples.len() / (frames * EXAMPLE_LEN);
    let input = Tensor::<4>::from_data(
        TensorData::new(examples.to_vec(), [n, frames, EXAMPLE_FRAMES, MEL_BANDS]),
        device,
    );
    network
        .compact
        .embed(input)
        .into_data()
        .iter::<f32>()
        .collect()
}

/// Probabilities of one clip: per frame from the frame head (merged with the half-frame view's
/// when there is one), and from the classifier when the network has one.
struct ClipProbabilities {
    frames: Vec<[f32; NUM_CLASSES]>,
    classifier: Option<[f32; NUM_CLASSES]>,
}

/// Probabilities of every clip of `embedded` from `network`'s heads.
fn probabilities(
    network: &Network,
    embedded: &Embedded,
    device: &Device,
) -> Result<Vec<ClipProbabilities>> {
    let clips = embedded.clips();
    let mut out = Vec::with_capacity(clips);
    for start in (0..clips).step_by(BATCH) {
        let n = BATCH.min(clips - start);
        let base = embedded.batch(&embedded.base, FRAMES_PER_CLIP, start, n, device);
        let frames = rows(sigmoid_values(network.compact.head.forward(base.clone())));
        let shifted = match &embedded.shifted {
            Some(view) => {
                let input = embedded.batch(view, SHIFTED_FRAMES, start, n, device);
                Some(rows(sigmoid_values(network.compact.head.forward(input))))
            }
            None => None,
        };
        let classifier = match &network.classifier {
            Some(classifier) => {
                let input = SequenceInput::new(base).map_err(crate::error::TrainError::from)?;
                Some(sigmoid_values(classifier.forward(&input)))
            }
            None => None,
        };
        for i in 0..n {
            let own = &frames[i * FRAMES_PER_CLIP..(i + 1) * FRAMES_PER_CLIP];
            out.push(ClipProbabilities {
                frames: match &shifted {
                    Some(shifted) => merge_half_frame_view(
                        own,
                        &shifted[i * SHIFTED_FRAMES..(i + 1) * SHIFTED_FRAMES],
                    ),
                    None => own.to_vec(),
                },
                classifier: classifier
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

/// Flat probabilities as rows of 20.
fn rows(values: Vec<f32>) -> Vec<[f32; NUM_CLASSES]> {
    values
        .chunks_exact(NUM_CLASSES)
        .map(|c| std::array::from_fn(|j| c[j]))
        .collect()
}

/// Clip predictions, and frame predictions where the clips have frame labels, both as
/// `insrec analyze` reports them: frames are the smoothed timeline of the frame head's, a clip's
/// scores the classifier's when the network has one, else the file scores made of that timeline.
pub struct SplitPredictions {
    pub clips: Predictions,
    pub frames: Option<Predictions>,
}

impl SplitPredictions {
    pub fn new(network: &Network, bank: &MelBank, views: Views, device: &Device) -> Result<Self> {
        Self::of_embedded(
            network,
            &Embedded::new(network, bank, views, device),
            device,
        )
    }

    /// Predictions of `network`'s heads on embeddings computed before (by the same encoder).
    pub fn of_embedded(network: &Network, embedded: &Embedded, device: &Device) -> Result<Self> {
        let all_known = [true; NUM_CLASSES];
        let relevance = |row: &[bool; NUM_CLASSES]| row.map(|l| f32::from(u8::from(l)));
        let mut clips = Predictions::new();
        let mut frames = match &embedded.labels {
            ClipLabels::Frames(_) => Some(Predictions::new()),
            ClipLabels::Clips(_) => None,
        };
        for (i, probs) in probabilities(network, embedded, device)?.iter().enumerate() {
            let timeline = smooth_timeline(&probs.frames);
            let scores = probs.classifier.unwrap_or_else(|| file_scores(&timeline).0);
            match &embedded.labels {
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
/// the first 10 s of each of `clips`, scored as `insrec analyze` scores a file (half-frame view
/// included).
pub fn predict(model: CompactModel, clips: &ClipSet, device: &Device) -> Result<SplitPredictions> {
    let bank = MelBank::load(clips, "log-mel")?;
    let network = Network {
        compact: model,
        classifier: None,
        presets: None,
    };
    SplitPredictions::new(&network, &bank, Views::WithHalfFrame, device)
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
