//! `EncoderLayer` and `Encoder` of `Transformer_EncDec.py` (models.md §1.5).

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Tensor};

use super::attention::AttentionLayer;
use super::ops::{gelu, pointwise_conv};

/// Post-norm encoder layer: `x = norm1(x + attn(x))`, `x = norm2(x + conv2(gelu(conv1(x))))`
/// (dropout after attention, after the activation and after `conv2`, training only).
#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub attention: AttentionLayer,
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub dropout: Dropout,
}

impl EncoderLayer {
    /// A randomly initialised layer with [`AttentionLayer`] over `FullAttention`.
    pub fn new(d_model: usize, n_heads: usize, d_ff: usize, dropout: f64, device: &Device) -> Self {
        Self {
            attention: AttentionLayer::new(d_model, n_heads, dropout, device),
            conv1: Conv1dConfig::new(d_model, d_ff, 1).init(device),
            conv2: Conv1dConfig::new(d_ff, d_model, 1).init(device),
            norm1: LayerNormConfig::new(d_model).init(device),
            norm2: LayerNormConfig::new(d_model).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// Self-attention with full attention, then the feed-forward block.
    ///
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self
            .attention
            .forward(x.clone(), x.clone(), x.clone(), None);
        self.feed_forward(x + self.dropout.forward(attended))
    }

    /// The part after attention, for layers with another attention: `y = norm1(x_plus_attn)`,
    /// `norm2(y + conv2(gelu(conv1(y))))`. The caller applies `self.dropout` to the attention
    /// output before adding it.
    ///
    /// # Shapes
    /// - x_plus_attn: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn feed_forward(&self, x_plus_attn: Tensor<3>) -> Tensor<3> {
        let x = self.norm1.forward(x_plus_attn);
        let y = self
            .dropout
            .forward(gelu(pointwise_conv(&self.conv1, x.clone())));
        let y = self.dropout.forward(pointwise_conv(&self.conv2, y));
        self.norm2.forward(x + y)
    }
}

/// Encoder layers followed by a final `LayerNorm` (`encoder.norm`).
#[derive(Module, Debug)]
pub struct Encoder {
    pub attn_layers: Vec<EncoderLayer>,
    pub norm: LayerNorm,
}

impl Encoder {
    /// `e_layers` randomly initialised [`EncoderLayer`]s.
    pub fn new(
        e_layers: usize,
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            attn_layers: (0..e_layers)
                .map(|_| EncoderLayer::new(d_model, n_heads, d_ff, dropout, device))
                .collect(),
            norm: LayerNormConfig::new(d_model).init(device),
        }
    }

    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.attn_layers.iter().fold(x, |x, layer| layer.forward(x));
        self.norm.forward(x)
    }
}
