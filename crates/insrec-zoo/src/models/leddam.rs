//! Leddam (models.md §2.19): each channel's 10 steps embedded into `d_model` values (a "series"
//! along the feature axis) plus a learned position table; a learnable Gaussian smoothing splits
//! it into a main part and a residual; the residual goes through an auto-attention block (over
//! rotated copies of itself) and a channel-attention block (across the 128 channels), each
//! with BatchNorm and a feed-forward; `main + both` feeds a linear head.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig,
    Linear, LinearConfig,
};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_positive};
use crate::error::Result;
use crate::layers::embed::positional_embedding;
use crate::layers::ops::{gelu, pad_replicate};
use crate::model::{SequenceInput, ZooModel};

/// Kernel of the learnable decomposition (`kernel_size=25`, hard-coded upstream).
const KERNEL_SIZE: usize = 25;
/// Rotation step of the auto-attention copies (`P=64`, hard-coded upstream).
const PERIOD: usize = 64;

/// Hyper-parameters of [`Leddam`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeddamConfig {
    pub d_model: usize,
    /// Depth of each attention branch.
    pub n_layers: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for LeddamConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_layers: 1,
            dropout: 0.05,
        }
    }
}

impl LeddamConfig {
    fn linear(&self, input: usize, output: usize, device: &Device) -> Linear {
        LinearConfig::new(input, output).init(device)
    }

