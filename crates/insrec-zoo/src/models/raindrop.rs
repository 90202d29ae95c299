//! Raindrop (models.md §2.26): each feature is spread over `d_ob` channels, passed through two
//! observation-propagation graph layers, joined with a sinusoid time encoding and encoded by a
//! PyTorch `nn.TransformerEncoder`; the time-pooled result is classified by an MLP.
//!
//! As coded upstream, the graph layers run on the fully connected feature graph with equal
//! edge weights and the message uses the target's own features, so each layer is exactly
//! `ReLU(lin_value(x_node))` per node (the sum of 128 messages `v/128`). Their other tensors,
//! `backbone.encoder` and `backbone.mlp_static` are in the checkpoint but unused.

use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_positive};
use crate::error::Result;
use crate::layers::attention::full_attention;
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::model::{SequenceInput, ZooModel};

/// Width of the time encoding (`d_pe`, hard-coded upstream).
const D_PE: usize = 16;
/// Transformer encoder layers (`n_layers`, hard-coded upstream).
const N_LAYERS: usize = 2;
/// Dropout of the backbone and its transformer (hard-coded upstream).
const DROPOUT: f64 = 0.3;
/// Width of `map_weights` per head (hard-coded upstream).
const MAP_WIDTH: usize = 16;
/// `increase_dim` widens by this factor (hard-coded upstream).
const INCREASE_FACTOR: usize = 8;

/// Hyper-parameters of [`Raindrop`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaindropConfig {
    /// Channels per feature (`d_ob`, hard-coded 4 upstream in classification).
    pub d_ob: usize,
    /// Heads of the transformer; must divide `128·d_ob + 16`.
    pub n_heads: usize,
}

impl Default for RaindropConfig {
    fn default() -> Self {
        Self {
            d_ob: 4,
            n_heads: 8,
        }
    }
}

impl RaindropConfig {
    /// Width of the propagated features, `128 · d_ob` (`d_model` of the backbone).
    fn d_model(&self) -> usize {
        EMBEDDING_DIM * self.d_ob
    }
}

