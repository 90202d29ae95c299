//! The decomposition encoder of `Autoformer_EncDec.py` and the `AutoCorrelation` attention of
//! `AutoCorrelation.py` (models.md §2.12), shared by Autoformer and FEDformer.

use burn::module::{Flag, Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::decomp::series_decomp;
use super::fourier::{FftNorm, Spectrum, irfft, rfft};
use super::ops::{gelu, pointwise_conv};

/// The inner block of an [`AutoCorrelationLayer`] (`inner_correlation`).
pub trait Correlation: Module {
    /// Mixes head-split queries, keys and values. The result is reshaped (row-major) to
    /// `[batch, L, n_heads · E]` by the caller, so it may be any 4-d tensor with that many
    /// elements per sample (FEDformer returns `[batch, H, E, L]`, models.md §1.6).
    ///
    /// # Shapes
    /// - q: `[batch, L, H, E]`, k and v: `[batch, S, H, E]` → `B·L·H·E` elements
    fn correlate(&self, q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4>;
}

/// `AutoCorrelationLayer`: query/key/value/output projections `d_model → d_model` around an
/// inner [`Correlation`], split into `n_heads` heads.
#[derive(Module, Debug)]
pub struct AutoCorrelationLayer<C> {
    pub inner_correlation: C,
    pub query_projection: Linear,
    pub key_projection: Linear,
    pub value_projection: Linear,
    pub out_projection: Linear,
    pub n_heads: usize,
}

impl<C: Correlation> AutoCorrelationLayer<C> {
    /// Randomly initialised projections around `inner_correlation`.
    pub fn new(inner_correlation: C, d_model: usize, n_heads: usize, device: &Device) -> Self {
        let linear = || LinearConfig::new(d_model, d_model).init(device);
        Self {
            inner_correlation,
            query_projection: linear(),
            key_projection: linear(),
            value_projection: linear(),
            out_projection: linear(),
            n_heads,
        }
    }

    /// # Shapes
    /// - queries: `[batch, L, d_model]`, keys and values: `[batch, S, d_model]`
    /// - output: `[batch, L, d_model]`
    pub fn forward(&self, queries: Tensor<3>, keys: Tensor<3>, values: Tensor<3>) -> Tensor<3> {
        let [batch, l, _] = queries.dims();
        let heads = |projection: &Linear, x: Tensor<3>| {
            let length = x.dims()[1];
            projection
                .forward(x)
                .reshape([batch as i32, length as i32, self.n_heads as i32, -1])
        };
        let q = heads(&self.query_projection, queries);
        let k = heads(&self.key_projection, keys);
        let v = heads(&self.value_projection, values);
        let out = self
            .inner_correlation
            .correlate(q, k, v)
            .reshape([batch as i32, l as i32, -1]);
        self.out_projection.forward(out)
    }
}

/// `AutoCorrelation` (Autoformer): period-based dependencies by FFT, then time-delay aggregation
/// of the values over the `⌊factor · ln L⌋` strongest delays.
///
/// In eval (and on a non-autodiff device) it takes the inference path: the delays are chosen
/// per sample. While training on an autodiff device it takes PyTorch's training path: the
/// delays are chosen once for the batch (by the batch-mean correlation), the weights per sample.
#[derive(Module, Debug)]
pub struct AutoCorrelation {
    /// `factor` of the top-k rule.
    pub factor: usize,
    /// Whether the training path may be used (cleared by `Module::valid`).
    pub training: Param<Flag>,
}

impl AutoCorrelation {
    /// An `AutoCorrelation` with the given `factor` (no parameters).
    pub fn new(factor: usize) -> Self {
        Self {
            factor,
            training: Param::from_bool(true),
        }
    }

    /// `top_k = int(factor · ln L)`.
    pub fn top_k(factor: usize, length: usize) -> usize {
        (factor as f64 * (length as f64).ln()) as usize
    }
}

impl Correlation for AutoCorrelation {
    /// `corr[τ] = irfft(rfft(q) · conj(rfft(k)))[τ]` per (b, h, e); `w = mean_{h,e} corr`;
    /// softmax over the top-k `w`; output `Σ_i softmax_i · v[(t + delay_i) mod L]`.
    fn correlate(&self, q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
        let [batch, length, heads, e] = q.dims();
        let device = q.device();
        let time_last = |x: Tensor<4>| x.permute([0, 2, 3, 1]); // [batch, H, E, L]
        let qf = rfft(time_last(q), FftNorm::Backward);
        let kf = rfft(time_last(k), FftNorm::Backward);
        let bins = qf.re.dims()[3];
        let product = Spectrum {
            re: qf.re.clone() * kf.re.clone() + qf.im.clone() * kf.im.clone(),
            im: qf.im * kf.re - qf.re * kf.im,
        };
        let corr = irfft(product, 2 * (bins - 1), FftNorm::Backward); // [batch, H, E, L]
        let lags = corr.dims()[3];
        let mean_value = corr.mean_dim(1).mean_dim(2).reshape([batch, lags]); // [batch, lags]

        let top_k = Self::top_k(self.factor, length);
        let training = self.training.is_enabled() && device.is_autodiff();
        let (weights, delays) = if training {
            let shared = mean_value
                .clone()
                .mean_dim(0)
                .reshape([lags])
                .topk_with_indices(top_k, 0)
                .1; // [top_k]
            let weights = mean_value.select(1, shared.clone());
            (weights, shared.unsqueeze::<2>().repeat_dim(0, batch))
        } else {
            mean_value.topk_with_indices(top_k, 1)
        };
        let weights = softmax(weights, 1); // [batch, top_k]
        // Weight of each delay τ: [batch, lags].
        let per_delay = (delays.one_hot::<3>(lags).float() * weights.unsqueeze_dim(2)).sum_dim(1);
        let shifts = delay_matrices(lags, length, &device); // [lags, L·L]
        let mixing = per_delay
            .reshape([batch, lags])
            .matmul(shifts)
            .reshape([batch, length, length]); // [batch, s, t]
        let values = time_last(v).reshape([batch, heads * e, length]);
        values
            .matmul(mixing) // [batch, H·E, L]
            .reshape([batch, heads, e, length])
            .permute([0, 3, 1, 2])
    }
}

/// `P[τ, s·L + t] = 1` where `s = (t + τ) mod L`: `v · P[τ]` delays `v` by `τ` (`torch.roll(v, −τ)`).
fn delay_matrices(lags: usize, length: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; lags * length * length];
    for tau in 0..lags {
        for t in 0..length {
            let s = (t + tau) % length;
            values[tau * length * length + s * length + t] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(values, [lags, length * length]), device)
}

/// `my_Layernorm`: LayerNorm over features, then the mean over time subtracted per feature.
#[derive(Module, Debug)]
pub struct SeasonalLayerNorm {
    pub layernorm: LayerNorm,
}

impl SeasonalLayerNorm {
    /// A LayerNorm over `d_model` features.
    pub fn new(d_model: usize, device: &Device) -> Self {
        Self {
            layernorm: LayerNormConfig::new(d_model).init(device),
        }
    }

    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.layernorm.forward(x);
        x.clone() - x.mean_dim(1)
    }
}

/// Autoformer `EncoderLayer`: `x = decomp(x + attn(x)).seasonal`,
/// `decomp(x + conv2(gelu(conv1(x)))).seasonal` (kernel-1 convs without bias).
#[derive(Module, Debug)]
pub struct DecompEncoderLayer<C> {
    pub attention: AutoCorrelationLayer<C>,
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    pub dropout: Dropout,
    /// Moving-average kernel of both decompositions.
    pub moving_avg: usize,
}

impl<C: Correlation> DecompEncoderLayer<C> {
    /// A randomly initialised layer around `attention`.
    pub fn new(
        attention: AutoCorrelationLayer<C>,
        d_model: usize,
        d_ff: usize,
        moving_avg: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        Self {
            attention,
            conv1: Conv1dConfig::new(d_model, d_ff, 1)
                .with_bias(false)
                .init(device),
            conv2: Conv1dConfig::new(d_ff, d_model, 1)
                .with_bias(false)
                .init(device),
            dropout: DropoutConfig::new(dropout).init(),
            moving_avg,
        }
    }

    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.attention.forward(x.clone(), x.clone(), x.clone());
        let (x, _) = series_decomp(x + self.dropout.forward(attended), self.moving_avg);
        let y = self
            .dropout
            .forward(gelu(pointwise_conv(&self.conv1, x.clone())));
        let y = self.dropout.forward(pointwise_conv(&self.conv2, y));
        series_decomp(x + y, self.moving_avg).0
    }
}

