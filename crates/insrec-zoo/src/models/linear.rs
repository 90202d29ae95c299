//! Linear (models.md §2.1): one `Linear(L·d_model → 20)` on the channel-major flattened input.

use burn::module::Module;
use burn::nn;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::ZooConfig;
use crate::error::Result;
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`Linear`] (PyOmniTS names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearConfig {
    /// Width of the clip features; must equal `enc_in` = 128 (the head reads `x_repr_time`).
    pub d_model: usize,
}

impl Default for LinearConfig {
    fn default() -> Self {
        Self {
            d_model: EMBEDDING_DIM,
        }
    }
}

impl ZooConfig for LinearConfig {
    type Model = Linear;
    const NAME: &'static str = "Linear";

    fn validate(&self) -> Result<()> {
        if self.d_model != EMBEDDING_DIM {
            return Err(Self::invalid(format!(
                "d_model ({}) must equal enc_in ({EMBEDDING_DIM})",
                self.d_model
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<Linear> {
        self.validate()?;
        let head =
            || nn::LinearConfig::new(FRAMES_PER_CLIP * self.d_model, NUM_CLASSES).init(device);
        Ok(Linear {
            decoder_classification: head(),
            decoder_classification_repr: head(),
        })
    }
}

/// PyOmniTS `Linear` in classification mode.
#[derive(Module, Debug)]
pub struct Linear {
    /// `Linear(L·N → 20)`: in the checkpoint but unused by the forward pass.
    pub decoder_classification: nn::Linear,
    /// `Linear(L·d_model → 20)` applied to the flattened input.
    pub decoder_classification_repr: nn::Linear,
}

impl ZooModel for Linear {
    /// Flatten channel-major (`n·L + t`) → `decoder_classification_repr`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let flat = input
            .x
            .clone()
            .swap_dims(1, 2)
            .reshape([batch, channels * length]);
        self.decoder_classification_repr.forward(flat)
    }
}
