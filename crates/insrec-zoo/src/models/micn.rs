//! MICN (models.md §2.17): a learned mix of two moving-average trends; the seasonal rest is
//! embedded (token conv + time mark + positions) and run through MIC layers (per kernel:
//! strided down-sampling conv, isometric conv, transposed up-sampling conv, merged by a 2-D
//! conv), projected back to the 128 channels, the trend added, and the time-ramp head.

use burn::module::Module;
use burn::nn::conv::{
    Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, ConvTranspose1d, ConvTranspose1dConfig,
};
use burn::nn::{
    Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig1d,
};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_positive};
use crate::error::Result;
use crate::layers::decomp::{moving_avg, series_decomp};
use crate::layers::embed::DataEmbedding;
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::ops::{pointwise_conv, time_marks};
use crate::model::{SequenceInput, ZooModel};

/// Down/up-sampling kernels of the MIC branches (`conv_kernel`, a constructor default upstream).
const CONV_KERNELS: [usize; 2] = [12, 16];
/// Dropout inside the MIC layer (`nn.Dropout(0.05)`, hard-coded upstream).
const MIC_DROPOUT: f64 = 0.05;

/// The odd decomposition kernel of a branch (`K + 1` for even `K`).
const fn decomp_kernel(conv_kernel: usize) -> usize {
    if conv_kernel.is_multiple_of(2) {
        conv_kernel + 1
    } else {
        conv_kernel
    }
}

/// The isometric kernel of a branch: the down-sampled length, `⌊(L + K) / K⌋` for even `K`
/// and `⌈L / K⌉` for odd `K`, so the isometric conv keeps that length.
const fn isometric_kernel(conv_kernel: usize) -> usize {
    if conv_kernel.is_multiple_of(2) {
        FRAMES_PER_CLIP / conv_kernel + 1
    } else {
        FRAMES_PER_CLIP.div_ceil(conv_kernel)
    }
}

/// Hyper-parameters of [`Micn`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicnConfig {
    pub d_model: usize,
    /// Number of MIC layers.
    pub d_layers: usize,
    /// Width of `conv_trans.projection`; the trend (128 channels) is added to it, so it must be
    /// 128.
    pub c_out: usize,
    /// Dropout probability of the embedding and the head (training only).
    pub dropout: f64,
}

impl Default for MicnConfig {
    fn default() -> Self {
        Self {
            d_model: 256,
            d_layers: 1,
            c_out: EMBEDDING_DIM,
            dropout: 0.05,
        }
    }
}

impl MicnConfig {
    fn mic(&self, device: &Device) -> Mic {
        let d = self.d_model;
        let norm = || LayerNormConfig::new(d).init(device);
        Mic {
            isometric_conv: CONV_KERNELS
                .iter()
                .map(|&k| Conv1dConfig::new(d, d, isometric_kernel(k)).init(device))
                .collect(),
            conv: CONV_KERNELS
                .iter()
                .map(|&k| {
                    Conv1dConfig::new(d, d, k)
                        .with_stride(k)
                        .with_padding(PaddingConfig1d::Explicit(k / 2, k / 2))
                        .init(device)
                })
                .collect(),
            conv_trans: CONV_KERNELS
                .iter()
                .map(|&k| {
                    ConvTranspose1dConfig::new([d, d], k)
                        .with_stride(k)
                        .init(device)
                })
                .collect(),
            merge: Conv2dConfig::new([d, d], [CONV_KERNELS.len(), 1]).init(device),
            conv1: Conv1dConfig::new(d, 4 * d, 1).init(device),
            conv2: Conv1dConfig::new(4 * d, d, 1).init(device),
            norm1: norm(),
            norm2: norm(),
            norm: norm(),
            drop: DropoutConfig::new(MIC_DROPOUT).init(),
        }
    }
}

