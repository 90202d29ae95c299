//! FiLM (models.md §2.18). As coded upstream the output does not depend on the input: with
//! `pred_len` forced to 1 the spectral convolutions get `min(pred_len, seq_len) / 2 = 0` Fourier
//! modes, so every Legendre-memory branch returns zeros and `mlp: Linear(3 → 1)` returns its
//! bias. The port computes exactly that by default: `mlp(0)` for every channel, repeated over
//! the 10 steps, then the time-ramp head. The HiPPO-LegT buffers (`legts.*`) and the affine
//! input scaling only feed the zeroed branches; they are kept so checkpoints load strictly.
//!
//! `fixed = true` is FiLM as Time-Series-Library builds it for classification, where
//! `pred_len = 0` means `pred_len = seq_len = 10`: per scale `s ∈ {1, 2, 4}` the affinely scaled
//! clip feeds a HiPPO-LegT memory (`N = 256`, `dt = 1/(10·s)`), a spectral convolution with 5
//! complex Fourier modes, and the Legendre reconstruction of the last 10 window points; `mlp`
//! mixes the three scales. Upstream starts the spectral weights at `U[0, 1/256²)`, so the
//! input's effect on the logits is small (~1e-6) until training grows them. Its buffers and
//! spectral weights have their own shapes, so it loads only from the zoo's own format.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout};
use crate::error::Result;
use crate::layers::fourier::{FftNorm, Spectrum, irfft, rfft};
use crate::layers::head::{projection, time_ramp_head};
use crate::model::{SequenceInput, ZooModel};

/// Legendre memory orders (`window_size = [256]`, hard-coded upstream).
const WINDOW_SIZE: usize = 256;
/// Input scales of the Legendre branches (`multiscale = [1, 2, 4]`, hard-coded upstream).
const MULTISCALE: [usize; 3] = [1, 2, 4];
/// Upper bound on the Fourier modes of `SpectralConv1d` (`min(32, seq_len // 2)`).
const MAX_MODES: usize = 32;

/// Hyper-parameters of [`Film`] (PyOmniTS names, production defaults). The widths are
/// hard-coded upstream; only the head's dropout is configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilmConfig {
    /// Dropout probability before the head (training only).
    pub dropout: f64,
    /// `false` (upstream PyOmniTS): `pred_len` 1, zero Fourier modes, input-independent logits.
    /// `true`: Time-Series-Library's `pred_len = seq_len`, live Legendre-memory branches.
    #[serde(default)]
    pub fixed: bool,
}

impl Default for FilmConfig {
    fn default() -> Self {
        Self {
            dropout: 0.05,
            fixed: false,
        }
    }
}

impl ZooConfig for FilmConfig {
    type Model = Film;
    const NAME: &'static str = "FiLM";

    fn validate(&self) -> Result<()> {
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Film> {
        self.validate()?;
        let pred_len = pred_len(self.fixed);
        let dt = |scale: usize| 1.0 / pred_len as f64 / scale as f64;
        let (legts, spec_conv_1) = if self.fixed {
            // `SpectralConv1d(seq_len = min(pred_len, seq_len))` keeps `min(32, seq_len // 2)` modes.
            let modes = MAX_MODES.min(pred_len.min(FRAMES_PER_CLIP) / 2);
            MULTISCALE
                .iter()
                .map(|&scale| {
                    (
                        HippoLegT::new(WINDOW_SIZE, dt(scale), device),
                        SpectralConv1d::new(WINDOW_SIZE, modes, device),
                    )
                })
                .unzip()
        } else {
            // The zero-mode `spec_conv_1` weights are zero-size tensors: not modelled (ignored
            // on import), and the buffers wait for a checkpoint.
            let legts = MULTISCALE
                .iter()
                .map(|&scale| HippoLegT::zeros(scale * pred_len, device))
                .collect();
            (legts, Vec::new())
        };
        Ok(Film {
            affine_weight: Initializer::Ones.init([1, 1, EMBEDDING_DIM], device),
            affine_bias: Initializer::Zeros.init([1, 1, EMBEDDING_DIM], device),
            legts,
            spec_conv_1,
            mlp: LinearConfig::new(MULTISCALE.len(), 1).init(device),
            projection: projection(FRAMES_PER_CLIP, EMBEDDING_DIM, device),
            dropout: DropoutConfig::new(self.dropout).init(),
            fixed: self.fixed,
        })
    }
}

/// `pred_len` of the Legendre branches: PyOmniTS forces the classification `pred_len = 0` to 1;
/// Time-Series-Library (the `fixed` variant) replaces it with `seq_len`.
fn pred_len(fixed: bool) -> usize {
    if fixed { FRAMES_PER_CLIP } else { 1 }
}

/// A non-trainable parameter (a buffer upstream).
fn frozen<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
        .set_require_grad(false)
}

