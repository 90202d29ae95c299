//! Nonstationary_Transformer (models.md §2.15). As coded upstream it is a vanilla Transformer:
//! the de-stationary factors τ and Δ are learned but `AttentionLayer` never hands them to
//! `DSAttention`. `fixed = true` passes them through, as the Non-stationary Transformers paper
//! (and Time-Series-Library) intends.

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::encoder::Encoder;
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::layers::ops::pad_circular;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`NonstationaryTransformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NonstationaryTransformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
    /// Hidden widths of the τ/Δ projector MLPs (the first `p_hidden_layers` are used).
    pub nonstationarytransformer_p_hidden_dims: Vec<usize>,
    /// Number of hidden layers of the projector MLPs.
    pub nonstationarytransformer_p_hidden_layers: usize,
    /// `false` (upstream): τ, Δ are computed nowhere and attention is plain. `true`: the
    /// de-stationary attention `softmax((QKᵀ·τ + Δ)/√E)` the model was designed with.
    #[serde(default)]
    pub fixed: bool,
}

impl Default for NonstationaryTransformerConfig {
    fn default() -> Self {
        Self {
            d_model: 256,
            n_heads: 8,
            e_layers: 2,
            d_ff: 512,
            dropout: 0.05,
            nonstationarytransformer_p_hidden_dims: vec![128, 128],
            nonstationarytransformer_p_hidden_layers: 2,
            fixed: false,
        }
    }
}

impl NonstationaryTransformerConfig {
    /// A projector: `series_conv` then MLP `2·128 → hidden… → output_dim` (last layer no bias).
    fn projector(&self, output_dim: usize, device: &Device) -> Projector {
        let hidden = &self.nonstationarytransformer_p_hidden_dims
            [..self.nonstationarytransformer_p_hidden_layers];
        let widths: Vec<usize> = std::iter::once(2 * EMBEDDING_DIM)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(output_dim))
            .collect();
        let mut backbone = relu_mlp(&widths, device);
        if let Some(Some(last)) = backbone.last_mut() {
            last.bias = None;
        }
        Projector {
            series_conv: Conv1dConfig::new(FRAMES_PER_CLIP, 1, 3)
                .with_bias(false)
                .init(device),
            backbone,
        }
    }
}

impl ZooConfig for NonstationaryTransformerConfig {
    type Model = NonstationaryTransformer;
    const NAME: &'static str = "Nonstationary_Transformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            (
                "nonstationarytransformer_p_hidden_layers",
                self.nonstationarytransformer_p_hidden_layers,
            ),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        let dims = &self.nonstationarytransformer_p_hidden_dims;
        if dims.len() < self.nonstationarytransformer_p_hidden_layers {
            return Err(Self::invalid(format!(
                "nonstationarytransformer_p_hidden_dims has {} entries, fewer than \
                 nonstationarytransformer_p_hidden_layers ({})",
                dims.len(),
                self.nonstationarytransformer_p_hidden_layers
            )));
        }
        if dims.contains(&0) {
            return Err(Self::invalid(
                "nonstationarytransformer_p_hidden_dims must be positive",
            ));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<NonstationaryTransformer> {
        self.validate()?;
        Ok(NonstationaryTransformer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            encoder: Encoder::new(
                self.e_layers,
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.dropout,
                device,
            ),
            projection: projection(FRAMES_PER_CLIP, self.d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
            tau_learner: self.projector(1, device),
            delta_learner: self.projector(FRAMES_PER_CLIP, device),
            fixed: self.fixed,
        })
    }
}

/// `Projector`: learns a de-stationary factor from the raw series and one statistic per channel.
#[derive(Module, Debug)]
pub struct Projector {
    /// `Conv1d(L → 1, k=3, circular padding 1, no bias)` sliding over the channel axis.
    pub series_conv: Conv1d,
    /// `Linear(2·128 → h₀), ReLU, …, Linear(h → output_dim, no bias)` at PyTorch's indices.
    pub backbone: ReluMlp,
}

impl Projector {
    /// # Shapes
    /// - x: `[batch, L, 128]`, stats: `[batch, 1, 128]` → `[batch, output_dim]`
    pub fn forward(&self, x: Tensor<3>, stats: Tensor<3>) -> Tensor<2> {
        let [batch, _, channels] = x.dims();
        let conv = self.series_conv.forward(pad_circular(x, 1, 1)); // [batch, 1, 128]
        let joined = Tensor::cat(vec![conv, stats], 1).reshape([batch, 2 * channels]);
        relu_mlp_forward(&self.backbone, joined)
    }
}

/// PyOmniTS `Nonstationary_Transformer` in classification mode.
#[derive(Module, Debug)]
pub struct NonstationaryTransformer {
    pub enc_embedding: DataEmbedding,
    pub encoder: Encoder,
    pub projection: Linear,
    pub dropout: Dropout,
    pub tau_learner: Projector,
    pub delta_learner: Projector,
    pub fixed: bool,
}

impl NonstationaryTransformer {
    /// `τ = exp(tau_learner(x, σ))` `[batch]` and `Δ = delta_learner(x, μ)` `[batch, L]`, with the
    /// per-channel mean μ and biased standard deviation σ (+1e-5 inside the root) over time.
    fn destationary_factors(&self, x: Tensor<3>) -> (Tensor<1>, Tensor<2>) {
        let [batch, _, _] = x.dims();
        let mean = x.clone().mean_dim(1); // [batch, 1, 128]
        let centred = x.clone() - mean.clone();
        let std = (centred.powi_scalar(2).mean_dim(1) + 1e-5).sqrt();
        let tau = self
            .tau_learner
            .forward(x.clone(), std)
            .exp()
            .reshape([batch]);
        let delta = self.delta_learner.forward(x, mean);
        (tau, delta)
    }

    /// The encoder with `DSAttention` receiving τ and Δ (the `fixed` path).
    ///
    /// # Shapes
    /// - x: `[batch, L, d_model]`, tau: `[batch]`, delta: `[batch, L]` → `[batch, L, d_model]`
    fn destationary_encoder(&self, x: Tensor<3>, tau: Tensor<1>, delta: Tensor<2>) -> Tensor<3> {
        let x = self.encoder.attn_layers.iter().fold(x, |x, layer| {
            let attention = &layer.attention;
            let attended = attention.forward_with(x.clone(), x.clone(), x.clone(), |q, k, v| {
                ds_attention(q, k, v, tau.clone(), delta.clone(), &attention.dropout)
            });
            layer.feed_forward(x + layer.dropout.forward(attended))
        });
        self.encoder.norm.forward(x)
    }
}

/// `DSAttention`: `dropout(softmax((Q Kᵀ · τ + Δ) / √E)) V` per head.
///
/// # Shapes
/// - q: `[batch, L, H, E]`, k and v: `[batch, S, H, E]`, tau `[batch]`, delta `[batch, S]`
/// - output: `[batch, L, H, E]`
fn ds_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    tau: Tensor<1>,
    delta: Tensor<2>,
    dropout: &Dropout,
) -> Tensor<4> {
    let [batch, _, _, e] = q.dims();
    let s = k.dims()[1];
    let q = q.swap_dims(1, 2); // [batch, H, L, E]
    let k = k.swap_dims(1, 2).swap_dims(2, 3); // [batch, H, E, S]
    let v = v.swap_dims(1, 2); // [batch, H, S, E]
    let scores = q.matmul(k) * tau.reshape([batch, 1, 1, 1]) + delta.reshape([batch, 1, 1, s]);
    let weights = softmax(scores.mul_scalar(1.0 / (e as f64).sqrt()), 3); // [batch, H, L, S]
    dropout.forward(weights).matmul(v).swap_dims(1, 2)
}

impl ZooModel for NonstationaryTransformer {
    /// `embed(x)` → encoder (plain, or de-stationary when `fixed`) → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let encoded = if self.fixed {
            let (tau, delta) = self.destationary_factors(input.x.clone());
            self.destationary_encoder(embedded, tau, delta)
        } else {
            self.encoder.forward(embedded)
        };
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::tensor::TensorData;
    use insrec_testutil::{fixture, read_npy_flat};

    use super::*;
    use crate::config::from_fixture_file;
    use crate::weights::load_pytorch;

    fn fixture_model(fixed: bool, device: &Device) -> NonstationaryTransformer {
        let dir = "pyomnits/Nonstationary_Transformer";
        let mut config: NonstationaryTransformerConfig =
            from_fixture_file(&fixture(format!("{dir}/config.json"))).expect("fixture config");
        config.fixed = fixed;
        let mut model = config.init(device).expect("builds");
        load_pytorch(
            &mut model,
            "Nonstationary_Transformer",
            &fixture(format!("{dir}/weights.safetensors")),
        )
        .expect("fixture weights load");
        model
    }

    fn logits(model: &NonstationaryTransformer, device: &Device) -> Vec<f32> {
        let (x, shape) = read_npy_flat::<f32>("pyomnits/Nonstationary_Transformer/input.npy");
        let input = SequenceInput::new(Tensor::from_data(TensorData::new(x, shape), device))
            .expect("clip shape");
        model.forward(&input).into_data().iter::<f32>().collect()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    fn zero_last_layer(projector: &mut Projector) {
        if let Some(Some(last)) = projector.backbone.last_mut() {
            last.weight = Param::from_tensor(last.weight.val().zeros_like());
        }
    }

    #[test]
    fn fixed_variant_applies_tau_and_delta() {
        let device = Device::flex();
        let upstream = logits(&fixture_model(false, &device), &device);
        let mut fixed = fixture_model(true, &device);
        let destationary = logits(&fixed, &device);
        assert!(
            max_diff(&upstream, &destationary) > 1e-3,
            "τ/Δ should change the logits"
        );
        // τ = exp(0) = 1 and Δ = 0 reduce de-stationary attention to plain attention.
        zero_last_layer(&mut fixed.tau_learner);
        zero_last_layer(&mut fixed.delta_learner);
        let neutral = logits(&fixed, &device);
        assert!(
            max_diff(&upstream, &neutral) < 1e-5,
            "τ = 1, Δ = 0 must give the upstream logits"
        );
    }
}