    fn feed_forward(&self, device: &Device) -> FeedForward {
        FeedForward {
            input: self.linear(self.d_model, 2 * self.d_model, device),
            output: self.linear(2 * self.d_model, self.d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }

    /// The fixed attention scale `d_model^{-1/2}` (a non-trainable parameter upstream).
    fn scale(&self, device: &Device) -> Param<Tensor<1>> {
        let value = (self.d_model as f32).powf(-0.5);
        Param::from_tensor(Tensor::from_data(TensorData::new(vec![value], [1]), device))
            .set_require_grad(false)
    }
}

impl ZooConfig for LeddamConfig {
    type Model = Leddam;
    const NAME: &'static str = "Leddam";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("d_model", self.d_model), ("n_layers", self.n_layers)])?;
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Leddam> {
        self.validate()?;
        let d = self.d_model;
        let norm = || LayerNormConfig::new(d).init(device);
        let batch_norm = || BatchNormConfig::new(EMBEDDING_DIM).init(device);
        let dropout = || DropoutConfig::new(self.dropout).init();
        Ok(Leddam {
            revin_layer: RevIn {
                affine_weight: Initializer::Ones.init([EMBEDDING_DIM], device),
                affine_bias: Initializer::Zeros.init([EMBEDDING_DIM], device),
            },
            leddam: LeddamBody {
                ld: LearnableDecomposition {
                    conv: gaussian_smoothing(device),
                },
                channel_attn_blocks: (0..self.n_layers)
                    .map(|_| ChannelAttnBlock {
                        channel_att_norm: batch_norm(),
                        fft_norm: norm(),
                        channel_attn: ChannelAttention {
                            w_q: self.linear(d, d, device),
                            w_k: self.linear(d, d, device),
                            w_v: self.linear(d, d, device),
                            sdp_attn: ScaledDotProduct {
                                scale: self.scale(device),
                            },
                            to_out: self.linear(d, d, device),
                            dropout: dropout(),
                        },
                        fft_layer: self.feed_forward(device),
                    })
                    .collect(),
                auto_attn_blocks: (0..self.n_layers)
                    .map(|_| AutoAttnBlock {
                        auto_attn_norm: batch_norm(),
                        fft_norm: norm(),
                        auto_attn: AutoAttention {
                            w_q: self.linear(d, d, device),
                            w_k: self.linear(d, d, device),
                            w_v: self.linear(d, d, device),
                            out_projector: self.linear(d, d, device),
                            scale: self.scale(device),
                            dropout: dropout(),
                        },
                        fft_layer: self.feed_forward(device),
                    })
                    .collect(),
                position_embedder: LeddamEmbedding {
                    value_embedding: self.linear(FRAMES_PER_CLIP, d, device),
                    position_embedding: Param::from_tensor(normalised_sincos(
                        EMBEDDING_DIM,
                        d,
                        device,
                    )),
                },
            },
            decoder_classification: self.linear(EMBEDDING_DIM * d, NUM_CLASSES, device),
        })
    }
}

/// `LD.conv` initialised as upstream: weights `softmax_i(exp(−((i − 12) / 2)²))`, bias 0.
fn gaussian_smoothing(device: &Device) -> Conv1d {
    let mut conv = Conv1dConfig::new(1, 1, KERNEL_SIZE).init(device);
    let half = (KERNEL_SIZE / 2) as f64;
    let logits: Vec<f32> = (0..KERNEL_SIZE)
        .map(|i| (-((i as f64 - half) / 2.0).powi(2)).exp() as f32)
        .collect();
    let logits = Tensor::<3>::from_data(TensorData::new(logits, [1, 1, KERNEL_SIZE]), device);
    conv.weight = Param::from_tensor(softmax(logits, 2));
    conv.bias = conv.bias.map(|b| b.map(|t| t.zeros_like()));
    conv
}

/// `SinCosPosEncoding(normalize=True)`: the sinusoid table minus its mean, divided by ten times
/// its (unbiased) standard deviation.
///
/// # Shapes
/// - output: `[rows, d_model]`
fn normalised_sincos(rows: usize, d_model: usize, device: &Device) -> Tensor<2> {
    let pe = positional_embedding(rows, d_model, device);
    let centred = pe.clone() - pe.mean().unsqueeze::<2>();
    let n = (rows * d_model) as f64;
    let std = (centred.clone().powi_scalar(2).sum() / (n - 1.0)).sqrt();
    centred / std.mul_scalar(10.0).unsqueeze::<2>()
}

/// `RevIN` affine parameters; RevIN is disabled in classification, so they are never applied.
#[derive(Module, Debug)]
pub struct RevIn {
    pub affine_weight: Param<Tensor<1>>,
    pub affine_bias: Param<Tensor<1>>,
}

/// Leddam `DataEmbedding`: `value_embedding(series) + position_embedding`.
#[derive(Module, Debug)]
pub struct LeddamEmbedding {
    /// `Linear(10 → d_model)` on each channel's series.
    pub value_embedding: Linear,
    /// Learnable `[128, d_model]` table (initialised with a normalised sinusoid).
    pub position_embedding: Param<Tensor<2>>,
}

/// `LD`: one smoothing `Conv1d(1, 1, 25, replicate padding 12)` shared by all channels.
#[derive(Module, Debug)]
pub struct LearnableDecomposition {
    pub conv: Conv1d,
}

impl LearnableDecomposition {
    /// The smoothed ("main") part along the feature axis of every channel.
    ///
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → `[batch, channels, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, channels, d_model] = x.dims();
        let pad = KERNEL_SIZE / 2;
        let padded =
            pad_replicate(x, 2, pad, pad).reshape([batch * channels, 1, d_model + 2 * pad]);
        self.conv
            .forward(padded)
            .reshape([batch, channels, d_model])
    }
}

/// `nn.Sequential(Linear(D → 2D), GELU, Dropout, Linear(2D → D))` (`fft_layer.0`, `.3` in
/// PyTorch, renamed `input`, `output` on import).
#[derive(Module, Debug)]
pub struct FeedForward {
    pub input: Linear,
    pub output: Linear,
    pub dropout: Dropout,
}

impl FeedForward {
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → the same
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.output
            .forward(self.dropout.forward(gelu(self.input.forward(x))))
    }
}

/// `Auto_Attention`: the channel's series attends over copies of itself rotated left by
/// multiples of 64 (the query is the unrotated series).
#[derive(Module, Debug)]
pub struct AutoAttention {
    pub w_q: Linear,
    pub w_k: Linear,
    pub w_v: Linear,
    /// `out_projector.0`.
    pub out_projector: Linear,
    /// Fixed `d_model^{-1/2}`, `[1]` (a 0-d tensor in PyTorch).
    pub scale: Param<Tensor<1>>,
    pub dropout: Dropout,
}

impl AutoAttention {
    /// Copy `i` is `cat(u[64i:], u[:64i])`; there are `D/64 − 1` extra copies when 64 divides
    /// `D`, else `⌊D/64⌋`. Keys and values are linear in the copies, so the product is
    /// rearranged: `q · W_K(c_i) = c_i · (W_Kᵀ q) + q · b_K` (the last term is the same for
    /// every copy and cancels in the softmax), and with weights summing to one
    /// `Σ_i a_i W_V(c_i) = W_V(Σ_i a_i c_i)`.
    ///
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → `[batch, channels, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, channels, d_model] = x.dims();
        let extra = if d_model.is_multiple_of(PERIOD) {
            d_model / PERIOD - 1
        } else {
            d_model / PERIOD
        };
        let mut copies = vec![x.clone()];
        for i in 1..=extra {
            let end = i * PERIOD;
            copies.push(Tensor::cat(
                vec![
                    x.clone().narrow(2, end, d_model - end),
                    x.clone().narrow(2, 0, end),
                ],
                2,
            ));
        }
        let copies = Tensor::stack::<4>(copies, 2); // [batch, channels, copies, d_model]
        let rows = batch * channels;
        let query = self.w_q.forward(x.reshape([rows, d_model]));
        let key_weight = self.w_k.weight.val(); // [in, out]
        let probe = query
            .matmul(key_weight.transpose())
            .reshape([batch, channels, d_model, 1]);
        let scores = copies.clone().matmul(probe) * self.scale.val().reshape([1, 1, 1, 1]);
        let weights = softmax(scores, 2).swap_dims(2, 3); // [batch, channels, 1, copies]
        let mixed = weights.matmul(copies).reshape([batch, channels, d_model]);
        let out = self.out_projector.forward(self.w_v.forward(mixed));
        self.dropout.forward(out)
    }
}

/// `ScaledDotProductAttention`: holds the fixed scale.
#[derive(Module, Debug)]
pub struct ScaledDotProduct {
    /// Fixed `(d_model / heads)^{-1/2}`, `[1]` (a 0-d tensor in PyTorch).
    pub scale: Param<Tensor<1>>,
}

/// Single-head `MultiheadAttention` across the channel tokens.
#[derive(Module, Debug)]
pub struct ChannelAttention {
    pub w_q: Linear,
    pub w_k: Linear,
    pub w_v: Linear,
    pub sdp_attn: ScaledDotProduct,
    /// `to_out.0`.
    pub to_out: Linear,
    pub dropout: Dropout,
}

impl ChannelAttention {
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → `[batch, channels, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let q = self.w_q.forward(x.clone());
        let k = self.w_k.forward(x.clone());
        let v = self.w_v.forward(x);
        let scale = self.sdp_attn.scale.val().reshape([1, 1, 1]);
        let scores = q.matmul(k.swap_dims(1, 2)) * scale; // [batch, channels, channels]
        let out = softmax(scores, 2).matmul(v);
        self.dropout.forward(self.to_out.forward(out))
    }
}

/// `auto_attn_block`: `z = BatchNorm(auto(x) + x)`, `fft_norm(fft_layer(z) + z)`.
#[derive(Module, Debug)]
pub struct AutoAttnBlock {
    pub auto_attn_norm: BatchNorm,
    pub fft_norm: LayerNorm,
    pub auto_attn: AutoAttention,
    pub fft_layer: FeedForward,
}

impl AutoAttnBlock {
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → the same
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let z = self
            .auto_attn_norm
            .forward(self.auto_attn.forward(x.clone()) + x);
        self.fft_norm.forward(self.fft_layer.forward(z.clone()) + z)
    }
}

/// `channel_attn_block`: `z = BatchNorm(attn(x) + x)`, `fft_norm(fft_layer(z) + z)`.
#[derive(Module, Debug)]
pub struct ChannelAttnBlock {
    pub channel_att_norm: BatchNorm,
    pub fft_norm: LayerNorm,
    pub channel_attn: ChannelAttention,
    pub fft_layer: FeedForward,
}

impl ChannelAttnBlock {
    /// # Shapes
    /// - x: `[batch, channels, d_model]` → the same
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let z = self
            .channel_att_norm
            .forward(self.channel_attn.forward(x.clone()) + x);
        self.fft_norm.forward(self.fft_layer.forward(z.clone()) + z)
    }
}

/// The `Leddam` layer (`leddam.*`).
#[derive(Module, Debug)]
pub struct LeddamBody {
    /// `LD` in PyTorch.
    pub ld: LearnableDecomposition,
    pub channel_attn_blocks: Vec<ChannelAttnBlock>,
    pub auto_attn_blocks: Vec<AutoAttnBlock>,
    pub position_embedder: LeddamEmbedding,
}

/// PyOmniTS `Leddam` in classification mode (RevIN off).
#[derive(Module, Debug)]
pub struct Leddam {
    pub revin_layer: RevIn,
    pub leddam: LeddamBody,
    pub decoder_classification: Linear,
}

impl ZooModel for Leddam {
    /// Embed each channel → `main = LD(E)`, `res = E − main` → auto and channel branches on
    /// `res` → `main + both` → flatten `n·D + j` → `decoder_classification`.
    ///
    /// Internally `[batch, channels, d_model]`; upstream holds the transpose.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, _, channels] = input.x.dims();
        let body = &self.leddam;
        let embedder = &body.position_embedder;
        let embedded = embedder
            .value_embedding
            .forward(input.x.clone().swap_dims(1, 2))
            + embedder.position_embedding.val().unsqueeze::<3>(); // [batch, channels, d_model]
        let main = body.ld.forward(embedded.clone());
        let residual = embedded - main.clone();
        let auto = body
            .auto_attn_blocks
            .iter()
            .fold(residual.clone(), |x, block| block.forward(x));
        let channel = body
            .channel_attn_blocks
            .iter()
            .fold(residual, |x, block| block.forward(x));
        let out = main + auto + channel;
        let d_model = out.dims()[2];
        self.decoder_classification
            .forward(out.reshape([batch, channels * d_model]))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"^leddam\.LD\.", "leddam.ld."),
            (r"\.W_Q\.", ".w_q."),
            (r"\.W_K\.", ".w_k."),
            (r"\.W_V\.", ".w_v."),
            (r"\.to_out\.0\.", ".to_out."),
            (r"\.out_projector\.0\.", ".out_projector."),
            (r"\.fft_layer\.0\.", ".fft_layer.input."),
            (r"\.fft_layer\.3\.", ".fft_layer.output."),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_kernel_starts_as_a_normalised_gaussian() {
        let conv = gaussian_smoothing(&Device::flex());
        let w: Vec<f32> = conv.weight.val().into_data().iter::<f32>().collect();
        let sum: f32 = w.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        assert!(w[12] > w[11] && w[11] > w[10] && (w[11] - w[13]).abs() < 1e-7);
    }

    #[test]
    fn position_table_is_centred_with_a_tenth_of_unit_spread() {
        let table: Vec<f32> = normalised_sincos(128, 80, &Device::flex())
            .into_data()
            .iter::<f32>()
            .collect();
        let n = table.len() as f64;
        let mean = table.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = table
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        assert!(mean.abs() < 1e-6, "{mean}");
        assert!((var.sqrt() - 0.1).abs() < 1e-5, "{}", var.sqrt());
    }
}