/// `HiPPO_LegT` buffers (`A`, `B`, `eval_matrix`, renamed on import). In the default model
/// they only act on branches that the zero-mode spectral convolutions zero out, so a fresh
/// model holds zeros and real values come with a checkpoint; the fixed model computes them.
#[derive(Module, Debug)]
pub struct HippoLegT {
    /// `[256, 256]` discretised transition.
    pub a: Param<Tensor<2>>,
    /// `[256]` discretised input map.
    pub b: Param<Tensor<1>>,
    /// `[scale · pred_len, 256]` Legendre evaluation matrix.
    pub eval_matrix: Param<Tensor<2>>,
}

impl HippoLegT {
    /// Zero buffers of the default model (`rows` evaluation points).
    fn zeros(rows: usize, device: &Device) -> Self {
        Self {
            a: frozen(
                vec![0.0; WINDOW_SIZE * WINDOW_SIZE],
                [WINDOW_SIZE; 2],
                device,
            ),
            b: frozen(vec![0.0; WINDOW_SIZE], [WINDOW_SIZE], device),
            eval_matrix: frozen(vec![0.0; rows * WINDOW_SIZE], [rows, WINDOW_SIZE], device),
        }
    }

    /// `HiPPO_LegT(N = order, dt)`: the bilinear discretisation of the LegT transition and the
    /// Legendre polynomials at `1 − 2·vals`, `vals = arange(0, 1, dt)`, computed in float64.
    fn new(order: usize, dt: f64, device: &Device) -> Self {
        let (a, b) = legt_transition(order);
        let (a, b) = bilinear(&a, &b, dt);
        let (eval_matrix, rows) = legendre_eval_matrix(order, dt);
        let single = |values: Vec<f64>| values.into_iter().map(|v| v as f32).collect();
        Self {
            a: frozen(single(a), [order, order], device),
            b: frozen(single(b), [order], device),
            eval_matrix: frozen(single(eval_matrix), [rows, order], device),
        }
    }

    /// `HiPPO_LegT.forward`: the memory `c_t = A·c_{t−1} + B·f_t` (`c_{−1} = 0`) after each step.
    ///
    /// # Shapes
    /// - series: `[rows, length]` → `[rows, N, length]`
    fn states(&self, series: Tensor<2>) -> Tensor<3> {
        let [rows, length] = series.dims();
        let a_t = self.a.val().transpose();
        let b = self.b.val().unsqueeze::<2>(); // [1, N]
        let mut c = Tensor::<2>::zeros([rows, b.dims()[1]], &series.device());
        let mut states = Vec::with_capacity(length);
        for t in 0..length {
            c = c.matmul(a_t.clone()) + series.clone().narrow(1, t, 1).matmul(b.clone());
            states.push(c.clone());
        }
        Tensor::stack(states, 2)
    }
}

/// `SpectralConv1d`: complex per-mode weights `[in, out, modes]` on the lowest Fourier modes
/// (fixed model only; upstream's have zero modes).
#[derive(Module, Debug)]
pub struct SpectralConv1d {
    pub weights_real: Param<Tensor<3>>,
    pub weights_imag: Param<Tensor<3>>,
}

