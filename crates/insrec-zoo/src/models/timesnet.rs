//! TimesNet (models.md §2.14): token-conv + sinusoid embedding, TimesBlocks (FFT periods,
//! 2-D inception convolutions over `[rows, period]` folds, amplitude-weighted sum) with one
//! shared LayerNorm, time-ramp head.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, PaddingConfig2d,
};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::fourier::{FftNorm, rfft, rfft_bins};
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::ops::gelu;
use crate::model::{SequenceInput, ZooModel};

/// Number of periods per TimesBlock (`k`, hard-coded upstream).
const TOP_K: usize = 5;
/// Convolutions per inception block (kernels 1, 3, …, 11; hard-coded upstream).
const NUM_KERNELS: usize = 6;

/// With 10 steps the spectrum has 6 bins; the DC bin is zeroed before the top-5 search, so the
/// 5 chosen frequencies are always 1..=5, whatever the input.
const _: () = assert!(rfft_bins(FRAMES_PER_CLIP) == TOP_K + 1);

/// Hyper-parameters of [`TimesNet`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimesNetConfig {
    pub d_model: usize,
    /// Width inside each TimesBlock's inception pair.
    pub d_ff: usize,
    pub e_layers: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for TimesNetConfig {
    fn default() -> Self {
        Self {
            d_model: 32,
            d_ff: 32,
            e_layers: 2,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for TimesNetConfig {
    type Model = TimesNet;
    const NAME: &'static str = "TimesNet";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("d_ff", self.d_ff),
            ("e_layers", self.e_layers),
        ])?;
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<TimesNet> {
        self.validate()?;
        Ok(TimesNet {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            model: (0..self.e_layers)
                .map(|_| TimesBlock {
                    conv: vec![
                        Inception::new(self.d_model, self.d_ff, device),
                        Inception::new(self.d_ff, self.d_model, device),
                    ],
                })
                .collect(),
            layer_norm: LayerNormConfig::new(self.d_model).init(device),
            projection: projection(FRAMES_PER_CLIP, self.d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `Inception_Block_V1`: the mean of `Conv2d(k = 1, 3, …, 11, padding k/2)`.
#[derive(Module, Debug)]
pub struct Inception {
    pub kernels: Vec<Conv2d>,
}

impl Inception {
    /// Kaiming-normal (fan-out) weights and zero biases, as upstream.
    fn new(input: usize, output: usize, device: &Device) -> Self {
        let kernels = (0..NUM_KERNELS)
            .map(|i| {
                Conv2dConfig::new([input, output], [2 * i + 1, 2 * i + 1])
                    .with_padding(PaddingConfig2d::Explicit(i, i, i, i))
                    .with_initializer(Initializer::KaimingNormal {
                        gain: 2f64.sqrt(),
                        fan_out_only: true,
                    })
                    .init(device)
            })
            .map(|mut conv| {
                conv.bias = conv.bias.map(|b| b.map(|t| t.zeros_like()));
                conv
            })
            .collect();
        Self { kernels }
    }

    /// # Shapes
    /// - x: `[batch, input, rows, period]` → `[batch, output, rows, period]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let outputs: Vec<Tensor<4>> = self
            .kernels
            .iter()
            .map(|conv| conv.forward(x.clone()))
            .collect();
        Tensor::stack::<5>(outputs, 4).mean_dim(4).squeeze_dim(4)
    }
}

/// `TimesBlock`: `conv = Sequential(Inception(d_model → d_ff), GELU, Inception(d_ff → d_model))`
/// (`conv.0`, `conv.2` in PyTorch).
#[derive(Module, Debug)]
pub struct TimesBlock {
    pub conv: Vec<Inception>,
}

impl TimesBlock {
    /// For each frequency f = 1..=5: fold time into `[rows, L / f]` (zero-padded), apply the
    /// inception pair, unfold and crop; sum weighted by `softmax_f(mean_d |rfft(x)[f]|)`; add `x`.
    ///
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, _] = x.dims();
        let amplitude = rfft(x.clone().swap_dims(1, 2), FftNorm::Backward)
            .abs()
            .mean_dim(1)
            .reshape([batch, TOP_K + 1]); // [batch, bins]
        let weights = softmax(amplitude.narrow(1, 1, TOP_K), 1); // [batch, 5]

        let mut folded: Vec<(usize, Tensor<3>)> = Vec::with_capacity(TOP_K);
        let mut out = x.clone();
        for f in 1..=TOP_K {
            let period = length / f;
            let res = match folded.iter().find(|(p, _)| *p == period) {
                Some((_, res)) => res.clone(),
                None => {
                    let res = self.fold_convolve(x.clone(), period);
                    folded.push((period, res.clone()));
                    res
                }
            };
            let weight = weights.clone().narrow(1, f - 1, 1).reshape([batch, 1, 1]);
            out = out + res * weight;
        }
        out
    }

    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    fn fold_convolve(&self, x: Tensor<3>, period: usize) -> Tensor<3> {
        let [batch, length, d_model] = x.dims();
        let rows = length.div_ceil(period);
        let padded = rows * period;
        let x = if padded > length {
            let zeros = Tensor::zeros([batch, padded - length, d_model], &x.device());
            Tensor::cat(vec![x, zeros], 1)
        } else {
            x
        };
        let grid = x
            .reshape([batch, rows, period, d_model])
            .permute([0, 3, 1, 2]);
        let [first, second] = [&self.conv[0], &self.conv[1]];
        let y = second.forward(gelu(first.forward(grid))); // [batch, d_model, rows, period]
        y.permute([0, 2, 3, 1])
            .reshape([batch, padded, d_model])
            .narrow(1, 0, length)
    }
}

/// PyOmniTS `TimesNet` in classification mode.
#[derive(Module, Debug)]
pub struct TimesNet {
    pub enc_embedding: DataEmbedding,
    pub model: Vec<TimesBlock>,
    /// One LayerNorm shared by all blocks.
    pub layer_norm: LayerNorm,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for TimesNet {
    /// `token_conv(x) + pe` → `layer_norm(TimesBlock(x))` per layer → `gelu · t/10` → head.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let encoded = self.model.iter().fold(embedded, |x, block| {
            self.layer_norm.forward(block.forward(x))
        });
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[(r"^model\.(\d+)\.conv\.2\.", "model.$1.conv.1.")]
    }
}
