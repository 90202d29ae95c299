//! Series decomposition of `Autoformer_EncDec.py` (models.md §1.7).

use burn::tensor::Tensor;

use super::ops::pad_replicate;

/// `moving_avg(k)`: replicate-pad `(k − 1)/2` steps at both ends, then average windows of `k`
/// with stride 1 along time; the length is kept (for odd `k`).
///
/// # Shapes
/// - x: `[batch, length, channels]` → `[batch, length, channels]`
pub fn moving_avg(x: Tensor<3>, kernel: usize) -> Tensor<3> {
    let [_, length, _] = x.dims();
    let pad = (kernel - 1) / 2;
    let padded = pad_replicate(x, 1, pad, pad); // [batch, length + 2·pad, channels]
    let out_len = length + 2 * pad + 1 - kernel;
    let windows: Vec<Tensor<3>> = (0..out_len)
        .map(|t| padded.clone().narrow(1, t, kernel).mean_dim(1))
        .collect();
    Tensor::cat(windows, 1)
}

/// `series_decomp(k)`: `(x − moving_avg(x), moving_avg(x))` = (seasonal, trend).
///
/// # Shapes
/// - x: `[batch, length, channels]` → two `[batch, length, channels]`
pub fn series_decomp(x: Tensor<3>, kernel: usize) -> (Tensor<3>, Tensor<3>) {
    let trend = moving_avg(x.clone(), kernel);
    (x - trend.clone(), trend)
}
