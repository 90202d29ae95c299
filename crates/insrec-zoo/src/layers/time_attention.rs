//! The learned time embedding and multi-time attention of mTAN (`layers/mTAN/models.py`),
//! also used by PrimeNet (models.md §2.24, §2.25) and, as `LearnableTE`, by Hi_Patch.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

/// Score given to masked time steps before the softmax (PyTorch `masked_fill(…, -1e9)`).
const MASKED_SCORE: f32 = -1e9;

/// `φ(t) = [linear(t), sin(periodic(t))]` with `linear: Linear(1, 1)` and
/// `periodic: Linear(1, embed − 1)`.
///
/// # Shapes
/// - t: `[..., 1]` → `[..., embed]`
pub fn learned_time_embedding<const D: usize>(
    linear: &Linear,
    periodic: &Linear,
    t: Tensor<D>,
) -> Tensor<D> {
    Tensor::cat(
        vec![linear.forward(t.clone()), periodic.forward(t).sin()],
        D - 1,
    )
}

/// `torch.linspace(start, end, steps)` in float32 (PyTorch's symmetric formula), `[1, steps]`.
pub fn linspace(start: f32, end: f32, steps: usize, device: &Device) -> Tensor<2> {
    let step = if steps > 1 {
        (end - start) / (steps - 1) as f32
    } else {
        0.0
    };
    let halfway = steps / 2;
    let values: Vec<f32> = (0..steps)
        .map(|i| {
            if i < halfway {
                start + step * i as f32
            } else {
                end - step * (steps - 1 - i) as f32
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [1, steps]), device)
}

/// `multiTimeAttention`: queries and keys (time embeddings) projected by `linears.0/1` and split
/// into heads; each head attends over the key times to the **unprojected** values; the heads'
/// results are concatenated and projected by `linears.2: Linear(heads · value_dim → hidden)`.
#[derive(Module, Debug)]
pub struct MultiTimeAttention {
    pub linears: Vec<Linear>,
    pub n_heads: usize,
}

impl MultiTimeAttention {
    /// `multiTimeAttention(value_dim, hidden, embed_time, n_heads)`; `n_heads` must divide
    /// `embed_time`.
    pub fn new(
        value_dim: usize,
        hidden: usize,
        embed_time: usize,
        n_heads: usize,
        device: &Device,
    ) -> Self {
        Self {
            linears: vec![
                LinearConfig::new(embed_time, embed_time).init(device),
                LinearConfig::new(embed_time, embed_time).init(device),
                LinearConfig::new(value_dim * n_heads, hidden).init(device),
            ],
            n_heads,
        }
    }

    /// `softmax_t(Q Kᵀ / √(embed/heads))` per head, masked steps scored −1e9, applied to the
    /// values. PyTorch masks each value column separately; here the mask is per time step, which
    /// is the same thing for the per-second mask (equal for every column).
    ///
    /// # Shapes
    /// - query: `[1 or batch, Lq, embed]`, key: `[batch, Lk, embed]`, value: `[batch, Lk, C]`
    /// - mask: `[batch, Lk]` (0 = masked)
    /// - output: `[batch, Lq, hidden]`
    pub fn forward(
        &self,
        query: Tensor<3>,
        key: Tensor<3>,
        value: Tensor<3>,
        mask: Option<Tensor<2>>,
    ) -> Tensor<3> {
        let [batch, key_len, channels] = value.dims();
        let heads = self.n_heads;
        let split = |x: Tensor<3>| {
            let [b, l, e] = x.dims();
            x.reshape([b, l, heads, e / heads]).swap_dims(1, 2) // [b, heads, l, e/heads]
        };
        let q = split(self.linears[0].forward(query));
        let k = split(self.linears[1].forward(key));
        let [_, _, query_len, head_dim] = q.dims();
        let q = q.expand([batch, heads, query_len, head_dim]);
        let mut scores = q
            .matmul(k.swap_dims(2, 3))
            .div_scalar((head_dim as f64).sqrt()); // [batch, heads, Lq, Lk]
        if let Some(mask) = mask {
            let masked = mask
                .equal_elem(0.0)
                .reshape([batch, 1, 1, key_len])
                .expand([batch, heads, query_len, key_len]);
            scores = scores.mask_fill(masked, MASKED_SCORE);
        }
        let values = value
            .unsqueeze_dim::<4>(1)
            .expand([batch, heads, key_len, channels]);
        let out = softmax(scores, 3).matmul(values); // [batch, heads, Lq, C]
        let out = out
            .swap_dims(1, 2)
            .reshape([batch, query_len, heads * channels]);
        self.linears[2].forward(out)
    }
}
