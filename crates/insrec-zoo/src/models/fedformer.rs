//! FEDformer, version `'fourier'` (models.md §2.13): token-conv + sinusoid embedding, a
//! decomposition encoder whose attention is a `FourierBlock` (complex per-mode weights on the
//! query's spectrum, output reinterpreted in memory), seasonal LayerNorm, time-ramp head.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_heads, check_odd_kernel, check_positive};
use crate::error::Result;
use crate::layers::autoformer::{
    AutoCorrelationLayer, Correlation, DecompEncoder, DecompEncoderLayer, SeasonalLayerNorm,
};
use crate::layers::embed::DataEmbedding;
use crate::layers::fourier::{FftNorm, Spectrum, irfft, rfft};
use crate::layers::head::{projection, time_ramp_head};
use crate::model::{SequenceInput, ZooModel};

/// `FourierBlock` hard-codes 8 heads in its weight shape.
const FOURIER_HEADS: usize = 8;
/// The `modes` argument of the FEDformer constructor; capped at `seq_len // 2`.
const MAX_MODES: usize = 32;

/// Hyper-parameters of [`Fedformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FedformerConfig {
    pub d_model: usize,
    /// Must be 8 (`FourierBlock` hard-codes 8 heads).
    pub n_heads: usize,
    pub e_layers: usize,
    /// Decoder layers: built and stored upstream, unused in classification.
    pub d_layers: usize,
    pub d_ff: usize,
    /// Moving-average kernel of the series decompositions (odd).
    pub moving_avg: usize,
    /// Output width of the unused decoder.
    pub c_out: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for FedformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_layers: 1,
            d_ff: 2048,
            moving_avg: 25,
            c_out: EMBEDDING_DIM,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for FedformerConfig {
    type Model = Fedformer;
    const NAME: &'static str = "FEDformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            ("c_out", self.c_out),
        ])?;
        if self.n_heads != FOURIER_HEADS {
            return Err(Self::invalid(format!(
                "n_heads {} must be {FOURIER_HEADS} (FourierBlock hard-codes 8 heads)",
                self.n_heads
            )));
        }
        check_heads::<Self>(self.d_model, self.n_heads)?;
        check_odd_kernel::<Self>("moving_avg", self.moving_avg)?;
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Fedformer> {
        self.validate()?;
        let d = self.d_model;
        let fourier = |seq_len: usize| FourierBlock::new(d, MAX_MODES.min(seq_len / 2), device);
        let attention =
            |seq_len: usize| AutoCorrelationLayer::new(fourier(seq_len), d, self.n_heads, device);
        // The decoder sees `seq_len // 2 + pred_len` steps (pred_len = 0).
        let decoder_len = FRAMES_PER_CLIP / 2;
        let without_bias = |input: usize, output: usize, kernel: usize| {
            Conv1dConfig::new(input, output, kernel)
                .with_bias(false)
                .init(device)
        };
        Ok(Fedformer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, d, device),
            dec_embedding: DataEmbedding::new(EMBEDDING_DIM, d, device),
            encoder: DecompEncoder {
                attn_layers: (0..self.e_layers)
                    .map(|_| {
                        DecompEncoderLayer::new(
                            attention(FRAMES_PER_CLIP),
                            d,
                            self.d_ff,
                            self.moving_avg,
                            self.dropout,
                            device,
                        )
                    })
                    .collect(),
                norm: SeasonalLayerNorm::new(d, device),
            },
            decoder: FedformerDecoder {
                layers: (0..self.d_layers)
                    .map(|_| FedformerDecoderLayer {
                        self_attention: attention(decoder_len),
                        cross_attention: attention(decoder_len),
                        conv1: without_bias(d, self.d_ff, 1),
                        conv2: without_bias(self.d_ff, d, 1),
                        projection: without_bias(d, self.c_out, 3),
                    })
                    .collect(),
                norm: SeasonalLayerNorm::new(d, device),
                projection: LinearConfig::new(d, self.c_out).init(device),
            },
            projection: projection(FRAMES_PER_CLIP, d, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `FourierBlock` (and the weights of `FourierCrossAttention`): complex weights
/// `weights1 + i·weights2`, `[8, d_model/8, d_model/8, modes]`, applied as `x·W` per mode.
#[derive(Module, Debug)]
pub struct FourierBlock {
    pub weights1: Param<Tensor<4>>,
    pub weights2: Param<Tensor<4>>,
}

impl FourierBlock {
    /// Weights drawn uniformly from `[0, 1/d_model²)`, as upstream.
    fn new(d_model: usize, modes: usize, device: &Device) -> Self {
        let width = d_model / FOURIER_HEADS;
        let init = Initializer::Uniform {
            min: 0.0,
            max: 1.0 / (d_model * d_model) as f64,
        };
        let shape = [FOURIER_HEADS, width, width, modes];
        Self {
            weights1: init.init(shape, device),
            weights2: init.init(shape, device),
        }
    }
}

impl Correlation for FourierBlock {
    /// `Y[b,h,:,m] = Σ_e rfft(q)[b,h,e,m] · W[h,e,:,m]` for the first `modes` bins (the rest
    /// zero), `irfft(n = L)`; returns `[batch, H, E, L]`, which the layer reinterprets as
    /// `[batch, L, H·E]` (models.md §1.6).
    fn correlate(&self, q: Tensor<4>, _k: Tensor<4>, _v: Tensor<4>) -> Tensor<4> {
        let length = q.dims()[1];
        let modes = self.weights1.dims()[3];
        let spectrum = rfft(q.permute([0, 2, 3, 1]), FftNorm::Backward); // [batch, H, E, bins]
        let by_mode = |x: Tensor<4>| x.narrow(3, 0, modes).permute([1, 3, 0, 2]); // [H, modes, batch, E]
        let (xr, xi) = (by_mode(spectrum.re), by_mode(spectrum.im));
        let weight = |w: &Param<Tensor<4>>| w.val().permute([0, 3, 1, 2]); // [H, modes, E, O]
        let (wr, wi) = (weight(&self.weights1), weight(&self.weights2));
        let back = |y: Tensor<4>| y.permute([2, 0, 3, 1]); // [batch, H, O, modes]
        let out = Spectrum {
            re: back(xr.clone().matmul(wr.clone()) - xi.clone().matmul(wi.clone())),
            im: back(xr.matmul(wi) + xi.matmul(wr)),
        };
        irfft(out, length, FftNorm::Backward)
    }
}

/// Autoformer `DecoderLayer` (built upstream, unused in classification).
#[derive(Module, Debug)]
pub struct FedformerDecoderLayer {
    pub self_attention: AutoCorrelationLayer<FourierBlock>,
    pub cross_attention: AutoCorrelationLayer<FourierBlock>,
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    pub projection: Conv1d,
}

/// Autoformer `Decoder` (built upstream, unused in classification).
#[derive(Module, Debug)]
pub struct FedformerDecoder {
    pub layers: Vec<FedformerDecoderLayer>,
    pub norm: SeasonalLayerNorm,
    pub projection: Linear,
}

/// PyOmniTS `FEDformer` in classification mode. `dec_embedding` and `decoder` are built
/// upstream but unused; they are kept so checkpoints load strictly.
#[derive(Module, Debug)]
pub struct Fedformer {
    pub enc_embedding: DataEmbedding,
    pub dec_embedding: DataEmbedding,
    pub encoder: DecompEncoder<FourierBlock>,
    pub decoder: FedformerDecoder,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Fedformer {
    /// `token_conv(x) + pe` → Fourier decomposition encoder → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let encoded = self.encoder.forward(embedded);
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}