impl ZooConfig for RaindropConfig {
    type Model = Raindrop;
    const NAME: &'static str = "Raindrop";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("d_ob", self.d_ob), ("n_heads", self.n_heads)])?;
        let width = self.d_model() + D_PE;
        if !width.is_multiple_of(self.n_heads) {
            return Err(Self::invalid(format!(
                "n_heads ({}) must divide the transformer width 128·d_ob + {D_PE} = {width}",
                self.n_heads
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<Raindrop> {
        self.validate()?;
        let d_model = self.d_model();
        let width = d_model + D_PE;
        let node_width = FRAMES_PER_CLIP * self.d_ob;
        let linear = |input, output| LinearConfig::new(input, output).init(device);
        let layer = || TransformerEncoderLayer {
            self_attn: MultiheadAttention {
                in_proj_weight: Initializer::XavierUniform { gain: 1.0 }.init_with(
                    [3 * width, width],
                    Some(width),
                    Some(3 * width),
                    device,
                ),
                in_proj_bias: Initializer::Zeros.init([3 * width], device),
                out_proj: linear(width, width),
                dropout: DropoutConfig::new(DROPOUT).init(),
                n_heads: self.n_heads,
            },
            linear1: linear(width, 2 * d_model),
            linear2: linear(2 * d_model, width),
            norm1: LayerNormConfig::new(width).init(device),
            norm2: LayerNormConfig::new(width).init(device),
            dropout: DropoutConfig::new(DROPOUT).init(),
        };
        Ok(Raindrop {
            backbone: BackboneRaindrop {
                encoder: linear(d_model, d_model),
                transformer_encoder: TransformerEncoder {
                    layers: (0..N_LAYERS).map(|_| layer()).collect(),
                },
                r_u: Initializer::XavierUniform { gain: 1.0 }.init_with(
                    [1, d_model],
                    Some(d_model),
                    Some(1),
                    device,
                ),
                ob_propagation: ObservationPropagation::new(node_width, device),
                ob_propagation_layer2: ObservationPropagation::new(node_width, device),
                mlp_static: relu_mlp(&[width, width, NUM_CLASSES], device),
                dropout: DropoutConfig::new(DROPOUT).init(),
                d_ob: self.d_ob,
            },
            mlp_static: relu_mlp(&[width, width, NUM_CLASSES], device),
        })
    }
}

/// `ObservationPropagation` (a PyG `MessagePassing` layer) over the 128 feature nodes, each with
/// `10 · d_ob` channels. Only `lin_value` takes part in the forward pass.
#[derive(Module, Debug)]
pub struct ObservationPropagation {
    pub lin_key: Linear,
    pub lin_query: Linear,
    pub lin_value: Linear,
    pub lin_skip: Linear,
    pub weight: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
    pub nodewise_weights: Param<Tensor<2>>,
    pub increase_dim: Linear,
    pub map_weights: Param<Tensor<2>>,
}

impl ObservationPropagation {
    /// A randomly initialised layer with `channels` in and out per node (one head).
    fn new(channels: usize, device: &Device) -> Self {
        let linear = |output| LinearConfig::new(channels, output).init(device);
        let glorot = |shape: [usize; 2]| {
            Initializer::XavierUniform { gain: 1.0 }.init_with(
                shape,
                Some(shape[1]),
                Some(shape[0]),
                device,
            )
        };
        let bound = 1.0 / (channels as f64).sqrt();
        Self {
            lin_key: linear(channels),
            lin_query: linear(channels),
            lin_value: linear(channels),
            lin_skip: linear(channels),
            weight: glorot([channels, channels]),
            bias: Initializer::Uniform {
                min: -bound,
                max: bound,
            }
            .init([channels], device),
            nodewise_weights: glorot([EMBEDDING_DIM, channels]),
            increase_dim: linear(channels * INCREASE_FACTOR),
            map_weights: glorot([EMBEDDING_DIM, MAP_WIDTH]),
        }
    }

    /// The layer as upstream computes it: `ReLU(lin_value(x))` per node.
    ///
    /// # Shapes
    /// - x: `[batch, nodes, channels]` → `[batch, nodes, channels]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        relu(self.lin_value.forward(x))
    }
}

/// PyTorch `nn.MultiheadAttention` (self-attention, no mask): `in_proj_weight` stacks the
/// query, key and value projections `[3·width, width]`.
#[derive(Module, Debug)]
pub struct MultiheadAttention {
    pub in_proj_weight: Param<Tensor<2>>,
    pub in_proj_bias: Param<Tensor<1>>,
    pub out_proj: Linear,
    pub dropout: Dropout,
    pub n_heads: usize,
}

impl MultiheadAttention {
    /// # Shapes
    /// - x: `[batch, length, width]` → `[batch, length, width]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, width] = x.dims();
        let weight = self.in_proj_weight.val().transpose().unsqueeze::<3>(); // [1, width, 3·width]
        let qkv = x.matmul(weight) + self.in_proj_bias.val().unsqueeze::<3>();
        let heads = |i: usize| {
            qkv.clone().narrow(2, i * width, width).reshape([
                batch,
                length,
                self.n_heads,
                width / self.n_heads,
            ])
        };
        let out = full_attention(heads(0), heads(1), heads(2), None, &self.dropout);
        self.out_proj.forward(out.reshape([batch, length, width]))
    }
}

/// PyTorch `nn.TransformerEncoderLayer` (post-norm, ReLU):
/// `x = norm1(x + attn(x))`, `x = norm2(x + linear2(relu(linear1 x)))`.
#[derive(Module, Debug)]
pub struct TransformerEncoderLayer {
    pub self_attn: MultiheadAttention,
    pub linear1: Linear,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub dropout: Dropout,
}

impl TransformerEncoderLayer {
    /// # Shapes
    /// - x: `[batch, length, width]` → `[batch, length, width]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.self_attn.forward(x.clone());
        let x = self.norm1.forward(x + self.dropout.forward(attended));
        let y = self
            .linear2
            .forward(self.dropout.forward(relu(self.linear1.forward(x.clone()))));
        self.norm2.forward(x + self.dropout.forward(y))
    }
}

/// PyTorch `nn.TransformerEncoder` without a final norm.
#[derive(Module, Debug)]
pub struct TransformerEncoder {
    pub layers: Vec<TransformerEncoderLayer>,
}

/// `BackboneRaindrop`.
#[derive(Module, Debug)]
pub struct BackboneRaindrop {
    /// `Linear(128·d_ob → 128·d_ob)`, unused.
    pub encoder: Linear,
    pub transformer_encoder: TransformerEncoder,
    /// Per-channel scale `R_u [1, 128·d_ob]`.
    pub r_u: Param<Tensor<2>>,
    pub ob_propagation: ObservationPropagation,
    pub ob_propagation_layer2: ObservationPropagation,
    /// Unused (the top-level `mlp_static` classifies).
    pub mlp_static: ReluMlp,
    pub dropout: Dropout,
    pub d_ob: usize,
}

impl BackboneRaindrop {
    /// The encoded sequence: `ReLU(repeat_interleave(x, d_ob) ⊙ R_u)`, two propagation layers
    /// on the per-feature series, time encoding appended, transformer.
    ///
    /// # Shapes
    /// - x: `[batch, 10, 128]` → `[batch, 10, 128·d_ob + 16]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, features] = x.dims();
        let d_ob = self.d_ob;
        let device = x.device();
        let spread = x
            .unsqueeze_dim::<4>(3)
            .expand([batch, length, features, d_ob])
            .reshape([batch, length, features * d_ob]);
        let h = self
            .dropout
            .forward(relu(spread * self.r_u.val().unsqueeze::<3>()));
        // Node n holds its 10 × d_ob values, time-major.
        let nodes = h
            .reshape([batch, length, features, d_ob])
            .swap_dims(1, 2)
            .reshape([batch, features, length * d_ob]);
        let nodes = self
            .ob_propagation_layer2
            .forward(self.ob_propagation.forward(nodes));
        let propagated = nodes
            .reshape([batch, features, length, d_ob])
            .swap_dims(1, 2)
            .reshape([batch, length, features * d_ob]);
        let pe = time_encoding(length, &device)
            .unsqueeze::<3>()
            .expand([batch, length, D_PE]);
        let x = Tensor::cat(vec![propagated, pe], 2);
        self.transformer_encoder
            .layers
            .iter()
            .fold(x, |x, layer| layer.forward(x))
    }
}