impl SpectralConv1d {
    /// Upstream's initialisation: `U[0, 1/(channels²))` for both parts.
    fn new(channels: usize, modes: usize, device: &Device) -> Self {
        let init = Initializer::Uniform {
            min: 0.0,
            max: 1.0 / (channels * channels) as f64,
        };
        Self {
            weights_real: init.init([channels, channels, modes], device),
            weights_imag: init.init([channels, channels, modes], device),
        }
    }

    /// `rfft` → `Y[o, k] = Σ_i X[i, k]·W[i, o, k]` on the kept modes (others zero) → `irfft`.
    ///
    /// # Shapes
    /// - x: `[rows, in, length]` → `[rows, out, length]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let length = x.dims()[2];
        let modes = self.weights_real.dims()[2];
        let spectrum = rfft(x, FftNorm::Backward);
        // [rows, in, bins] → [modes, rows, in]: one matrix product per mode.
        let kept = |part: Tensor<3>| part.narrow(2, 0, modes).permute([2, 0, 1]);
        let (re, im) = (kept(spectrum.re), kept(spectrum.im));
        let wr = self.weights_real.val().permute([2, 0, 1]); // [modes, in, out]
        let wi = self.weights_imag.val().permute([2, 0, 1]);
        let out_re = re.clone().matmul(wr.clone()) - im.clone().matmul(wi.clone());
        let out_im = re.matmul(wi) + im.matmul(wr);
        let spectrum = Spectrum {
            re: out_re.permute([1, 2, 0]),
            im: out_im.permute([1, 2, 0]),
        };
        irfft(spectrum, length, FftNorm::Backward)
    }
}

/// PyOmniTS `FiLM` in classification mode.
#[derive(Module, Debug)]
pub struct Film {
    /// `[1, 1, 128]`; scales the input of the Legendre branches.
    pub affine_weight: Param<Tensor<3>>,
    /// `[1, 1, 128]`.
    pub affine_bias: Param<Tensor<3>>,
    pub legts: Vec<HippoLegT>,
    /// One per scale in the fixed model, none in the default one.
    pub spec_conv_1: Vec<SpectralConv1d>,
    /// `Linear(3 → 1)` over the branches' outputs (all zero in the default model).
    pub mlp: Linear,
    pub projection: Linear,
    pub dropout: Dropout,
    pub fixed: bool,
}

impl Film {
    /// One Legendre branch of the fixed model on the last `window` steps of each series:
    /// memory states → spectral convolution → the state at step `pred_len − 1` (the window's
    /// last, as `seq_len = pred_len`) → reconstruction at the last `pred_len` evaluation points.
    ///
    /// # Shapes
    /// - series: `[rows, window]` → `[rows, pred_len]`
    fn branch(&self, index: usize, series: Tensor<2>) -> Tensor<2> {
        let pred_len = pred_len(self.fixed);
        let legt = &self.legts[index];
        let out = self.spec_conv_1[index].forward(legt.states(series));
        let [rows, order, _] = out.dims();
        let last = out.narrow(2, pred_len - 1, 1).reshape([rows, order]);
        let eval_matrix = legt.eval_matrix.val();
        let points = eval_matrix.dims()[0];
        last.matmul(
            eval_matrix
                .narrow(0, points - pred_len, pred_len)
                .transpose(),
        )
    }

    /// The fixed model up to the head: `x·affine_weight + affine_bias` → the three Legendre
    /// branches → `mlp`. Time-Series-Library's classification path has no instance
    /// normalisation and no de-normalisation (only its forecasting paths do); neither has this.
    ///
    /// # Shapes
    /// - x: `[batch, 10, channels]` → `[batch, 10, channels]`
    fn decode_fixed(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, channels] = x.dims();
        let device = x.device();
        let pred_len = pred_len(true);
        let x = x * self.affine_weight.val() + self.affine_bias.val();
        let series = x.swap_dims(1, 2).reshape([batch * channels, length]);
        let branches = MULTISCALE
            .iter()
            .enumerate()
            .map(|(index, &scale)| {
                // `x_enc[:, -scale·pred_len:]`: the whole clip, as scale·pred_len ≥ seq_len.
                let window = (scale * pred_len).min(length);
                // The branch is linear in its input: run it once on the unit impulses to get
                // its `[window, pred_len]` matrix instead of once per series (same result,
                // 128 × batch fewer 256-wide recurrences).
                let map = self.branch(index, Tensor::eye(window, &device));
                series
                    .clone()
                    .narrow(1, length - window, window)
                    .matmul(map)
            })
            .collect();
        let stacked = Tensor::stack::<3>(branches, 2); // [batch · channels, pred_len, 3]
        self.mlp
            .forward(stacked)
            .reshape([batch, channels, pred_len])
            .swap_dims(1, 2)
    }
}

