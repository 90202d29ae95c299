//! Small tensor operations with PyTorch semantics that burn does not offer directly.

use burn::nn::conv::Conv1d;
use burn::tensor::{Device, Tensor, TensorData};

/// Pads the last axis by wrapping around (`padding_mode='circular'`).
///
/// # Shapes
/// - x: `[batch, channels, length]` → `[batch, channels, left + length + right]`
pub fn pad_circular(x: Tensor<3>, left: usize, right: usize) -> Tensor<3> {
    let [_, _, length] = x.dims();
    let mut parts = Vec::with_capacity(3);
    if left > 0 {
        parts.push(x.clone().narrow(2, length - left, left));
    }
    parts.push(x.clone());
    if right > 0 {
        parts.push(x.narrow(2, 0, right));
    }
    Tensor::cat(parts, 2)
}

/// Pads `axis` by repeating the edge values (`padding_mode='replicate'`, `nn.ReplicationPad1d`).
///
/// # Shapes
/// - x: any rank-3 tensor; `axis` grows by `left + right`
pub fn pad_replicate(x: Tensor<3>, axis: usize, left: usize, right: usize) -> Tensor<3> {
    let length = x.dims()[axis];
    let mut parts = Vec::with_capacity(3);
    if left > 0 {
        parts.push(x.clone().narrow(axis, 0, 1).repeat_dim(axis, left));
    }
    parts.push(x.clone());
    if right > 0 {
        parts.push(x.narrow(axis, length - 1, 1).repeat_dim(axis, right));
    }
    Tensor::cat(parts, axis)
}

/// A kernel-1 `Conv1d` applied per position as a matrix product (PyTorch's `conv1/conv2` of
/// `EncoderLayer`, weight `[out, in, 1]`), without transposing the sequence.
///
/// # Shapes
/// - x: `[batch, length, in]` → `[batch, length, out]`
pub fn pointwise_conv(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    let [out, input, _] = conv.weight.dims();
    let [batch, length, _] = x.dims();
    let weight = conv.weight.val().reshape([out, input]).transpose(); // [in, out]
    // One [batch·length, in] × [in, out] product: much faster than a broadcast batched matmul.
    let y = x.reshape([batch * length, input]).matmul(weight);
    let y = match &conv.bias {
        Some(bias) => y + bias.val().unsqueeze::<2>(),
        None => y,
    };
    y.reshape([batch, length, out])
}

/// The default PyOmniTS time mark `x_mark[b, t] = t / length` (float32), `[batch, length, 1]`.
pub fn time_marks(batch: usize, length: usize, device: &Device) -> Tensor<3> {
    let ramp: Vec<f32> = (0..length).map(|t| t as f32 / length as f32).collect();
    Tensor::<3>::from_data(TensorData::new(ramp, [1, length, 1]), device).repeat_dim(0, batch)
}