/// Autoformer `Encoder`: decomposition layers, then [`SeasonalLayerNorm`].
#[derive(Module, Debug)]
pub struct DecompEncoder<C> {
    pub attn_layers: Vec<DecompEncoderLayer<C>>,
    pub norm: SeasonalLayerNorm,
}

impl<C: Correlation> DecompEncoder<C> {
    /// # Shapes
    /// - x: `[batch, length, d_model]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.attn_layers.iter().fold(x, |x, layer| layer.forward(x));
        self.norm.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Int;

    fn indices(values: &[i64], device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
    }

    #[test]
    fn delay_matrix_rolls_left() {
        let device = Device::flex();
        let shifts = delay_matrices(10, 10, &device);
        let tau = shifts.select(0, indices(&[3], &device)).reshape([10, 10]);
        let v: Vec<f32> = (0..10).map(|t| t as f32).collect();
        let v = Tensor::<2>::from_data(TensorData::new(v, [1, 10]), &device);
        let delayed: Vec<f32> = v.matmul(tau).into_data().iter::<f32>().collect();
        let expected: Vec<f32> = (0..10).map(|t| ((t + 3) % 10) as f32).collect();
        assert_eq!(delayed, expected);
    }

    #[test]
    fn training_path_matches_inference_for_one_sample() {
        use burn::tensor::Distribution;
        // With one sample, the batch-shared delays are the per-sample delays.
        let eval = Device::flex();
        let train = Device::flex().autodiff();
        let shape = [1, 10, 2, 3];
        let [q, k, v] = [0, 1, 2].map(|_| Tensor::<4>::random(shape, Distribution::Default, &eval));
        let correlation = AutoCorrelation::new(3);
        let expected = correlation.correlate(q.clone(), k.clone(), v.clone());
        let on = |x: Tensor<4>| Tensor::<4>::from_data(x.into_data(), &train);
        let actual = correlation.correlate(on(q), on(k), on(v));
        let diff = (actual.inner() - expected).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn top_k_follows_factor_times_log_length() {
        assert_eq!(AutoCorrelation::top_k(3, 10), 6);
        assert_eq!(AutoCorrelation::top_k(1, 10), 2);
    }
}
