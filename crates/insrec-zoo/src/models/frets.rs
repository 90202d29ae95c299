//! FreTS (models.md §2.10): scalar embedding, a frequency-domain MLP along time (real FFT,
//! per-feature complex scale, softshrink, inverse FFT), mean over time and an MLP head.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_positive};
use crate::error::Result;
use crate::layers::fourier::{FftNorm, Spectrum, irfft, rfft};
use crate::model::{SequenceInput, ZooModel};

/// `sparsity_threshold` of the softshrink (hard-coded upstream).
const SPARSITY_THRESHOLD: f32 = 0.01;
/// Standard deviation of the initial frequency weights and biases (`scale`).
const WEIGHT_SCALE: f64 = 0.02;
/// Negative slope of `nn.LeakyReLU()`.
const LEAKY_SLOPE: f64 = 0.01;

/// Hyper-parameters of [`FreTs`]: both widths are hard-coded upstream (`embed_size = 128`,
/// `hidden_size = 256`); the config's `d_model` etc. are unused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreTsConfig {
    /// Width of the per-scalar embedding (`embed_size`).
    pub embed_size: usize,
    /// Width of the head's hidden layer (`hidden_size`).
    pub hidden_size: usize,
}

impl Default for FreTsConfig {
    fn default() -> Self {
        Self {
            embed_size: 128,
            hidden_size: 256,
        }
    }
}

impl ZooConfig for FreTsConfig {
    type Model = FreTs;
    const NAME: &'static str = "FreTS";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("embed_size", self.embed_size),
            ("hidden_size", self.hidden_size),
        ])
    }

    fn init(&self, device: &Device) -> Result<FreTs> {
        self.validate()?;
        let e = self.embed_size;
        let small = Initializer::Normal {
            mean: 0.0,
            std: WEIGHT_SCALE,
        };
        let matrix = || small.init([e, e], device);
        let vector = || small.init([e], device);
        Ok(FreTs {
            embeddings: Initializer::Normal {
                mean: 0.0,
                std: 1.0,
            }
            .init([1, e], device),
            r1: matrix(),
            i1: matrix(),
            rb1: vector(),
            ib1: vector(),
            r2: matrix(),
            i2: matrix(),
            rb2: vector(),
            ib2: vector(),
            decoder_classification: FreTsHead {
                hidden: LinearConfig::new(e * EMBEDDING_DIM, self.hidden_size).init(device),
                output: LinearConfig::new(self.hidden_size, NUM_CLASSES).init(device),
            },
        })
    }
}

/// `decoder_classification = Sequential(Linear, LeakyReLU, Linear)` (`.0`, `.2` in PyTorch).
#[derive(Module, Debug)]
pub struct FreTsHead {
    pub hidden: Linear,
    pub output: Linear,
}

/// PyOmniTS `FreTS` in classification mode. `r1, i1, rb1, ib1` belong to the channel branch,
/// which never runs (upstream compares the integer `channel_independence` with `'0'`); they are
/// kept so checkpoints load strictly.
#[derive(Module, Debug)]
pub struct FreTs {
    /// `[1, embed_size]`: each scalar `x[b, t, n]` becomes `x · embeddings`.
    pub embeddings: Param<Tensor<2>>,
    pub r1: Param<Tensor<2>>,
    pub i1: Param<Tensor<2>>,
    pub rb1: Param<Tensor<1>>,
    pub ib1: Param<Tensor<1>>,
    /// Only the diagonal is used (the einsum `'bijd,dd->bijd'`).
    pub r2: Param<Tensor<2>>,
    /// Only the diagonal is used.
    pub i2: Param<Tensor<2>>,
    pub rb2: Param<Tensor<1>>,
    pub ib2: Param<Tensor<1>>,
    pub decoder_classification: FreTsHead,
}

impl FreTs {
    /// `FreMLP` along time: `O = ReLU(F ⊙ diag(r2 + i·i2) + (rb2 + i·ib2))` per real/imaginary
    /// part, then softshrink.
    ///
    /// # Shapes
    /// - re, im: `[batch, channels, embed_size, bins]` → the same
    fn frequency_mlp(&self, spectrum: Spectrum<4>) -> Spectrum<4> {
        let column = |v: Tensor<1>| v.unsqueeze_dims::<4>(&[0, 1, 3]); // [1, 1, e, 1]
        let r = column(diagonal(self.r2.val()));
        let i = column(diagonal(self.i2.val()));
        let rb = column(self.rb2.val());
        let ib = column(self.ib2.val());
        let Spectrum { re, im } = spectrum;
        let out_re = relu(re.clone() * r.clone() - im.clone() * i.clone() + rb);
        let out_im = relu(im * r + re * i + ib);
        Spectrum {
            re: softshrink(out_re),
            im: softshrink(out_im),
        }
    }
}

impl ZooModel for FreTs {
    /// `E = x ⊗ embeddings`; `irfft(FreMLP(rfft(E, time)), 10) + E`; mean over time; flatten
    /// `n·e + k`; `Linear → LeakyReLU → Linear`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, _, channels] = input.x.dims();
        let series = input.x.clone().swap_dims(1, 2).unsqueeze_dim::<4>(2); // [batch, channels, 1, 10]
        let embedding = self.embeddings.val().swap_dims(0, 1).unsqueeze::<4>(); // [1, 1, e, 1]
        let embedded = series * embedding; // [batch, channels, e, 10]
        let spectrum = rfft(embedded.clone(), FftNorm::Ortho); // [batch, channels, e, 6]
        let filtered = irfft(
            self.frequency_mlp(spectrum),
            FRAMES_PER_CLIP,
            FftNorm::Ortho,
        );
        let pooled = (filtered + embedded).mean_dim(3); // [batch, channels, e, 1]
        let e = pooled.dims()[2];
        let flat = pooled.reshape([batch, channels * e]);
        let head = &self.decoder_classification;
        head.output
            .forward(leaky_relu(head.hidden.forward(flat), LEAKY_SLOPE))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (
                r"^decoder_classification\.0\.",
                "decoder_classification.hidden.",
            ),
            (
                r"^decoder_classification\.2\.",
                "decoder_classification.output.",
            ),
        ]
    }
}

/// The diagonal of a square matrix.
///
/// # Shapes
/// - matrix: `[n, n]` → `[n]`
fn diagonal(matrix: Tensor<2>) -> Tensor<1> {
    let n = matrix.dims()[0];
    let eye = Tensor::<2>::eye(n, &matrix.device());
    (matrix * eye).sum_dim(1).squeeze_dim(1)
}

/// `F.softshrink(x, 0.01)`: `x − clamp(x, −λ, λ)`.
fn softshrink(x: Tensor<4>) -> Tensor<4> {
    x.clone() - x.clamp(-SPARSITY_THRESHOLD, SPARSITY_THRESHOLD)
}