impl ZooModel for Film {
    /// Default: `mlp(0)` per channel (the zeroed branches), broadcast over the 10 steps; fixed:
    /// the live branches ([`Film::decode_fixed`]). Then `gelu · t/10` → `projection` (PyOmniTS
    /// multiplies by its time marks `t/10` where Time-Series-Library uses the padding mask).
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let decoded = if self.fixed {
            self.decode_fixed(input.x.clone())
        } else {
            let [batch, length, channels] = input.x.dims();
            let branches = Tensor::<3>::zeros([batch, channels, MULTISCALE.len()], &input.device());
            let decoded = self.mlp.forward(branches).swap_dims(1, 2); // [batch, 1, channels]
            decoded.expand([batch, length, channels])
        };
        time_ramp_head(&self.projection, &self.dropout, decoded)
    }

    fn ignored_weights() -> &'static [&'static str] {
        // `SpectralConv1d.weights_{real,imag}` with zero modes: zero-size `[256, 256, 0]`. A
        // fixed model has them with 5 modes, so a PyTorch checkpoint fails on their shapes.
        &[".weights_real", ".weights_imag"]
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"^legts\.(\d+)\.A$", "legts.$1.a"),
            (r"^legts\.(\d+)\.B$", "legts.$1.b"),
        ]
    }
}

/// The HiPPO-LegT transition of order `n` (row-major `A`, and `B`):
/// `A[i, j] = (2i + 1)·(−1 if i < j else (−1)^{i−j+1})`, `B[i] = (2i + 1)·(−1)^i`.
fn legt_transition(n: usize) -> (Vec<f64>, Vec<f64>) {
    let sign = |k: usize| if k.is_multiple_of(2) { 1.0 } else { -1.0 };
    let a = (0..n)
        .flat_map(|i| {
            (0..n).map(move |j| {
                let r = (2 * i + 1) as f64;
                if i < j { -r } else { sign(i - j + 1) * r }
            })
        })
        .collect();
    let b = (0..n).map(|i| sign(i) * (2 * i + 1) as f64).collect();
    (a, b)
}

/// `scipy.signal.cont2discrete((A, B, C, D), dt, method="bilinear")` for `A, B`:
/// `A_d = (I − dt/2·A)⁻¹(I + dt/2·A)`, `B_d = (I − dt/2·A)⁻¹·dt·B` (row-major, `n = B.len()`).
fn bilinear(a: &[f64], b: &[f64], dt: f64) -> (Vec<f64>, Vec<f64>) {
    let n = b.len();
    // Augmented rows [I − dt/2·A | I + dt/2·A | dt·B], reduced to [I | A_d | B_d].
    let width = 2 * n + 1;
    let mut m = vec![0.0; n * width];
    for i in 0..n {
        for j in 0..n {
            let eye = if i == j { 1.0 } else { 0.0 };
            m[i * width + j] = eye - dt / 2.0 * a[i * n + j];
            m[i * width + n + j] = eye + dt / 2.0 * a[i * n + j];
        }
        m[i * width + 2 * n] = dt * b[i];
    }
    gauss_jordan(&mut m, n, width);
    let a_d = (0..n)
        .flat_map(|i| m[i * width + n..i * width + 2 * n].to_vec())
        .collect();
    let b_d = (0..n).map(|i| m[i * width + 2 * n]).collect();
    (a_d, b_d)
}

