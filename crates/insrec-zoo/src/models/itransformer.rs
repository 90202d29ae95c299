//! iTransformer (models.md §2.6): each of the 128 variates is one token (`Linear(10 → D)` of its
//! series), a full-attention encoder across variates, `gelu`, variate-major flatten head.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::encoder::Encoder;
use crate::layers::ops::gelu;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`ITransformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ITransformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for ITransformerConfig {
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

impl ZooConfig for ITransformerConfig {
    type Model = ITransformer;
    const NAME: &'static str = "iTransformer";

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

    fn init(&self, device: &Device) -> Result<ITransformer> {
        self.validate()?;
        Ok(ITransformer {
            enc_embedding: InvertedEmbedding {
                value_embedding: LinearConfig::new(FRAMES_PER_CLIP, self.d_model).init(device),
            },
            encoder: Encoder::new(
                self.e_layers,
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.dropout,
                device,
            ),
            projection: LinearConfig::new(EMBEDDING_DIM * self.d_model, NUM_CLASSES).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `DataEmbedding_inverted`: `Linear(L → d_model)` on each variate's whole series.
#[derive(Module, Debug)]
pub struct InvertedEmbedding {
    pub value_embedding: Linear,
}

/// PyOmniTS `iTransformer` in classification mode.
#[derive(Module, Debug)]
pub struct ITransformer {
    pub enc_embedding: InvertedEmbedding,
    pub encoder: Encoder,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for ITransformer {
    /// Variate tokens → encoder → `gelu` → flatten `n·D + j` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, _, channels] = input.x.dims();
        let series = input.x.clone().swap_dims(1, 2); // [batch, 128, 10]
        let tokens = self
            .dropout
            .forward(self.enc_embedding.value_embedding.forward(series)); // [batch, 128, d_model]
        let encoded = self.encoder.forward(tokens);
        let d_model = encoded.dims()[2];
        let flat = self
            .dropout
            .forward(gelu(encoded))
            .reshape([batch, channels * d_model]);
        self.projection.forward(flat)
    }
}
