//! Transformer (models.md §2.5): token-conv + sinusoid embedding, full-attention encoder,
//! time-ramp head.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::embed::DataEmbedding;
use crate::layers::encoder::Encoder;
use crate::layers::head::{projection, time_ramp_head};
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`Transformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for TransformerConfig {
    type Model = Transformer;
    const NAME: &'static str = "Transformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<Transformer> {
        self.validate()?;
        Ok(Transformer {
            enc_embedding: DataEmbedding::new(EMBEDDING_DIM, self.d_model, device),
            encoder: Encoder::new(
                self.e_layers,
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.dropout,
                device,
            ),
            projection: projection(FRAMES_PER_CLIP, self.d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// PyOmniTS `Transformer` in classification mode.
#[derive(Module, Debug)]
pub struct Transformer {
    pub enc_embedding: DataEmbedding,
    pub encoder: Encoder,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Transformer {
    /// `embed(x)` (no time mark) → encoder → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let embedded = self
            .dropout
            .forward(self.enc_embedding.forward(input.x.clone(), None)); // [batch, 10, d_model]
        let encoded = self.encoder.forward(embedded);
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }
}
