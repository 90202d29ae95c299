//! Mini-batches of embedding clips and the random streams of training.
//!
//! Every random choice is a pure function of `(seed, epoch, step)`: the epoch's shuffle comes from
//! a ChaCha8 generator seeded with [`stream_seed`]`(seed, epoch, SHUFFLE)`, and the backend
//! generator (dropout, the random models' draws) is re-seeded before every training step and
//! before validation. The epoch counter is therefore the whole RNG position of a checkpoint.

use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_data::{CLIP_FEATURES, Dataset, Input, Labels};
use insrec_zoo::SequenceInput;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::error::{Result, TrainError};
use crate::loss::LossKind;

/// Stream index of the epoch shuffle.
const SHUFFLE: u64 = u64::MAX;
/// Stream index of the validation pass.
pub const VALIDATION: u64 = u64::MAX - 1;

/// One batch on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `x [batch, 10, 128]`.
    pub input: SequenceInput,
    /// Loss targets and weights `[batch, 20]` (see [`LossKind::targets`]).
    pub targets: Tensor<2>,
    pub weights: Tensor<2>,
    /// Sum of `weights`: the number of terms the loss averages over.
    pub weight_sum: f64,
    /// The clips' labels, for metrics.
    pub labels: Vec<Labels>,
}

impl Batch {
    /// Gathers `rows` of `dataset`, whose clips must carry embeddings.
    pub fn gather(
        dataset: &dyn Dataset,
        rows: &[usize],
        loss: LossKind,
        device: &Device,
    ) -> Result<Self> {
        let mut x = Vec::with_capacity(rows.len() * CLIP_FEATURES);
        let mut targets = Vec::with_capacity(rows.len() * NUM_CLASSES);
        let mut weights = Vec::with_capacity(rows.len() * NUM_CLASSES);
        let mut labels = Vec::with_capacity(rows.len());
        for &row in rows {
            let item = dataset.get(row).ok_or_else(|| {
                TrainError::Data(insrec_data::Error::RowOutOfRange {
                    dataset: dataset.name(),
                    row,
                    len: dataset.len(),
                })
            })?;
            let Input::Features(features) = item.input else {
                return Err(TrainError::NeedsEmbeddings {
                    dataset: dataset.name(),
                    key: item.key.to_owned(),
                });
            };
            x.extend_from_slice(features);
            let (t, w) = loss.targets(&item.labels);
            targets.extend_from_slice(&t);
            weights.extend_from_slice(&w);
            labels.push(item.labels);
        }
        let n = rows.len();
        let weight_sum = weights.iter().map(|&w| f64::from(w)).sum();
        let x = Tensor::<3>::from_data(
            TensorData::new(x, [n, FRAMES_PER_CLIP, EMBEDDING_DIM]),
            device,
        );
        let table = |values: Vec<f32>| {
            Tensor::<2>::from_data(TensorData::new(values, [n, NUM_CLASSES]), device)
        };
        Ok(Self {
            input: SequenceInput::new(x)?,
            targets: table(targets),
            weights: table(weights),
            weight_sum,
            labels,
        })
    }
}

/// The rows `0..len` in the training order of `epoch`.
pub fn epoch_order(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(seed, epoch, SHUFFLE));
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        // Lemire's multiply-shift: uniform in 0..=i up to a bias below 2^-40 for i < 2^24.
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

/// The seed of stream `stream` (a step index, or [`VALIDATION`]) of `epoch`.
pub fn stream_seed(seed: u64, epoch: usize, stream: u64) -> u64 {
    splitmix64(splitmix64(seed ^ splitmix64(epoch as u64)) ^ stream)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use insrec_data::FeatureSet;

    use super::*;

    #[test]
    fn epoch_orders_are_permutations_that_differ_by_epoch_and_seed() {
        let a = epoch_order(100, 1, 0);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(100, 1, 0));
        assert_ne!(a, epoch_order(100, 1, 1));
        assert_ne!(a, epoch_order(100, 2, 0));
        assert!(epoch_order(0, 1, 0).is_empty());
    }

    #[test]
    fn gather_builds_targets_for_the_loss() -> Result<()> {
        let mut labels = Labels {
            relevance: [0.5; NUM_CLASSES],
            mask: [false; NUM_CLASSES],
        };
        (labels.relevance[3], labels.mask[3]) = (0.9, true);
        (labels.relevance[4], labels.mask[4]) = (0.1, true);
        let features: Vec<f32> = (0..2 * CLIP_FEATURES).map(|v| v as f32).collect();
        let set = FeatureSet::new("t", vec!["a".into(), "b".into()], features, vec![labels; 2])?;
        let device = Device::flex();
        let batch = Batch::gather(&set, &[1], LossKind::MaskedBce, &device)?;
        assert_eq!(batch.input.x.dims(), [1, 10, 128]);
        let first = batch
            .input
            .x
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()[0];
        assert_eq!(first, CLIP_FEATURES as f32, "row 1 starts after row 0");
        assert_eq!(batch.weight_sum, 2.0);
        let seed = Batch::gather(&set, &[0, 1], LossKind::SeedCe, &device)?;
        assert_eq!(seed.weight_sum, 2.0, "one term per clip");
        Ok(())
    }
}