/// Gauss–Jordan elimination with partial pivoting of a row-major `[n, width]` matrix whose
/// left `n × n` block is invertible: leaves the identity there and the solution on the right.
fn gauss_jordan(m: &mut [f64], n: usize, width: usize) {
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r, &s| {
                m[r * width + col]
                    .abs()
                    .total_cmp(&m[s * width + col].abs())
            })
            .unwrap_or(col);
        for k in 0..width {
            m.swap(col * width + k, pivot * width + k);
        }
        let scale = m[col * width + col];
        let row: Vec<f64> = m[col * width..(col + 1) * width]
            .iter()
            .map(|v| v / scale)
            .collect();
        m[col * width..(col + 1) * width].copy_from_slice(&row);
        for r in (0..n).filter(|&r| r != col) {
            let factor = m[r * width + col];
            if factor != 0.0 {
                for k in col..width {
                    m[r * width + k] -= factor * row[k];
                }
            }
        }
    }
}

/// `eval_legendre(arange(n)[:, None], 1 − 2·vals).T` with `vals = arange(0, 1, dt)` (numpy:
/// `ceil(1/dt)` points `v·dt`): row `v` holds `P_0 … P_{n−1}` at `1 − 2·v·dt`. Returns the
/// row-major matrix and its number of rows.
fn legendre_eval_matrix(n: usize, dt: f64) -> (Vec<f64>, usize) {
    let points = (1.0 / dt).ceil() as usize;
    let matrix = (0..points)
        .flat_map(|v| legendre(n, 1.0 - 2.0 * (v as f64 * dt)))
        .collect();
    (matrix, points)
}

