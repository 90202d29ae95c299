//! PatchTST (models.md §2.7): instance norm, per-channel patches, full-attention encoder with a
//! BatchNorm encoder norm, flatten head.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::embed::positional_embedding;
use crate::layers::encoder::EncoderLayer;
use crate::layers::norm::instance_norm;
use crate::layers::ops::pad_replicate;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`PatchTst`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchTstConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Patch length (time steps per token).
    pub patch_len: usize,
    /// Step between patches; also the replicate padding added at the end.
    pub patch_stride: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for PatchTstConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 16,
            e_layers: 3,
            d_ff: 2048,
            patch_len: 5,
            patch_stride: 5,
            dropout: 0.05,
        }
    }
}

impl PatchTstConfig {
    /// Patches per channel: `(L + stride − patch_len) / stride + 1` (3 in production).
    fn n_patches(&self) -> usize {
        (FRAMES_PER_CLIP + self.patch_stride - self.patch_len) / self.patch_stride + 1
    }
}

impl ZooConfig for PatchTstConfig {
    type Model = PatchTst;
    const NAME: &'static str = "PatchTST";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            ("patch_len", self.patch_len),
            ("patch_stride", self.patch_stride),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if self.patch_len > FRAMES_PER_CLIP + self.patch_stride {
            return Err(Self::invalid(format!(
                "patch_len {} exceeds the padded clip length {}",
                self.patch_len,
                FRAMES_PER_CLIP + self.patch_stride
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<PatchTst> {
        self.validate()?;
        let head_in = EMBEDDING_DIM * self.d_model * self.n_patches();
        Ok(PatchTst {
            patch_embedding: PatchEmbedding {
                value_embedding: LinearConfig::new(self.patch_len, self.d_model)
                    .with_bias(false)
                    .init(device),
            },
            encoder: PatchTstEncoder {
                attn_layers: (0..self.e_layers)
                    .map(|_| {
                        EncoderLayer::new(
                            self.d_model,
                            self.n_heads,
                            self.d_ff,
                            self.dropout,
                            device,
                        )
                    })
                    .collect(),
                norm: BatchNormConfig::new(self.d_model).init(device),
            },
            projection: LinearConfig::new(head_in, NUM_CLASSES).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            patch_len: self.patch_len,
            patch_stride: self.patch_stride,
        })
    }
}

/// `PatchEmbedding`: `Linear(patch_len → d_model, no bias)` + sinusoid positions.
#[derive(Module, Debug)]
pub struct PatchEmbedding {
    pub value_embedding: Linear,
}

/// Encoder whose final norm is `nn.Sequential(Transpose, BatchNorm1d(d_model), Transpose)`
/// (`encoder.norm.1.*` in PyTorch).
#[derive(Module, Debug)]
pub struct PatchTstEncoder {
    pub attn_layers: Vec<EncoderLayer>,
    pub norm: BatchNorm,
}

/// PyOmniTS `PatchTST` in classification mode.
#[derive(Module, Debug)]
pub struct PatchTst {
    pub patch_embedding: PatchEmbedding,
    pub encoder: PatchTstEncoder,
    pub projection: Linear,
    pub dropout: Dropout,
    pub patch_len: usize,
    pub patch_stride: usize,
}

impl ZooModel for PatchTst {
    /// Instance norm → patches `[B·N, P, patch_len]` → embed → encoder → BatchNorm → flatten
    /// `n·(P·D) + j·P + p` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, _, channels] = input.x.dims();
        let series = instance_norm(input.x.clone()).swap_dims(1, 2); // [batch, channels, 10]
        let padded = pad_replicate(series, 2, 0, self.patch_stride); // [batch, channels, 10 + stride]
        let length = padded.dims()[2];
        let n_patches = (length - self.patch_len) / self.patch_stride + 1;
        let patches: Vec<Tensor<3>> = (0..n_patches)
            .map(|p| {
                padded
                    .clone()
                    .narrow(2, p * self.patch_stride, self.patch_len)
            })
            .collect();
        let patches =
            Tensor::stack::<4>(patches, 2).reshape([batch * channels, n_patches, self.patch_len]);

        let tokens = self.patch_embedding.value_embedding.forward(patches); // [B·N, P, d_model]
        let d_model = tokens.dims()[2];
        let pe = positional_embedding(n_patches, d_model, &tokens.device()).unsqueeze::<3>();
        let mut x = self.dropout.forward(tokens + pe);
        for layer in &self.encoder.attn_layers {
            x = layer.forward(x);
        }
        let x = self.encoder.norm.forward(x.swap_dims(1, 2)); // [B·N, d_model, P]
        let flat = x.reshape([batch, channels * d_model * n_patches]);
        self.projection.forward(self.dropout.forward(flat))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[(r"^encoder\.norm\.1\.", "encoder.norm.")]
    }
}
