//! The Transformer-family classification head (models.md §1.5).

use burn::nn::{Dropout, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::NUM_CLASSES;

use super::ops::{gelu, time_marks};

/// Builds `projection: Linear(length · features → 20)`.
pub fn projection(length: usize, features: usize, device: &Device) -> Linear {
    LinearConfig::new(length * features, NUM_CLASSES).init(device)
}

/// `projection(flatten(dropout(gelu(x)) · t/length))`: step 0 is zeroed and step t scaled by
/// t/length, flattened time-major (`t · features + f`).
///
/// # Shapes
/// - x: `[batch, length, features]` → `[batch, 20]`
pub fn time_ramp_head(projection: &Linear, dropout: &Dropout, x: Tensor<3>) -> Tensor<2> {
    let [batch, length, features] = x.dims();
    let marks = time_marks(batch, length, &x.device());
    let out = dropout.forward(gelu(x)) * marks;
    projection.forward(out.reshape([batch, length * features]))
}
