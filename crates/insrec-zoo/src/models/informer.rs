//! Informer (models.md §2.11): the Transformer of §2.5 with ProbSparse attention, which samples
//! keys at random on every call and hands its head-major output to `out_projection` through a
//! memory reinterpretation (models.md §1.6).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::encoder::Encoder;
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::random::DrawSource;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`Informer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// ProbSparse sampling factor `c`: `c·⌈ln L⌉` keys sampled per query and queries attended.
    pub factor: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for InformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            factor: 1,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for InformerConfig {
    type Model = Informer;
    const NAME: &'static str = "Informer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            ("factor", self.factor),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<Informer> {
        self.validate()?;
        Ok(Informer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            dec_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
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
            factor: self.factor,
        })
    }
}

/// PyOmniTS `Informer` in classification mode.
#[derive(Module, Debug)]
pub struct Informer {
    pub enc_embedding: DataEmbedding,
    /// Built by upstream for forecasting; in the checkpoint but unused.
    pub dec_embedding: DataEmbedding,
    pub encoder: Encoder,
    pub projection: Linear,
    pub dropout: Dropout,
    pub factor: usize,
}

impl ZooModel for Informer {
    /// `embed(x)` → encoder with ProbSparse attention → `gelu · t/10` → `projection`. Draws one
    /// `[10, c·⌈ln 10⌉]` key sample per layer (replayed from `input.draws` when given).
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let mut draws = DrawSource::new(input);
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let x = self.encoder.attn_layers.iter().fold(embedded, |x, layer| {
            let attended =
                layer
                    .attention
                    .forward_with(x.clone(), x.clone(), x.clone(), |q, k, v| {
                        prob_attention(q, k, v, self.factor, &mut draws)
                    });
            layer.feed_forward(x + layer.dropout.forward(attended))
        });
        let encoded = self.encoder.norm.forward(x);
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}

/// `ProbAttention` without mask. With `U = u = min(factor·⌈ln L⌉, L)`: draw `idx [L, U]` keys per
/// query (shared over batch and heads), score the sparsity `M = max_s S − Σ_s S / L` of each
/// query on its sampled keys, give the `u` queries with the largest `M` full softmax attention and
/// every other query the mean of the values. The `[B, H, L, E]` context is returned reinterpreted
/// as `[B, L, H, E]`, as upstream's `view` does.
///
/// # Shapes
/// - q, k, v: `[batch, L, H, E]` → `[batch, L, H, E]` (memory view of `[batch, H, L, E]`)
fn prob_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    factor: usize,
    draws: &mut DrawSource,
) -> Tensor<4> {
    let [batch, length, heads, e] = q.dims();
    let device = q.device();
    let samples = (factor * (length as f64).ln().ceil() as usize).min(length);
    let q = q.swap_dims(1, 2); // [batch, H, L, E]
    let k = k.swap_dims(1, 2); // [batch, H, L, E]
    let v = v.swap_dims(1, 2); // [batch, H, L, E]
    let scores = q.matmul(k.swap_dims(2, 3)); // [batch, H, L, L]

    let index_sample: Tensor<2, Int> = draws.randint([length, samples], length, &device);
    let index = index_sample
        .reshape([1, 1, length, samples])
        .expand([batch, heads, length, samples]);
    let sampled = scores.clone().detach().gather(3, index); // [batch, H, L, U]
    let sparsity = sampled.clone().max_dim(3) - sampled.sum_dim(3).div_scalar(length as f64);
    let threshold = sparsity
        .clone()
        .sort_descending(2)
        .narrow(2, samples - 1, 1) // u-th largest, [batch, H, 1, 1]
        .expand([batch, heads, length, 1]);
    let selected = sparsity
        .greater_equal(threshold)
        .expand([batch, heads, length, e]); // the top-u queries

    let attended = softmax(scores.mul_scalar(1.0 / (e as f64).sqrt()), 3).matmul(v.clone());
    let mean = v.mean_dim(2).expand([batch, heads, length, e]);
    mean.mask_where(selected, attended)
        .reshape([batch, length, heads, e])
}
