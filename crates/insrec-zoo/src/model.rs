//! What every sequence classifier offers, and its input.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};

use crate::error::{Result, ZooError};

/// A classifier over one clip: [B, 10, 128] embeddings (+ optional [B, 10] mask) → [B, 20] logits.
pub trait ZooModel: Module {
    /// Logits of the 20 OpenMIC classes.
    ///
    /// # Shapes
    /// - input: see [`SequenceInput`]
    /// - output: `[batch_size, 20]`
    fn forward(&self, input: &SequenceInput) -> Tensor<2>;

    /// Name suffixes of checkpoint tensors this model deliberately ignores (besides the
    /// sinusoid tables `*.pe` and BatchNorm `*.num_batches_tracked`, which every model ignores).
    fn ignored_weights() -> &'static [&'static str] {
        &[]
    }

    /// `(regex, replacement)` pairs renaming PyTorch keys to burn module paths where a burn field
    /// cannot carry the PyTorch name (e.g. `encoder.norm.1.` of an `nn.Sequential` → `encoder.norm.`).
    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[]
    }
}

/// One batch of clips, shape-checked on entry.
#[derive(Debug, Clone)]
pub struct SequenceInput {
    /// Embeddings `[batch_size, 10, 128]` (`x_repr_time` in PyOmniTS).
    pub x: Tensor<3>,
    /// Per-second observation mask `[batch_size, 10]` (1 observed, 0 padding); `None` = all ones.
    pub x_mask: Option<Tensor<2>>,
    /// Random numbers recorded from PyTorch, in call order, replayed by the random models
    /// (Informer, Reformer, mTAN); empty = draw fresh ones.
    pub draws: Vec<TensorData>,
}

impl SequenceInput {
    /// Wraps `x`, checking that it is `[batch_size ≥ 1, 10, 128]`.
    pub fn new(x: Tensor<3>) -> Result<Self> {
        let dims = x.dims();
        if dims[0] == 0 || dims[1] != FRAMES_PER_CLIP || dims[2] != EMBEDDING_DIM {
            return Err(ZooError::InputShape {
                what: "x",
                found: dims.to_vec(),
                expected: format!("[batch_size ≥ 1, {FRAMES_PER_CLIP}, {EMBEDDING_DIM}]"),
            });
        }
        Ok(Self {
            x,
            x_mask: None,
            draws: Vec::new(),
        })
    }

    /// Adds the observation mask, checking that it is `[batch_size, 10]`.
    pub fn with_mask(mut self, x_mask: Tensor<2>) -> Result<Self> {
        let dims = x_mask.dims();
        if dims != [self.batch_size(), FRAMES_PER_CLIP] {
            return Err(ZooError::InputShape {
                what: "x_mask",
                found: dims.to_vec(),
                expected: format!("[{}, {FRAMES_PER_CLIP}]", self.batch_size()),
            });
        }
        self.x_mask = Some(x_mask);
        Ok(self)
    }

    /// Adds an observation mask at audio-sample resolution `[batch_size, 10 · sampling_rate]`
    /// (PyOmniTS `x_mask`), reduced as PyOmniTS does (models.md §1.2): second `t` is observed
    /// (1) iff any of its `sampling_rate` samples is non-zero, else 0.
    pub fn with_sample_mask(self, x_mask: Tensor<2>, sampling_rate: usize) -> Result<Self> {
        let dims = x_mask.dims();
        let batch = self.batch_size();
        if sampling_rate == 0 || dims != [batch, FRAMES_PER_CLIP * sampling_rate] {
            return Err(ZooError::InputShape {
                what: "x_mask",
                found: dims.to_vec(),
                expected: format!("[{batch}, {FRAMES_PER_CLIP} · sampling_rate ≥ 1]"),
            });
        }
        let per_second = x_mask
            .reshape([batch, FRAMES_PER_CLIP, sampling_rate])
            .sum_dim(2)
            .reshape([batch, FRAMES_PER_CLIP])
            .greater_elem(0.0)
            .float();
        self.with_mask(per_second)
    }

    /// Adds recorded random draws (see [`SequenceInput::draws`]).
    pub fn with_draws(mut self, draws: Vec<TensorData>) -> Self {
        self.draws = draws;
        self
    }

    /// Number of clips in the batch.
    pub fn batch_size(&self) -> usize {
        self.x.dims()[0]
    }

    /// The device of `x`.
    pub fn device(&self) -> Device {
        self.x.device()
    }

    /// The mask, or ones when none was given.
    ///
    /// # Shapes
    /// - output: `[batch_size, 10]`
    pub fn mask_or_ones(&self) -> Tensor<2> {
        self.x_mask
            .clone()
            .unwrap_or_else(|| Tensor::ones([self.batch_size(), FRAMES_PER_CLIP], &self.device()))
    }

    /// The mask as the mask-reading models see it (`M` of models.md §1.2): 1.0 where the mask
    /// is positive, else 0.0; ones when none was given.
    ///
    /// # Shapes
    /// - output: `[batch_size, 10]`
    pub fn observed_mask(&self) -> Tensor<2> {
        match &self.x_mask {
            Some(mask) => mask.clone().greater_elem(0.0).float(),
            None => Tensor::ones([self.batch_size(), FRAMES_PER_CLIP], &self.device()),
        }
    }
}