/// `PositionalEncoding(d_pe = 16, max_len = L)` of the marks `t/L`: `[sin(t/s_i), cos(t/s_i)]`
/// with `s_i = L^{i/7}`, computed in float64 from the float32 marks, `[L, 16]`.
fn time_encoding(length: usize, device: &Device) -> Tensor<2> {
    let scales = D_PE / 2;
    let mut table = vec![0f32; length * D_PE];
    for t in 0..length {
        let mark = f64::from(t as f32 / length as f32);
        for i in 0..scales {
            let exponent = i as f64 / (scales - 1) as f64;
            let scaled = mark / (length as f64).powf(exponent);
            table[t * D_PE + i] = scaled.sin() as f32;
            table[t * D_PE + scales + i] = scaled.cos() as f32;
        }
    }
    Tensor::from_data(TensorData::new(table, [length, D_PE]), device)
}

/// PyOmniTS `Raindrop` in classification mode.
#[derive(Module, Debug)]
pub struct Raindrop {
    pub backbone: BackboneRaindrop,
    /// `Linear(w → w), ReLU, Linear(w → 20)` with `w = 128·d_ob + 16`.
    pub mlp_static: ReluMlp,
}

impl ZooModel for Raindrop {
    /// Backbone → `Σ_t / (L + 1)` (every clip has length L) → `mlp_static`. The mask is not
    /// read (`sensor_wise_mask = False` upstream).
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let encoded = self.backbone.forward(input.x.clone());
        let [batch, length, width] = encoded.dims();
        let pooled = encoded
            .sum_dim(1)
            .div_scalar((length + 1) as f64)
            .reshape([batch, width]);
        relu_mlp_forward(&self.mlp_static, pooled)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[(r"^backbone\.R_u$", "backbone.r_u")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pe(t) = [sin(t/s_i), cos(t/s_i)]`, `s_i = 10^{i/7}`, at the marks `t/10`.
    #[test]
    fn time_encoding_uses_log_spaced_scales() {
        let table: Vec<f32> = time_encoding(FRAMES_PER_CLIP, &Device::flex())
            .into_data()
            .iter()
            .collect();
        assert!(table[..8].iter().all(|&v| v == 0.0), "sin at t = 0");
        assert!(table[8..16].iter().all(|&v| v == 1.0), "cos at t = 0");
        let row = &table[5 * D_PE..6 * D_PE]; // t = 0.5
        assert!((row[0] - 0.5f32.sin()).abs() < 1e-7);
        assert!((row[7] - 0.05f32.sin()).abs() < 1e-7);
        assert!((row[8 + 7] - 0.05f32.cos()).abs() < 1e-7);
    }
}
