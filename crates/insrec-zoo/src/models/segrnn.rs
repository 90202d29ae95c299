//! SegRNN (models.md §2.8): last-value normalisation, per-channel segments embedded and run
//! through a GRU, one GRU step per (channel, output segment) from position/channel tokens,
//! a linear head.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::ZooConfig;
use crate::error::Result;
use crate::layers::gru::{GRU_KEY_REMAPPING, Gru};
use crate::model::{SequenceInput, ZooModel};

/// PyTorch → burn renames: the GRU's (see [`GRU_KEY_REMAPPING`]) and the `nn.Sequential`s.
const KEY_REMAPPING: [(&str, &str); 4] = [
    GRU_KEY_REMAPPING[0],
    GRU_KEY_REMAPPING[1],
    (r"^valueEmbedding\.0\.", "value_embedding."),
    (r"^predict\.1\.", "predict."),
];

/// Hyper-parameters of [`SegRnn`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegRnnConfig {
    /// GRU width; must be even (position and channel tokens are `d_model / 2` each).
    pub d_model: usize,
    /// Segment length `seg_len`; must divide the clip length 10.
    pub patch_len: usize,
    /// Dropout probability before `predict` (training only; 0 in production).
    pub dropout: f64,
}

impl Default for SegRnnConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            patch_len: 5,
            dropout: 0.0,
        }
    }
}

impl ZooConfig for SegRnnConfig {
    type Model = SegRnn;
    const NAME: &'static str = "SegRNN";

    fn validate(&self) -> Result<()> {
        if self.d_model == 0 || !self.d_model.is_multiple_of(2) {
            return Err(Self::invalid(format!(
                "d_model ({}) must be even and positive",
                self.d_model
            )));
        }
        if self.patch_len == 0
            || self.patch_len > FRAMES_PER_CLIP
            || !FRAMES_PER_CLIP.is_multiple_of(self.patch_len)
        {
            return Err(Self::invalid(format!(
                "patch_len ({}) must divide the clip length {FRAMES_PER_CLIP}",
                self.patch_len
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<SegRnn> {
        self.validate()?;
        let (d, seg_len) = (self.d_model, self.patch_len);
        let segments = FRAMES_PER_CLIP / seg_len;
        let randn = Initializer::Normal {
            mean: 0.0,
            std: 1.0,
        };
        Ok(SegRnn {
            value_embedding: LinearConfig::new(seg_len, d).init(device),
            rnn: Gru::new(d, d, false, device),
            pos_emb: randn.init([segments, d / 2], device),
            channel_emb: randn.init([EMBEDDING_DIM, d / 2], device),
            predict: LinearConfig::new(d, seg_len).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            projection: LinearConfig::new(FRAMES_PER_CLIP * EMBEDDING_DIM, NUM_CLASSES)
                .init(device),
        })
    }
}

/// PyOmniTS `SegRNN` in classification mode.
#[derive(Module, Debug)]
pub struct SegRnn {
    /// `valueEmbedding.0`: `Linear(seg_len → D)`, then ReLU.
    pub value_embedding: Linear,
    /// One-layer GRU `D → D` (`rnn.*_l0`).
    pub rnn: Gru,
    /// Output-segment tokens `[segments, D/2]`.
    pub pos_emb: Param<Tensor<2>>,
    /// Channel tokens `[128, D/2]`.
    pub channel_emb: Param<Tensor<2>>,
    /// `predict.1`: `Linear(D → seg_len)` after `predict.0`'s dropout.
    pub predict: Linear,
    pub dropout: Dropout,
    pub projection: Linear,
}

impl ZooModel for SegRnn {
    /// `X − X[:, −1]` → segments `[B·N, 2, 5]` → embed → GRU → `h`; tokens
    /// `[pos_emb[m], channel_emb[n]]` get one GRU step from `h[b, n]` → `predict` → `[B, N, 10]`
    /// → `+ last` → flatten time-major → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let [segments, half] = self.pos_emb.dims();
        let seg_len = length / segments;
        let rows = batch * channels;

        let last = input.x.clone().narrow(1, length - 1, 1); // [B, 1, N]
        let series = (input.x.clone() - last.clone())
            .swap_dims(1, 2)
            .reshape([rows, segments, seg_len]);
        let embedded = relu(self.value_embedding.forward(series)); // [B·N, segments, D]
        let (_, hidden) = self.rnn.l0.scan(embedded, false); // [B·N, D]
        let d_model = hidden.dims()[1];

        // Tokens ordered (b, n, m): [pos_emb[m], channel_emb[n]].
        let pos = self
            .pos_emb
            .val()
            .unsqueeze_dim::<3>(0)
            .expand([channels, segments, half]);
        let chan = self
            .channel_emb
            .val()
            .unsqueeze_dim::<3>(1)
            .expand([channels, segments, half]);
        let tokens = Tensor::cat(vec![pos, chan], 2)
            .reshape([1, channels * segments, d_model])
            .expand([batch, channels * segments, d_model])
            .reshape([rows * segments, d_model]);
        let h0 = hidden
            .unsqueeze_dim::<3>(1)
            .expand([rows, segments, d_model])
            .reshape([rows * segments, d_model]);
        let decoded = self.rnn.l0.forward(tokens, h0); // [B·N·segments, D]
        let y = self
            .predict
            .forward(self.dropout.forward(decoded))
            .reshape([batch, channels, length])
            .swap_dims(1, 2)
            + last; // [B, L, N]
        self.projection
            .forward(y.reshape([batch, length * channels]))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &KEY_REMAPPING
    }
}
