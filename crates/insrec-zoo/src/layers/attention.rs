//! `AttentionLayer` and `FullAttention` of `SelfAttention_Family.py` (models.md §1.5).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Tensor};

/// Query/key/value/output projections around an inner attention, split into `n_heads` heads.
#[derive(Module, Debug)]
pub struct AttentionLayer {
    pub query_projection: Linear,
    pub key_projection: Linear,
    pub value_projection: Linear,
    pub out_projection: Linear,
    /// Dropout on the attention weights (`FullAttention.dropout`, training only).
    pub dropout: Dropout,
    pub n_heads: usize,
}

impl AttentionLayer {
    /// Projections `d_model → d_model` (with bias); `n_heads` must divide `d_model`.
    pub fn new(d_model: usize, n_heads: usize, dropout: f64, device: &Device) -> Self {
        let linear = || LinearConfig::new(d_model, d_model).init(device);
        Self {
            query_projection: linear(),
            key_projection: linear(),
            value_projection: linear(),
            out_projection: linear(),
            dropout: DropoutConfig::new(dropout).init(),
            n_heads,
        }
    }

    /// Self/cross attention with [`full_attention`].
    ///
    /// # Shapes
    /// - queries: `[batch, L, d_model]`, keys and values: `[batch, S, d_model]`
    /// - mask: `[batch, n_heads, L, S]`, true = masked out
    /// - output: `[batch, L, d_model]`
    pub fn forward(
        &self,
        queries: Tensor<3>,
        keys: Tensor<3>,
        values: Tensor<3>,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        self.forward_with(queries, keys, values, |q, k, v| {
            full_attention(q, k, v, mask, &self.dropout)
        })
    }

    /// Runs the projections around any inner attention (ProbAttention, AutoCorrelation, ...).
    /// `inner` gets and returns head-split tensors; it may return any `[batch, L, n_heads, E]`
    /// tensor, including a memory reinterpretation (models.md §1.6).
    ///
    /// # Shapes
    /// - inner: q `[batch, L, H, E]`, k and v `[batch, S, H, E]` → `[batch, L, H, E]`
    pub fn forward_with(
        &self,
        queries: Tensor<3>,
        keys: Tensor<3>,
        values: Tensor<3>,
        inner: impl FnOnce(Tensor<4>, Tensor<4>, Tensor<4>) -> Tensor<4>,
    ) -> Tensor<3> {
        let [batch, l, _] = queries.dims();
        let s = keys.dims()[1];
        let h = self.n_heads;
        let q =
            self.query_projection
                .forward(queries)
                .reshape([batch as i32, l as i32, h as i32, -1]);
        let k = self
            .key_projection
            .forward(keys)
            .reshape([batch as i32, s as i32, h as i32, -1]);
        let v =
            self.value_projection
                .forward(values)
                .reshape([batch as i32, s as i32, h as i32, -1]);
        let out = inner(q, k, v).reshape([batch as i32, l as i32, -1]);
        self.out_projection.forward(out)
    }
}

/// `FullAttention`: `dropout(softmax(Q Kᵀ / √E)) V` per head.
///
/// # Shapes
/// - q: `[batch, L, H, E]`, k and v: `[batch, S, H, E]`, mask `[batch, H, L, S]` (true = −∞)
/// - output: `[batch, L, H, E]`
pub fn full_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
    dropout: &Dropout,
) -> Tensor<4> {
    let e = q.dims()[3];
    let q = q.swap_dims(1, 2); // [batch, H, L, E]
    let k = k.swap_dims(1, 2).swap_dims(2, 3); // [batch, H, E, S]
    let v = v.swap_dims(1, 2); // [batch, H, S, E]
    let mut scores = q.matmul(k).mul_scalar(1.0 / (e as f64).sqrt()); // [batch, H, L, S]
    if let Some(mask) = mask {
        scores = scores.mask_fill(mask, f32::NEG_INFINITY);
    }
    dropout
        .forward(softmax(scores, 3))
        .matmul(v)
        .swap_dims(1, 2)
}
