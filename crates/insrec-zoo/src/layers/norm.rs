//! Instance normalisation (models.md §1.8).

use burn::tensor::Tensor;

/// Per sample and channel over time: `(x − mean_t) / sqrt(var_t(biased) + 1e-5)`.
///
/// # Shapes
/// - x: `[batch, length, channels]` → `[batch, length, channels]`
pub fn instance_norm(x: Tensor<3>) -> Tensor<3> {
    let centred = x.clone() - x.mean_dim(1);
    let var = centred.clone().powi_scalar(2).mean_dim(1);
    centred / (var + 1e-5).sqrt()
}
