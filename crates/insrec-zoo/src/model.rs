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
}
