//! MambaSimple (models.md §2.22, after `mamba-minimal`): token-conv + time-mark + sinusoid
//! embedding, pre-norm residual Mamba blocks (selective scan, run step by step), RMSNorm, mean
//! over time, linear head.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig1d, RmsNorm, RmsNormConfig,
};
use burn::tensor::activation::{silu, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::ops::time_marks;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`MambaSimple`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MambaSimpleConfig {
    pub d_model: usize,
    /// SSM state size `n` (PyOmniTS reuses `d_ff` for it).
    pub d_ff: usize,
    /// Number of residual Mamba blocks.
    pub e_layers: usize,
    /// `d_inner = mamba_expand · d_model`.
    pub mamba_expand: usize,
    /// Kernel of the causal depthwise convolution.
    pub mamba_d_conv: usize,
    /// Dropout probability after the embedding (training only).
    pub dropout: f64,
}

impl Default for MambaSimpleConfig {
    fn default() -> Self {
        Self {
            d_model: 128,
            d_ff: 16,
            e_layers: 2,
            mamba_expand: 2,
            mamba_d_conv: 4,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for MambaSimpleConfig {
    type Model = MambaSimple;
    const NAME: &'static str = "MambaSimple";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("d_ff", self.d_ff),
            ("e_layers", self.e_layers),
            ("mamba_expand", self.mamba_expand),
            ("mamba_d_conv", self.mamba_d_conv),
        ])?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<MambaSimple> {
        self.validate()?;
        Ok(MambaSimple {
            embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            layers: (0..self.e_layers)
                .map(|_| ResidualBlock {
                    mixer: MambaBlock::new(self, device),
                    norm: RmsNormConfig::new(self.d_model).init(device),
                })
                .collect(),
            norm: RmsNormConfig::new(self.d_model).init(device),
            decoder_classification: LinearConfig::new(self.d_model, NUM_CLASSES).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// The selective-SSM block: input projection, causal depthwise conv, selective scan, gate,
/// output projection.
#[derive(Module, Debug)]
pub struct MambaBlock {
    /// `Linear(D → 2·d_inner, no bias)`: scan input and gate.
    pub in_proj: Linear,
    /// Depthwise `Conv1d(d_inner, k)`, padded `k − 1` on the left only (= PyTorch's padding
    /// `k − 1` on both sides, keeping the first `L` outputs).
    pub conv1d: Conv1d,
    /// `Linear(d_inner → dt_rank + 2n, no bias)`: δ (low rank), B and C.
    pub x_proj: Linear,
    /// `Linear(dt_rank → d_inner)`.
    pub dt_proj: Linear,
    /// `A_log [d_inner, n]`; `A = −exp(A_log)`.
    pub a_log: Param<Tensor<2>>,
    /// Skip weight `D [d_inner]`.
    pub d: Param<Tensor<1>>,
    /// `Linear(d_inner → D, no bias)`.
    pub out_proj: Linear,
}

impl MambaBlock {
    fn new(config: &MambaSimpleConfig, device: &Device) -> Self {
        let d_inner = config.d_model * config.mamba_expand;
        let dt_rank = config.d_model.div_ceil(16);
        let n = config.d_ff;
        let a_log: Vec<f32> = (0..d_inner)
            .flat_map(|_| (1..=n).map(|i| (i as f32).ln()))
            .collect();
        let kernel = config.mamba_d_conv;
        Self {
            in_proj: LinearConfig::new(config.d_model, 2 * d_inner)
                .with_bias(false)
                .init(device),
            conv1d: Conv1dConfig::new(d_inner, d_inner, kernel)
                .with_groups(d_inner)
                .with_padding(PaddingConfig1d::Explicit(kernel - 1, 0))
                .init(device),
            x_proj: LinearConfig::new(d_inner, dt_rank + 2 * n)
                .with_bias(false)
                .init(device),
            dt_proj: LinearConfig::new(dt_rank, d_inner).init(device),
            a_log: Param::from_tensor(Tensor::from_data(
                TensorData::new(a_log, [d_inner, n]),
                device,
            )),
            d: Param::from_tensor(Tensor::ones([d_inner], device)),
            out_proj: LinearConfig::new(d_inner, config.d_model)
                .with_bias(false)
                .init(device),
        }
    }

    /// `out_proj(ssm(silu(conv(u))) ⊙ silu(res))` with `[u, res] = in_proj(x)`.
    ///
    /// # Shapes
    /// - x: `[batch, length, D]` → `[batch, length, D]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x_and_res = self.in_proj.forward(x); // [B, L, 2·d_inner]
        let d_inner = x_and_res.dims()[2] / 2;
        let u = x_and_res.clone().narrow(2, 0, d_inner);
        let res = x_and_res.narrow(2, d_inner, d_inner);
        let u = silu(self.conv1d.forward(u.swap_dims(1, 2)).swap_dims(1, 2)); // [B, L, d_inner]
        self.out_proj.forward(self.ssm(u) * silu(res))
    }

    /// Selective scan from `h = 0`: `h_t = exp(δ_t ⊗ A) ⊙ h_{t−1} + (δ_t ⊙ u_t) ⊗ B_t`,
    /// `y_t = h_t · C_t + D ⊙ u_t`, with `δ = softplus(dt_proj(δ_r))`.
    ///
    /// # Shapes
    /// - u: `[batch, length, d_inner]` → `[batch, length, d_inner]`
    fn ssm(&self, u: Tensor<3>) -> Tensor<3> {
        let [_, length, _] = u.dims();
        let [d_inner, n] = self.a_log.dims();
        let x_dbl = self.x_proj.forward(u.clone()); // [B, L, dt_rank + 2n]
        let dt_rank = x_dbl.dims()[2] - 2 * n;
        let delta = softplus(
            self.dt_proj.forward(x_dbl.clone().narrow(2, 0, dt_rank)),
            1.0,
        ); // [B, L, d_inner]
        let b = x_dbl.clone().narrow(2, dt_rank, n); // [B, L, n]
        let c = x_dbl.narrow(2, dt_rank + n, n);
        let a = self.a_log.val().exp().neg().reshape([1, 1, d_inner, n]);
        let delta_a = (delta.clone().unsqueeze_dim::<4>(3) * a).exp(); // [B, L, d_inner, n]
        let delta_b_u = (delta * u.clone()).unsqueeze_dim::<4>(3) * b.unsqueeze_dim::<4>(2);

        let mut h: Option<Tensor<4>> = None; // [B, 1, d_inner, n]
        let mut ys = Vec::with_capacity(length);
        for t in 0..length {
            let input = delta_b_u.clone().narrow(1, t, 1);
            let state = match h {
                Some(h) => delta_a.clone().narrow(1, t, 1) * h + input,
                None => input,
            };
            let c_t = c.clone().narrow(1, t, 1).unsqueeze_dim::<4>(2); // [B, 1, 1, n]
            ys.push((state.clone() * c_t).sum_dim(3).squeeze_dim::<3>(3)); // [B, 1, d_inner]
            h = Some(state);
        }
        Tensor::cat(ys, 1) + u * self.d.val().reshape([1, 1, d_inner])
    }
}

/// Pre-norm residual: `x + mixer(norm(x))`.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    pub mixer: MambaBlock,
    pub norm: RmsNorm,
}

/// PyOmniTS `MambaSimple` in classification mode.
#[derive(Module, Debug)]
pub struct MambaSimple {
    /// Token conv + `general_embed(t/10)` + sinusoid positions.
    pub embedding: DataEmbedding,
    pub layers: Vec<ResidualBlock>,
    /// Final RMSNorm (`x·rsqrt(mean(x²) + 1e-5)·w`).
    pub norm: RmsNorm,
    pub decoder_classification: Linear,
    /// The embedding's dropout (training only).
    pub dropout: Dropout,
}

impl ZooModel for MambaSimple {
    /// Embedding with the default time mark → residual Mamba blocks → RMSNorm → mean over
    /// time → `decoder_classification`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, _] = input.x.dims();
        let marks = time_marks(batch, length, &input.device());
        let x = self
            .dropout
            .forward(self.embedding.forward(input.x.clone(), Some(marks))); // [B, L, D]
        let x = self.layers.iter().fold(x, |x, layer| {
            x.clone() + layer.mixer.forward(layer.norm.forward(x))
        });
        let pooled = self.norm.forward(x).mean_dim(1).squeeze_dim::<2>(1); // [B, D]
        self.decoder_classification.forward(pooled)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"\.mixer\.A_log$", ".mixer.a_log"),
            (r"\.mixer\.D$", ".mixer.d"),
        ]
    }
}
