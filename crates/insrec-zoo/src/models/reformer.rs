//! Reformer (models.md §2.21): the Transformer of §2.5 whose attention is `reformer_pytorch`'s
//! `LSHSelfAttention`: shared queries/keys hashed into buckets by random rotations drawn on
//! every call, attention within sorted chunks, hash rounds merged by their log-sum-exp.

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_heads, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::ops::{gelu, pointwise_conv};
use crate::layers::random::DrawSource;
use crate::model::{SequenceInput, ZooModel};

/// Tokens per bucket (`bucket_size`, hard-coded in PyOmniTS's `Reformer.Model`).
const BUCKET_SIZE: usize = 4;
/// Hash rounds (`n_hashes`, hard-coded in PyOmniTS's `Reformer.Model`).
const N_HASHES: usize = 4;
/// Score of a token attending to itself (`TOKEN_SELF_ATTN_VALUE` of `reformer_pytorch`).
const TOKEN_SELF_ATTN_VALUE: f32 = -5e4;
/// Floor of the key norm (`F.normalize`'s `eps`).
const NORMALIZE_EPSILON: f64 = 1e-12;

/// Hyper-parameters of [`Reformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for ReformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for ReformerConfig {
    type Model = Reformer;
    const NAME: &'static str = "Reformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Reformer> {
        self.validate()?;
        let d = self.d_model;
        let layer = || ReformerEncoderLayer {
            attention: ReformerLayer {
                attn: LshSelfAttention {
                    toqk: LinearConfig::new(d, d).with_bias(false).init(device),
                    tov: LinearConfig::new(d, d).with_bias(false).init(device),
                    to_out: LinearConfig::new(d, d).init(device),
                    n_heads: self.n_heads,
                },
            },
            conv1: Conv1dConfig::new(d, self.d_ff, 1).init(device),
            conv2: Conv1dConfig::new(self.d_ff, d, 1).init(device),
            norm1: LayerNormConfig::new(d).init(device),
            norm2: LayerNormConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        };
        Ok(Reformer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, d, device),
            encoder: ReformerEncoder {
                attn_layers: (0..self.e_layers).map(|_| layer()).collect(),
                norm: LayerNormConfig::new(d).init(device),
            },
            projection: projection(FRAMES_PER_CLIP, d, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `reformer_pytorch.LSHSelfAttention(dim = d_model, heads = n_heads)`: `toqk`, `tov` (no bias),
/// `to_out`.
#[derive(Module, Debug)]
pub struct LshSelfAttention {
    pub toqk: Linear,
    pub tov: Linear,
    pub to_out: Linear,
    pub n_heads: usize,
}

impl LshSelfAttention {
    /// Shared-QK LSH self-attention over all `length` tokens (a multiple of `2 · BUCKET_SIZE`),
    /// with one `[1, E, N_HASHES, n_buckets / 2]` rotation draw.
    ///
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    fn forward(&self, x: Tensor<3>, draws: &mut DrawSource) -> Tensor<3> {
        let [batch, length, d_model] = x.dims();
        let heads = self.n_heads;
        let head_dim = d_model / heads;
        let merge_heads = |t: Tensor<3>| {
            t.reshape([batch, length, heads, head_dim])
                .swap_dims(1, 2)
                .reshape([batch * heads, length, head_dim])
        };
        let qk = merge_heads(self.toqk.forward(x.clone()));
        let v = merge_heads(self.tov.forward(x));
        let n_buckets = length / BUCKET_SIZE;
        let rotations = draws.randn([1, head_dim, N_HASHES, n_buckets / 2], &qk.device());
        let out = lsh_attention(qk, v, rotations) // [batch·H, length, E]
            .reshape([batch, heads, length, head_dim])
            .swap_dims(1, 2)
            .reshape([batch, length, d_model]);
        self.to_out.forward(out)
    }
}

/// `LSHAttention` (shared QK, `n_hashes` rounds, one chunk of look-back, no masks, no dropout):
/// bucket `argmax([x R_r, −x R_r]) + r·n_buckets` per round, sort the `(round, token)` items
/// by `length · bucket + token`, attend within chunks of `BUCKET_SIZE` items and their previous
/// chunk (keys are the L2-normalised queries, a token's own key scores −5·10⁴), unsort and
/// combine the rounds with weights `softmax_r(logsumexp_r)`.
///
/// # Shapes
/// - qk, v: `[n, length, E]`; rotations: `[1, E, n_hashes, n_buckets / 2]`
/// - output: `[n, length, E]`
fn lsh_attention(qk: Tensor<3>, v: Tensor<3>, rotations: Tensor<4>) -> Tensor<3> {
    let [n, length, e] = qk.dims();
    let [_, _, hashes, half] = rotations.dims();
    let n_buckets = 2 * half;
    let items = hashes * length;
    let chunks = items / BUCKET_SIZE;
    let device = qk.device();

    // Buckets [n, hashes · length], round-major, with per-round offsets.
    let rotated = qk
        .clone()
        .detach()
        .matmul(rotations.reshape([1, e, hashes * half]))
        .reshape([n, length, hashes, half])
        .swap_dims(1, 2); // [n, hashes, length, half]
    let buckets = Tensor::cat(vec![rotated.clone(), rotated.neg()], 3).argmax(3); // [n, hashes, length, 1]
    let offsets = Tensor::<1, Int>::arange(0..hashes as i64, &device)
        .mul_scalar(n_buckets as i64)
        .reshape([1, hashes, 1, 1]);
    let buckets = (buckets + offsets).reshape([n, items]);

    // Sort the items by (bucket, token); `st` is the token of each sorted item.
    let ticker = Tensor::<1, Int>::arange(0..items as i64, &device).reshape([1, items]);
    let keys = buckets.mul_scalar(length as i64) + ticker.remainder_scalar(length as i64);
    let (_, sticker) = keys.sort_with_indices(1); // [n, items]
    let undo_sort = sticker.clone().argsort(1);
    let st = sticker.remainder_scalar(length as i64);

    // Chunked attention with one chunk of look-back: the tokens of each chunk's queries
    // `bq_t` and of its keys and values `bkv_t` (the chunk, then the previous one).
    let bq_t = st.clone().reshape([n, chunks, BUCKET_SIZE]);
    let bkv_t =
        look_one_back(bq_t.clone().unsqueeze_dim::<4>(3)).reshape([n, chunks * 2 * BUCKET_SIZE]);
    // max(‖x‖, ε) as sqrt(max(‖x‖², ε²)): no infinite gradient at the zero padding tokens.
    let norm = qk
        .clone()
        .powi_scalar(2)
        .sum_dim(2)
        .clamp_min(NORMALIZE_EPSILON * NORMALIZE_EPSILON)
        .sqrt();
    let keys = qk.clone() / norm;
    let bq = take_rows(qk, st).reshape([n, chunks, BUCKET_SIZE, e]);
    let bk = take_rows(keys, bkv_t.clone()).reshape([n, chunks, 2 * BUCKET_SIZE, e]);
    let bv = take_rows(v, bkv_t.clone()).reshape([n, chunks, 2 * BUCKET_SIZE, e]);
    let dots = bq
        .matmul(bk.swap_dims(2, 3))
        .mul_scalar(1.0 / (e as f64).sqrt()); // [n, chunks, B, 2B]
    let self_pairs = bq_t
        .unsqueeze_dim::<4>(3)
        .expand([n, chunks, BUCKET_SIZE, 2 * BUCKET_SIZE])
        .equal(bkv_t.reshape([n, chunks, 1, 2 * BUCKET_SIZE]).expand([
            n,
            chunks,
            BUCKET_SIZE,
            2 * BUCKET_SIZE,
        ]));
    let dots = dots.mask_fill(self_pairs, TOKEN_SELF_ATTN_VALUE);
    let peak = dots.clone().max_dim(3).detach();
    let logsumexp = (dots.clone() - peak.clone()).exp().sum_dim(3).log() + peak; // [n, chunks, B, 1]
    let probs = (dots - logsumexp.clone()).exp();
    let sorted_out = probs.matmul(bv).reshape([n, items, e]);
    let sorted_logits = logsumexp.reshape([n, items, 1]);

    // Unsort and merge the hash rounds.
    let out = take_rows(sorted_out, undo_sort.clone()).reshape([n, hashes, length, e]);
    let logits = take_rows(sorted_logits, undo_sort).reshape([n, hashes, length, 1]);
    (out * softmax(logits, 1))
        .sum_dim(1)
        .reshape([n, length, e])
}

/// Row `index[i, j]` of `x[i]` for every `(i, j)`, as one `select` over the flattened rows (a
/// `gather` along axis 1 is an order of magnitude slower on the flex backend).
///
/// # Shapes
/// - x: `[n, rows, width]`, index: `[n, picks]` (values in `0..rows`) → `[n, picks, width]`
fn take_rows(x: Tensor<3>, index: Tensor<2, Int>) -> Tensor<3> {
    let [n, rows, width] = x.dims();
    let picks = index.dims()[1];
    let offsets = Tensor::<1, Int>::arange(0..n as i64, &x.device())
        .mul_scalar(rows as i64)
        .reshape([n, 1])
        .cast(index.dtype());
    x.reshape([n * rows, width])
        .select(0, (index + offsets).reshape([n * picks]))
        .reshape([n, picks, width])
}

/// `look_one_back`: each chunk followed by the previous chunk (chunk 0 by the last one).
///
/// # Shapes
/// - x: `[n, chunks, size, width]` → `[n, chunks, 2·size, width]`
fn look_one_back<K: burn::tensor::kind::Basic>(x: Tensor<4, K>) -> Tensor<4, K> {
    let chunks = x.dims()[1];
    let previous = Tensor::cat(
        vec![
            x.clone().narrow(1, chunks - 1, 1),
            x.clone().narrow(1, 0, chunks - 1),
        ],
        1,
    );
    Tensor::cat(vec![x, previous], 2)
}

/// PyOmniTS `ReformerLayer`: zero tokens appended up to a multiple of `2 · BUCKET_SIZE` (they
/// take part in the attention), LSH self-attention, the appended rows dropped.
#[derive(Module, Debug)]
pub struct ReformerLayer {
    pub attn: LshSelfAttention,
}

impl ReformerLayer {
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    fn forward(&self, x: Tensor<3>, draws: &mut DrawSource) -> Tensor<3> {
        let [batch, length, d_model] = x.dims();
        let multiple = 2 * BUCKET_SIZE;
        let fill = (multiple - length % multiple) % multiple;
        let padded = if fill == 0 {
            x
        } else {
            let zeros = Tensor::zeros([batch, fill, d_model], &x.device());
            Tensor::cat(vec![x, zeros], 1)
        };
        self.attn.forward(padded, draws).narrow(1, 0, length)
    }
}

/// Post-norm `EncoderLayer` (models.md §1.5) around a [`ReformerLayer`].
#[derive(Module, Debug)]
pub struct ReformerEncoderLayer {
    pub attention: ReformerLayer,
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub dropout: Dropout,
}

impl ReformerEncoderLayer {
    /// `x = norm1(x + attn(x))`, `x = norm2(x + conv2(gelu(conv1(x))))`.
    ///
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    fn forward(&self, x: Tensor<3>, draws: &mut DrawSource) -> Tensor<3> {
        let attended = self.attention.forward(x.clone(), draws);
        let x = self.norm1.forward(x + self.dropout.forward(attended));
        let y = self
            .dropout
            .forward(gelu(pointwise_conv(&self.conv1, x.clone())));
        let y = self.dropout.forward(pointwise_conv(&self.conv2, y));
        self.norm2.forward(x + y)
    }
}

/// Encoder layers followed by a final `LayerNorm` (`encoder.norm`).
#[derive(Module, Debug)]
pub struct ReformerEncoder {
    pub attn_layers: Vec<ReformerEncoderLayer>,
    pub norm: LayerNorm,
}

/// PyOmniTS `Reformer` in classification mode.
#[derive(Module, Debug)]
pub struct Reformer {
    pub enc_embedding: DataEmbedding,
    pub encoder: ReformerEncoder,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Reformer {
    /// `embed(x)` (no time mark) → encoder with LSH attention → `gelu · t/10` → `projection`.
    /// Draws one rotation tensor per layer (replayed from `input.draws` when given).
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let mut draws = DrawSource::new(input);
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let x = self
            .encoder
            .attn_layers
            .iter()
            .fold(embedded, |x, layer| layer.forward(x, &mut draws));
        let encoded = self.encoder.norm.forward(x);
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// With 8 tokens and one hash round there are two chunks of 4, each attending to itself and
    /// the other: every query sees every key once, so LSH attention is full attention with
    /// normalised keys and the self score −5·10⁴, whatever the rotation.
    #[test]
    fn two_chunks_are_full_attention() {
        let device = Device::flex();
        let qk = Tensor::<3>::random([3, 8, 4], Distribution::Normal(0.0, 1.0), &device);
        let v = Tensor::<3>::random([3, 8, 4], Distribution::Normal(0.0, 1.0), &device);
        let rotation = TensorData::new(vec![0.3f32, -1.2, 0.7, 2.0], [1, 4, 1, 1]);
        let actual = lsh_attention(qk.clone(), v.clone(), Tensor::from_data(rotation, &device));

        let norm = qk.clone().powi_scalar(2).sum_dim(2).sqrt();
        let keys = qk.clone() / norm;
        let eye = Tensor::<2, Int>::eye(8, &device)
            .equal_elem(1)
            .unsqueeze::<3>()
            .expand([3, 8, 8]);
        let scores = qk
            .matmul(keys.swap_dims(1, 2))
            .div_scalar(2.0)
            .mask_fill(eye, TOKEN_SELF_ATTN_VALUE);
        let expected = softmax(scores, 2).matmul(v);
        let diff = (actual - expected).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "{diff}");
    }
}
