//! `nn.Sequential(Linear, ReLU, Linear, ReLU, …, Linear)` heads, kept at PyTorch's indices.

use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// A ReLU MLP stored as PyTorch's `nn.Sequential`: linear `i` sits at index `2i`
/// (`decoder_classification.0`, `.2`, `.4`) and the parameter-free ReLUs are `None`, so strict
/// loading needs no key remapping.
pub type ReluMlp = Vec<Option<Linear>>;

/// A randomly initialised MLP through `widths` (`[in, hidden…, out]`, at least two entries).
pub fn relu_mlp(widths: &[usize], device: &Device) -> ReluMlp {
    let mut layers = Vec::with_capacity(2 * widths.len());
    for (i, pair) in widths.windows(2).enumerate() {
        if i > 0 {
            layers.push(None);
        }
        layers.push(Some(LinearConfig::new(pair[0], pair[1]).init(device)));
    }
    layers
}

/// Applies the linears in order with a ReLU between consecutive ones.
///
/// # Shapes
/// - x: `[..., in]` → `[..., out]`
pub fn relu_mlp_forward<const D: usize>(mlp: &[Option<Linear>], x: Tensor<D>) -> Tensor<D> {
    let mut linears = mlp.iter().flatten();
    let Some(first) = linears.next() else {
        return x;
    };
    linears.fold(first.forward(x), |x, linear| linear.forward(relu(x)))
}
