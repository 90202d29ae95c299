//! [`CompactModel`]: the encoder and the frame head trained together.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};

use super::encoder::{CompactEncoder, CompactEncoderConfig};
use super::head::{FrameHead, FrameHeadConfig, HeadKind};

/// Hyper-parameters of [`CompactModel`].
#[derive(Config, Debug, PartialEq)]
pub struct CompactConfig {
    pub encoder: CompactEncoderConfig,
    pub head: FrameHeadConfig,
}

impl CompactConfig {
    /// The default architecture with the given head.
    pub fn with_head_kind(kind: HeadKind) -> Self {
        let encoder = CompactEncoderConfig::new();
        let head = FrameHeadConfig::new(kind).with_input_dim(encoder.embedding_dim);
        Self::new(encoder, head)
    }

    pub fn init(&self, device: &Device) -> CompactModel {
        CompactModel {
            encoder: self.encoder.init(device),
            head: self.head.init(device),
        }
    }
}

/// Compact encoder + frame head.
#[derive(Module, Debug)]
pub struct CompactModel {
    pub encoder: CompactEncoder,
    pub head: FrameHead,
}

impl CompactModel {
    /// # Shapes
    /// `[batch, frames, 96, 64]` log-mel examples → `[batch, frames, 20]` logits.
    pub fn forward(&self, examples: Tensor<4>) -> Tensor<3> {
        self.head.forward(self.embed(examples))
    }

    /// The encoder alone.
    ///
    /// # Shapes
    /// `[batch, frames, 96, 64]` log-mel examples → `[batch, frames, embedding_dim]`.
    pub fn embed(&self, examples: Tensor<4>) -> Tensor<3> {
        let [batch, frames, _, _] = examples.dims();
        let flat = examples.reshape([batch * frames, EXAMPLE_FRAMES, MEL_BANDS]);
        let embeddings = self.encoder.forward(flat);
        let [_, dim] = embeddings.dims();
        embeddings.reshape([batch, frames, dim])
    }
}
