//! Small tensor operations with PyTorch semantics that burn does not offer directly, or runs slowly.

use burn::nn::conv::Conv1d;
use burn::tensor::{DType, Device, Tensor, TensorData, activation};
use rayon::prelude::*;

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

/// Exact GELU, `x · Φ(x)` (PyTorch's default `F.gelu`). On the CPU backend outside autodiff it is
/// one parallel pass that the compiler vectorises (burn's kernel calls a scalar `erff` per element,
/// 18 % of Pyraformer's forward); elsewhere it is burn's.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if device.is_autodiff() || device != Device::flex() || x.dtype() != DType::F32 {
        return activation::gelu(x);
    }
    let shape = x.shape();
    let data = x.into_data();
    let Ok(values) = data.as_slice::<f32>() else {
        return activation::gelu(Tensor::from_data(data, &device));
    };
    const CHUNK: usize = 1 << 14;
    let mut out = vec![0.0f32; values.len()];
    out.par_chunks_mut(CHUNK)
        .zip(values.par_chunks(CHUNK))
        .for_each(|(out, values)| {
            out.iter_mut()
                .zip(values)
                .for_each(|(y, &v)| *y = v * normal_cdf(v));
        });
    Tensor::from_data(TensorData::new(out, shape), &device)
}

/// Φ(x) = 1 − erfc(x / √2) / 2, with erfc by Abramowitz & Stegun 7.1.28 (|ε| ≤ 3·10⁻⁷): only
/// products, sums and one division, so that a loop over it vectorises. The tail `erfc(|z|)` is
/// computed directly, so Φ keeps its precision for negative x.
fn normal_cdf(x: f32) -> f32 {
    const A: [f32; 6] = [
        0.070_523_08,
        0.042_282_01,
        0.009_270_527,
        0.000_152_014_3,
        0.000_276_567_2,
        0.000_043_063_8,
    ];
    let t = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let p = 1.0 + t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * (A[4] + t * A[5])))));
    let p2 = p * p;
    let p4 = p2 * p2;
    let p8 = p4 * p4;
    let half_tail = 0.5 / (p8 * p8);
    if x < 0.0 { half_tail } else { 1.0 - half_tail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_burns_exact_kernel() {
        let device = Device::flex();
        let values: Vec<f32> = (-4000..=4000)
            .map(|i| i as f32 / 400.0)
            .chain([0.0, -0.0, 1e-8, -1e-8, 50.0, -50.0, 1e30, -1e30])
            .collect();
        let n = values.len();
        let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [1, n]), &device);
        let ours = gelu(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let burns = activation::gelu(x)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let mut worst = 0.0f32;
        for ((v, a), b) in values.iter().zip(&ours).zip(&burns) {
            worst = worst.max((a - b).abs() / v.abs().max(1.0));
        }
        // Measured: 3.0e-7 (2–3 ulp).
        assert!(worst <= 4e-7, "largest error {worst}");
        assert!(
            gelu(Tensor::<1>::from_floats([f32::NAN], &device))
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")[0]
                .is_nan()
        );
    }

    #[test]
    fn gelu_keeps_autodiff_tensors_on_burns_differentiable_kernel() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_floats([-1.0, 0.5, 2.0], &device).require_grad();
        let grads = gelu(x.clone()).sum().backward();
        let g = x
            .grad(&grads)
            .expect("gradient")
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        // d/dx x·Φ(x) = Φ(x) + x·φ(x)
        let expected = [-0.083_315_47, 0.867_495_1, 1.085_231_8];
        for (g, e) in g.iter().zip(expected) {
            assert!((g - e).abs() < 1e-5, "{g} vs {e}");
        }
    }
}
