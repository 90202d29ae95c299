//! `torch.fft.rfft`/`irfft` along the last axis as products with a real DFT basis (models.md
//! §1.3). The sequences are short (10 steps), so a dense basis is exact to float rounding, runs
//! on every backend and is differentiable.

use std::f64::consts::PI;

use burn::tensor::{Device, Tensor, TensorData};

/// The `norm=` argument of `torch.fft.rfft`/`irfft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FftNorm {
    /// `"backward"` (the default): forward unscaled, inverse scaled by `1/n`.
    Backward,
    /// `"ortho"`: both directions scaled by `1/√n`.
    Ortho,
}

/// Real and imaginary parts of a one-sided spectrum along the last axis.
#[derive(Debug, Clone)]
pub struct Spectrum<const D: usize> {
    pub re: Tensor<D>,
    pub im: Tensor<D>,
}

impl<const D: usize> Spectrum<D> {
    /// Magnitudes `|X|` (`abs` of the complex spectrum).
    pub fn abs(self) -> Tensor<D> {
        (self.re.powi_scalar(2) + self.im.powi_scalar(2)).sqrt()
    }
}

/// Number of `rfft` bins of a length-`n` signal: `n / 2 + 1`.
pub const fn rfft_bins(n: usize) -> usize {
    n / 2 + 1
}

/// `torch.fft.rfft(x, dim=-1, norm)`: `X[k] = s · Σ_t x[t] e^{−2πi·kt/n}`, `k < n/2 + 1`.
///
/// # Shapes
/// - x: `[..., n]` → re, im: `[..., n / 2 + 1]`
pub fn rfft<const D: usize>(x: Tensor<D>, norm: FftNorm) -> Spectrum<D> {
    let n = x.dims()[D - 1];
    let bins = rfft_bins(n);
    let scale = match norm {
        FftNorm::Backward => 1.0,
        FftNorm::Ortho => 1.0 / (n as f64).sqrt(),
    };
    let angle = |t: usize, k: usize| 2.0 * PI * ((k * t) % n) as f64 / n as f64;
    let device = x.device();
    let cos = basis(n, bins, |t, k| scale * angle(t, k).cos(), &device);
    let sin = basis(n, bins, |t, k| -scale * angle(t, k).sin(), &device);
    Spectrum {
        re: x.clone().matmul(cos.unsqueeze()),
        im: x.matmul(sin.unsqueeze()),
    }
}

/// `torch.fft.irfft(X, n, dim=-1, norm)`: the length-`n` real signal of a one-sided spectrum.
/// Missing bins count as zero; the imaginary parts of the DC bin and (for even `n`) the
/// Nyquist bin are ignored, as in PyTorch.
///
/// # Shapes
/// - spectrum: re, im `[..., bins ≤ n / 2 + 1]` → `[..., n]`
pub fn irfft<const D: usize>(spectrum: Spectrum<D>, n: usize, norm: FftNorm) -> Tensor<D> {
    let bins = spectrum.re.dims()[D - 1];
    let scale = match norm {
        FftNorm::Backward => 1.0 / n as f64,
        FftNorm::Ortho => 1.0 / (n as f64).sqrt(),
    };
    // Each bin k > 0 below Nyquist stands for itself and its conjugate twin n − k.
    let self_conjugate = |k: usize| k == 0 || 2 * k == n;
    let weight = |k: usize| {
        if self_conjugate(k) {
            scale
        } else {
            2.0 * scale
        }
    };
    let angle = |k: usize, t: usize| 2.0 * PI * ((k * t) % n) as f64 / n as f64;
    let device = spectrum.re.device();
    let cos = basis(bins, n, |k, t| weight(k) * angle(k, t).cos(), &device);
    let sin = basis(
        bins,
        n,
        |k, t| {
            if self_conjugate(k) {
                0.0
            } else {
                -weight(k) * angle(k, t).sin()
            }
        },
        &device,
    );
    spectrum.re.matmul(cos.unsqueeze()) + spectrum.im.matmul(sin.unsqueeze())
}

/// A `[rows, cols]` float32 matrix with entries `f(row, col)` computed in float64.
fn basis(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .map(|(r, c)| f(r, c) as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize, device: &Device) -> Tensor<2> {
        let values: Vec<f32> = (0..n).map(|t| ((t * 7 + 3) % 5) as f32 - 1.5).collect();
        Tensor::from_data(TensorData::new(values, [1, n]), device)
    }

    #[test]
    fn rfft_matches_direct_sum() {
        let device = Device::flex();
        let x = signal(10, &device);
        let spectrum = rfft(x.clone(), FftNorm::Backward);
        let samples: Vec<f32> = x.into_data().iter::<f32>().collect();
        let re: Vec<f32> = spectrum.re.into_data().iter::<f32>().collect();
        let im: Vec<f32> = spectrum.im.into_data().iter::<f32>().collect();
        assert_eq!(re.len(), 6);
        for k in 0..6 {
            let (mut er, mut ei) = (0f64, 0f64);
            for (t, v) in samples.iter().enumerate() {
                let a = 2.0 * PI * (k * t) as f64 / 10.0;
                er += f64::from(*v) * a.cos();
                ei -= f64::from(*v) * a.sin();
            }
            assert!((f64::from(re[k]) - er).abs() < 1e-5, "re[{k}]");
            assert!((f64::from(im[k]) - ei).abs() < 1e-5, "im[{k}]");
        }
    }

    #[test]
    fn irfft_inverts_rfft_for_even_and_odd_lengths() {
        let device = Device::flex();
        for n in [10, 7] {
            for norm in [FftNorm::Backward, FftNorm::Ortho] {
                let x = signal(n, &device);
                let back = irfft(rfft(x.clone(), norm), n, norm);
                let diff = (back - x).abs().max().into_scalar::<f32>();
                assert!(diff < 1e-5, "n = {n}, {norm:?}: {diff}");
            }
        }
    }

    #[test]
    fn irfft_ignores_imaginary_dc_and_nyquist() {
        let device = Device::flex();
        let re = Tensor::<2>::zeros([1, 6], &device);
        let mut im = vec![0f32; 6];
        im[0] = 1.0;
        im[5] = 1.0;
        let im = Tensor::<2>::from_data(TensorData::new(im, [1, 6]), &device);
        let out = irfft(Spectrum { re, im }, 10, FftNorm::Backward);
        assert_eq!(out.abs().max().into_scalar::<f32>(), 0.0);
    }
}
