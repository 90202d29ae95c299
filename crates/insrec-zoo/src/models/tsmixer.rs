//! TSMixer (models.md §2.4): residual MLPs that mix along time, then across channels; a linear
//! head on the time-major flattened clip.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_positive};
use crate::error::Result;
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::model::{SequenceInput, ZooModel};

/// Hyper-parameters of [`TsMixer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsMixerConfig {
    /// Hidden width of both mixing MLPs.
    pub d_model: usize,
    /// Number of mixer blocks.
    pub e_layers: usize,
    /// Dropout probability at the end of each MLP (training only).
    pub dropout: f64,
}

impl Default for TsMixerConfig {
    fn default() -> Self {
        Self {
            d_model: 256,
            e_layers: 2,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for TsMixerConfig {
    type Model = TsMixer;
    const NAME: &'static str = "TSMixer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("d_model", self.d_model), ("e_layers", self.e_layers)])?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Self::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<TsMixer> {
        self.validate()?;
        Ok(TsMixer {
            model: (0..self.e_layers)
                .map(|_| ResBlock {
                    temporal: relu_mlp(&[FRAMES_PER_CLIP, self.d_model, FRAMES_PER_CLIP], device),
                    channel: relu_mlp(&[EMBEDDING_DIM, self.d_model, EMBEDDING_DIM], device),
                    dropout: DropoutConfig::new(self.dropout).init(),
                })
                .collect(),
            projection: LinearConfig::new(FRAMES_PER_CLIP * EMBEDDING_DIM, NUM_CLASSES)
                .init(device),
        })
    }
}

/// One mixer block; each MLP is `nn.Sequential(Linear, ReLU, Linear, Dropout)`.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// `Linear(10 → D), ReLU, Linear(D → 10)` along time.
    pub temporal: ReluMlp,
    /// `Linear(128 → D), ReLU, Linear(D → 128)` across channels.
    pub channel: ReluMlp,
    pub dropout: Dropout,
}

impl ResBlock {
    /// `x += temporal(xᵀ)ᵀ`, then `x += channel(x)`.
    ///
    /// # Shapes
    /// - x: `[batch, 10, 128]` → `[batch, 10, 128]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mixed = relu_mlp_forward(&self.temporal, x.clone().swap_dims(1, 2)).swap_dims(1, 2);
        let x = x + self.dropout.forward(mixed);
        let mixed = relu_mlp_forward(&self.channel, x.clone());
        x + self.dropout.forward(mixed)
    }
}

/// PyOmniTS `TSMixer` in classification mode.
#[derive(Module, Debug)]
pub struct TsMixer {
    /// The mixer blocks (`model.{i}` in PyTorch).
    pub model: Vec<ResBlock>,
    pub projection: Linear,
}

impl ZooModel for TsMixer {
    /// Mixer blocks → flatten time-major (`t·128 + n`) → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let x = self
            .model
            .iter()
            .fold(input.x.clone(), |x, block| block.forward(x));
        self.projection
            .forward(x.reshape([batch, length * channels]))
    }
}