impl ZooConfig for MicnConfig {
    type Model = Micn;
    const NAME: &'static str = "MICN";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("d_model", self.d_model), ("d_layers", self.d_layers)])?;
        if self.c_out != EMBEDDING_DIM {
            return Err(Self::invalid(format!(
                "c_out {} must be {EMBEDDING_DIM} (the trend is added to the projection)",
                self.c_out
            )));
        }
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Micn> {
        self.validate()?;
        Ok(Micn {
            decomp_multi: SeriesDecompMulti {
                layer: LinearConfig::new(1, CONV_KERNELS.len()).init(device),
            },
            dec_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            conv_trans: SeasonalPrediction {
                mic: (0..self.d_layers).map(|_| self.mic(device)).collect(),
                projection: LinearConfig::new(self.d_model, self.c_out).init(device),
            },
            projection: projection(FRAMES_PER_CLIP, self.c_out, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `series_decomp_multi`: per element, `softmax(layer(x))` weights over the moving averages of
/// each decomposition kernel; `trend = Σ_k w_k · MA_k(x)`.
#[derive(Module, Debug)]
pub struct SeriesDecompMulti {
    /// `Linear(1 → kernels)` applied to every scalar.
    pub layer: Linear,
}

impl SeriesDecompMulti {
    /// `(seasonal, trend)`.
    ///
    /// # Shapes
    /// - x: `[batch, length, channels]` → two `[batch, length, channels]`
    fn forward(&self, x: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let averages: Vec<Tensor<3>> = CONV_KERNELS
            .iter()
            .map(|&k| moving_avg(x.clone(), decomp_kernel(k)))
            .collect();
        let averages = Tensor::stack::<4>(averages, 3); // [batch, length, channels, kernels]
        let weights = softmax(self.layer.forward(x.clone().unsqueeze_dim::<4>(3)), 3);
        let trend = (averages * weights).sum_dim(3).squeeze_dim::<3>(3);
        (x - trend.clone(), trend)
    }
}

/// `MIC`: one branch per conv kernel (local down-sampling conv, isometric conv, up-sampling
/// transposed conv), merged by `merge`, then a linear feed-forward (`conv1`, `conv2`, no
/// activation between).
#[derive(Module, Debug)]
pub struct Mic {
    pub isometric_conv: Vec<Conv1d>,
    pub conv: Vec<Conv1d>,
    pub conv_trans: Vec<ConvTranspose1d>,
    /// `Conv2d(D, D, (branches, 1))` over the stacked branches.
    pub merge: Conv2d,
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    /// Shared by both normalisations of every branch.
    pub norm: LayerNorm,
    pub drop: Dropout,
}

impl Mic {
    /// `conv_trans_conv` of branch `i` on the seasonal part `s`.
    ///
    /// # Shapes
    /// - s: `[batch, length, D]` → `[batch, length, D]`
    fn branch(&self, i: usize, s: Tensor<3>) -> Tensor<3> {
        let [_, length, _] = s.dims();
        let x1 = self
            .drop
            .forward(self.conv[i].forward(s.clone().swap_dims(1, 2)).tanh()); // [batch, D, L1]
        let [batch, d, down] = x1.dims();
        // Isometric conv over `down − 1` leading zeros and `x1`, keeping length `down`.
        let padded = if down > 1 {
            let zeros = Tensor::zeros([batch, d, down - 1], &x1.device());
            Tensor::cat(vec![zeros, x1.clone()], 2)
        } else {
            x1.clone()
        };
        let x = self
            .drop
            .forward(self.isometric_conv[i].forward(padded).tanh());
        let x = self.norm.forward((x + x1).swap_dims(1, 2)).swap_dims(1, 2);
        let x = self
            .drop
            .forward(self.conv_trans[i].forward(x).tanh())
            .narrow(2, 0, length); // [batch, D, length]
        self.norm.forward(x.swap_dims(1, 2) + s)
    }

    /// # Shapes
    /// - src: `[batch, length, D]` → `[batch, length, D]`
    fn forward(&self, src: Tensor<3>) -> Tensor<3> {
        let [batch, length, d] = src.dims();
        let branches: Vec<Tensor<3>> = CONV_KERNELS
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let (seasonal, _) = series_decomp(src.clone(), decomp_kernel(k));
                self.branch(i, seasonal)
            })
            .collect();
        let n = branches.len();
        // The (n, 1) merge conv as one product: features (branch, d) → d.
        let stacked = Tensor::cat(branches, 2).reshape([batch * length, n * d]);
        let weight = self
            .merge
            .weight
            .val()
            .reshape([d, d, n])
            .permute([2, 1, 0])
            .reshape([n * d, d]);
        let mut mg = stacked.matmul(weight);
        if let Some(bias) = &self.merge.bias {
            mg = mg + bias.val().unsqueeze::<2>();
        }
        let mg = mg.reshape([batch, length, d]);
        let y = self.norm1.forward(mg.clone());
        let y = pointwise_conv(&self.conv2, pointwise_conv(&self.conv1, y));
        self.norm2.forward(mg + y)
    }
}

/// `SeasonalPrediction`: the MIC layers, then `projection: Linear(D → c_out)`.
#[derive(Module, Debug)]
pub struct SeasonalPrediction {
    pub mic: Vec<Mic>,
    pub projection: Linear,
}

/// PyOmniTS `MICN` in classification mode.
#[derive(Module, Debug)]
pub struct Micn {
    pub decomp_multi: SeriesDecompMulti,
    pub dec_embedding: DataEmbedding,
    pub conv_trans: SeasonalPrediction,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Micn {
    /// Multi-kernel decomposition → embed the seasonal part with the time mark → MIC layers →
    /// `Linear(D → 128)` + trend → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, _] = input.x.dims();
        let (seasonal, trend) = self.decomp_multi.forward(input.x.clone());
        let marks = time_marks(batch, length, &input.device());
        let mut x = self
            .dropout
            .forward(self.dec_embedding.forward(seasonal, Some(marks)));
        for mic in &self.conv_trans.mic {
            x = mic.forward(x);
        }
        let out = self.conv_trans.projection.forward(x) + trend; // [batch, 10, 128]
        time_ramp_head(&self.projection, &self.dropout, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_kernels_follow_upstream() {
        assert_eq!(CONV_KERNELS.map(decomp_kernel), [13, 17]);
        assert_eq!(CONV_KERNELS.map(isometric_kernel), [1, 1]);
    }
}
