//! Autoformer (models.md §2.12): token-conv embedding without positions, decomposition encoder
//! with FFT auto-correlation, seasonal LayerNorm, time-ramp head.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_heads, check_odd_kernel, check_positive};
use crate::error::Result;
use crate::layers::autoformer::{
    AutoCorrelation, AutoCorrelationLayer, DecompEncoder, DecompEncoderLayer, SeasonalLayerNorm,
};
use crate::layers::embed::DataEmbedding;
use crate::layers::head::{projection, time_ramp_head};
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`Autoformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Moving-average kernel of the series decompositions (odd).
    pub moving_avg: usize,
    /// Auto-correlation keeps the `⌊factor · ln 10⌋` strongest delays.
    pub factor: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for AutoformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            moving_avg: 25,
            factor: 3,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for AutoformerConfig {
    type Model = Autoformer;
    const NAME: &'static str = "Autoformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        check_odd_kernel::<Self>("moving_avg", self.moving_avg)?;
        let top_k = AutoCorrelation::top_k(self.factor, FRAMES_PER_CLIP);
        if top_k == 0 || top_k > FRAMES_PER_CLIP {
            return Err(Self::invalid(format!(
                "factor {} keeps {top_k} delays; it must keep 1 to {FRAMES_PER_CLIP}",
                self.factor
            )));
        }
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Autoformer> {
        self.validate()?;
        let layer = || {
            let attention = AutoCorrelationLayer::new(
                AutoCorrelation::new(self.factor),
                self.d_model,
                self.n_heads,
                device,
            );
            DecompEncoderLayer::new(
                attention,
                self.d_model,
                self.d_ff,
                self.moving_avg,
                self.dropout,
                device,
            )
        };
        Ok(Autoformer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            dec_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            encoder: DecompEncoder {
                attn_layers: (0..self.e_layers).map(|_| layer()).collect(),
                norm: SeasonalLayerNorm::new(self.d_model, device),
            },
            projection: projection(FRAMES_PER_CLIP, self.d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// PyOmniTS `Autoformer` in classification mode. `dec_embedding` is built upstream but unused
/// in classification; it is kept so checkpoints load strictly.
#[derive(Module, Debug)]
pub struct Autoformer {
    pub enc_embedding: DataEmbedding,
    pub dec_embedding: DataEmbedding,
    pub encoder: DecompEncoder<AutoCorrelation>,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Autoformer {
    /// `token_conv(x)` → decomposition encoder → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let embedded = self.dropout.forward(
            self.enc_embedding
                .forward_without_position(input.x.clone(), None),
        ); // [batch, 10, d_model]
        let encoded = self.encoder.forward(embedded);
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}