/// `P_0(x) … P_{n−1}(x)` by Bonnet's recurrence `(k + 1)·P_{k+1} = (2k + 1)·x·P_k − k·P_{k−1}`.
fn legendre(n: usize, x: f64) -> Vec<f64> {
    let (mut previous, mut current) = (0.0, 1.0);
    (0..n)
        .map(|k| {
            let value = current;
            let k = k as f64;
            (previous, current) = (
                current,
                ((2.0 * k + 1.0) * x * current - k * previous) / (k + 1.0),
            );
            value
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::{Distribution, TensorData};
    use insrec_testutil::{assert_close, fixture};

    use super::*;
    use crate::{Classifier, ClassifierConfig, ZooError};

    fn clip(device: &Device) -> SequenceInput {
        let x = Tensor::random(
            [4, FRAMES_PER_CLIP, EMBEDDING_DIM],
            Distribution::Default,
            device,
        );
        SequenceInput::new(x).expect("clip shape")
    }

    fn fixed_config() -> FilmConfig {
        FilmConfig {
            fixed: true,
            ..FilmConfig::default()
        }
    }

    fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
        tensor.into_data().iter::<f32>().map(f64::from).collect()
    }

    fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Binary cross-entropy on logits, mean over the entries where `mask` is 1:
    /// max(z, 0) − z·y + log(1 + e^{−|z|}).
    fn masked_bce(logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
        let per_entry = logits.clone().clamp_min(0.0) - logits.clone() * targets
            + (logits.abs().neg().exp() + 1.0).log();
        (per_entry * mask.clone()).sum() / mask.sum()
    }

    #[test]
    fn logits_do_not_depend_on_the_input() {
        let device = Device::flex();
        let model = FilmConfig::default().init(&device).expect("builds");
        let a = model.forward(&clip(&device));
        let b = model.forward(&clip(&device));
        assert_eq!(max_abs_diff(a, b), 0.0);
    }

    /// The shared training check asks for a 10 % drop in 8 steps at lr 3e-3, out of reach for a
    /// model whose best fit is one constant logit per class; here every small Adam step must
    /// lower the loss (the logits are linear in `projection`, so small steps cannot overshoot).
    #[test]
    fn each_adam_step_lowers_the_loss() {
        let device = Device::flex().autodiff();
        device.seed(2024);
        let mut model = FilmConfig::default().init(&device).expect("builds");
        let input = clip(&device);
        let targets: Vec<f32> = (0..4 * 20).map(|i| (i % 3 == 0) as u8 as f32).collect();
        let targets = Tensor::<2>::from_data(TensorData::new(targets, [4, 20]), &device);
        let mask = Tensor::ones([4, 20], &device);
        let mut optimizer = AdamConfig::new().init();
        let mut losses = Vec::new();
        for _ in 0..8 {
            let loss = masked_bce(model.forward(&input), targets.clone(), mask.clone());
            losses.push(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-4, model, grads);
        }
        assert!(
            losses.windows(2).all(|w| w[1] < w[0]),
            "loss did not decrease at every step: {losses:?}"
        );
    }

    /// Spectral weights of the size training gives them (upstream starts at U[0, 1/256²)).
    fn widen_spectral_weights(model: &mut Film, device: &Device) {
        for conv in &mut model.spec_conv_1 {
            let shape = conv.weights_real.dims();
            let draw = || Tensor::random(shape, Distribution::Uniform(-0.01, 0.01), device);
            conv.weights_real = Param::from_tensor(draw());
            conv.weights_imag = Param::from_tensor(draw());
        }
    }

    #[test]
    fn fixed_variant_logits_depend_on_the_input() {
        let device = Device::flex();
        device.seed(2024);
        let (a, b) = (clip(&device), clip(&device));
        let quirky = FilmConfig::default().init(&device).expect("builds");
        assert_eq!(max_abs_diff(quirky.forward(&a), quirky.forward(&b)), 0.0);
        let mut fixed = fixed_config().init(&device).expect("builds");
        let mut diffs = Vec::new();
        for widen in [false, true] {
            if widen {
                widen_spectral_weights(&mut fixed, &device);
            }
            let decoded = fixed.decode_fixed(a.x.clone()) - fixed.decode_fixed(b.x.clone());
            diffs.push(decoded.abs().max().into_scalar::<f32>());
            diffs.push(max_abs_diff(fixed.forward(&a), fixed.forward(&b)));
        }
        // Upstream's U[0, 1/256²) spectral weights give a small but real dependence, which
        // grows with the weights.
        assert!(diffs[0] > 1e-5 && diffs[1] > 1e-7, "{diffs:?}");
        assert!(diffs[2] > 1e-2 && diffs[3] > 1e-4, "{diffs:?}");
    }

    #[test]
    fn fixed_variant_hippo_legt_matches_hand_computed_values() {
        let (a, b) = legt_transition(3);
        assert_eq!(a, [-1.0, -1.0, -1.0, 3.0, -3.0, -3.0, -5.0, 5.0, -5.0]);
        assert_eq!(b, [1.0, -3.0, 5.0]);

        // N = 2: A = [[−1, −1], [3, −3]], B = [1, −3]. By hand:
        // dt = 1:   I − A/2 = [[3/2, 1/2], [−3/2, 5/2]] (det 9/2), I + A/2 = [[1/2, −1/2], [3/2, −1/2]];
        // dt = 1/2: I − A/4 = [[5/4, 1/4], [−3/4, 7/4]] (det 19/8), I + A/4 = [[3/4, −1/4], [3/4, 1/4]].
        let (a, b) = legt_transition(2);
        let cases = [
            (
                1.0,
                [1.0 / 9.0, -2.0 / 9.0, 2.0 / 3.0, -1.0 / 3.0],
                [8.0 / 9.0, -2.0 / 3.0],
            ),
            (
                0.5,
                [9.0 / 19.0, -4.0 / 19.0, 12.0 / 19.0, 1.0 / 19.0],
                [10.0 / 19.0, -12.0 / 19.0],
            ),
        ];
        for (dt, a_expected, b_expected) in cases {
            let (a_d, b_d) = bilinear(&a, &b, dt);
            assert_close(&format!("A_d (dt {dt})"), &a_d, &a_expected, 1e-15);
            assert_close(&format!("B_d (dt {dt})"), &b_d, &b_expected, 1e-15);
        }

        // P_0..P_3 at 1/2: 1, 1/2, (3/4 − 1)/2, (5/8 − 3/2)/2.
        assert_close(
            "P_n(1/2)",
            &legendre(4, 0.5),
            &[1.0, 0.5, -0.125, -0.4375],
            1e-15,
        );
        // dt = 1/2: vals [0, 1/2] → points 1 and 0.
        let (matrix, rows) = legendre_eval_matrix(4, 0.5);
        assert_eq!(rows, 2);
        let expected = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, -0.5, 0.0];
        assert_close("eval_matrix (dt 1/2)", &matrix, &expected, 1e-15);
        // numpy's arange(0, 1, dt) lengths at the production steps dt = 1/10/scale.
        for (scale, points) in [(1.0, 10), (2.0, 20), (4.0, 40)] {
            assert_eq!(legendre_eval_matrix(1, 1.0 / 10.0 / scale).1, points);
        }

        // At production size the solve satisfies (I − dt/2·A)·A_d = I + dt/2·A.
        let (n, dt) = (WINDOW_SIZE, 0.1);
        let (a, b) = legt_transition(n);
        let (a_d, _) = bilinear(&a, &b, dt);
        let eye = |i: usize, j: usize| (i == j) as u8 as f64;
        let mut worst = 0f64;
        for i in 0..n {
            for j in 0..n {
                let lhs: f64 = (0..n)
                    .map(|k| (eye(i, k) - dt / 2.0 * a[i * n + k]) * a_d[k * n + j])
                    .sum();
                worst = worst.max((lhs - eye(i, j) - dt / 2.0 * a[i * n + j]).abs());
            }
        }
        assert!(worst < 1e-9, "bilinear residual {worst}");
    }

    /// Time-Series-Library's classification branches for one series (channel `channel` of a
    /// `[10, 128]` clip), straight from the definitions in float64: per-step memory updates, a
    /// full complex DFT, the Hermitian inverse at step `pred_len − 1`, the evaluation rows.
    fn reference_decode(model: &Film, clip: &[f64], channel: usize) -> Vec<f64> {
        let (n, length) = (WINDOW_SIZE, FRAMES_PER_CLIP);
        let pred_len = FRAMES_PER_CLIP;
        let weight = values(model.affine_weight.val())[channel];
        let bias = values(model.affine_bias.val())[channel];
        let series: Vec<f64> = (0..length)
            .map(|t| clip[t * EMBEDDING_DIM + channel] * weight + bias)
            .collect();
        let mlp_weight = values(model.mlp.weight.val());
        let mlp_bias = values(model.mlp.bias.as_ref().expect("mlp bias").val())[0];
        let mut out = vec![mlp_bias; pred_len];
        for (index, &scale) in MULTISCALE.iter().enumerate() {
            let legt = &model.legts[index];
            let (a, b) = (values(legt.a.val()), values(legt.b.val()));
            let eval_matrix = values(legt.eval_matrix.val());
            let conv = &model.spec_conv_1[index];
            let (wr, wi) = (
                values(conv.weights_real.val()),
                values(conv.weights_imag.val()),
            );
            let modes = wr.len() / (n * n);
            let window = &series[length - (scale * pred_len).min(length)..];
            let l = window.len();
            let mut c = vec![0.0; n];
            let mut states = Vec::with_capacity(l);
            for &f in window {
                c = (0..n)
                    .map(|r| (0..n).map(|j| a[r * n + j] * c[j]).sum::<f64>() + b[r] * f)
                    .collect();
                states.push(c.clone());
            }
            // Y[o][k] = Σ_i X[i][k]·W[i][o][k] for k < modes, zero for the other bins.
            let bins = l / 2 + 1;
            let mut y = vec![(0.0, 0.0); n * bins];
            for k in 0..modes {
                let x: Vec<(f64, f64)> = (0..n)
                    .map(|i| {
                        (0..l).fold((0.0, 0.0), |(re, im), t| {
                            let angle = 2.0 * PI * (k * t) as f64 / l as f64;
                            (
                                re + states[t][i] * angle.cos(),
                                im - states[t][i] * angle.sin(),
                            )
                        })
                    })
                    .collect();
                for o in 0..n {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (i, &(xr, xi)) in x.iter().enumerate() {
                        let w = i * n * modes + o * modes + k;
                        re += xr * wr[w] - xi * wi[w];
                        im += xr * wi[w] + xi * wr[w];
                    }
                    y[o * bins + k] = (re, im);
                }
            }
            // Full spectrum Z[k] = Y[k] (k < bins), conj Y[l − k] above; the imaginary parts
            // of the DC and Nyquist bins are dropped, as irfft does.
            let step = pred_len - 1;
            let at_step: Vec<f64> = (0..n)
                .map(|o| {
                    (0..l)
                        .map(|k| {
                            let (re, im) = if k < bins {
                                y[o * bins + k]
                            } else {
                                let (re, im) = y[o * bins + l - k];
                                (re, -im)
                            };
                            let im = if k == 0 || 2 * k == l { 0.0 } else { im };
                            let angle = 2.0 * PI * (k * step) as f64 / l as f64;
                            re * angle.cos() - im * angle.sin()
                        })
                        .sum::<f64>()
                        / l as f64
                })
                .collect();
            let points = eval_matrix.len() / n;
            for (p, value) in out.iter_mut().enumerate() {
                let row = &eval_matrix[(points - pred_len + p) * n..][..n];
                let reconstructed: f64 = row.iter().zip(&at_step).map(|(e, s)| e * s).sum();
                *value += mlp_weight[index] * reconstructed;
            }
        }
        out
    }

    #[test]
    fn fixed_variant_matches_a_direct_float64_evaluation() {
        let device = Device::flex();
        let mut model = fixed_config().init(&device).expect("builds");
        widen_spectral_weights(&mut model, &device);
        model.affine_weight = Param::from_tensor(Tensor::random(
            [1, 1, EMBEDDING_DIM],
            Distribution::Uniform(0.5, 1.5),
            &device,
        ));
        let input = clip(&device);
        let clips = values(input.x.clone());
        let decoded = values(model.decode_fixed(input.x.clone())); // [4, 10, 128]
        let size = FRAMES_PER_CLIP * EMBEDDING_DIM;
        for (b, channel) in [(0, 0), (1, 77), (3, 127)] {
            let expected = reference_decode(&model, &clips[b * size..(b + 1) * size], channel);
            let actual: Vec<f64> = (0..FRAMES_PER_CLIP)
                .map(|t| decoded[b * size + t * EMBEDDING_DIM + channel])
                .collect();
            let scale = expected.iter().fold(0f64, |m, v| m.max(v.abs()));
            assert!(
                scale > 1e-2,
                "reference output too small to compare: {expected:?}"
            );
            assert_close(
                &format!("clip {b} channel {channel}"),
                &actual,
                &expected,
                1e-4 * scale,
            );
        }
    }

    #[test]
    fn fixed_variant_round_trips_through_the_own_format() {
        let device = Device::flex();
        let config = ClassifierConfig::Film(fixed_config());
        let model = config.init(&device).expect("builds");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("film.safetensors");
        model.save(&config, &path).expect("saves");
        let (loaded, loaded_config) = Classifier::load(&path, &device).expect("loads");
        assert!(
            matches!(&loaded_config, ClassifierConfig::Film(c) if c.fixed),
            "{loaded_config:?}"
        );
        let input = clip(&device);
        assert_eq!(
            values(loaded.forward(&input)),
            values(model.forward(&input))
        );
    }

    /// The seed's checkpoints hold `eval_matrix [scale, 256]` and zero-mode spectral weights:
    /// the strict loader names each mis-shaped tensor.
    #[test]
    fn fixed_variant_rejects_pytorch_checkpoints() {
        let device = Device::flex();
        let weights = fixture("pyomnits/FiLM/weights.safetensors");
        let result = ClassifierConfig::Film(fixed_config())
            .load_pytorch(&weights, &device)
            .map(|_| ());
        let Err(ZooError::WeightMismatch { problems, .. }) = result else {
            panic!("expected a weight mismatch, got {result:?}");
        };
        let report = problems.join("\n");
        for tensor in (0..MULTISCALE.len()).flat_map(|i| {
            [
                format!("legts.{i}.eval_matrix"),
                format!("spec_conv_1.{i}.weights_real"),
                format!("spec_conv_1.{i}.weights_imag"),
            ]
        }) {
            assert!(report.contains(&tensor), "{tensor} not reported:\n{report}");
        }
    }
}
