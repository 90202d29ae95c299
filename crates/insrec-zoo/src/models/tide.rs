//! TiDE (models.md §2.9): instance norm, a residual-MLP encoder of the time marks, one shared
//! residual-MLP encoder per variate (its 10 values + the encoded marks), a linear head.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_positive};
use crate::error::Result;
use crate::layers::norm::instance_norm;
use crate::layers::ops::time_marks;
use crate::model::{SequenceInput, ZooModel};

/// Width of the encoded time features per step (`feature_encode_dim`, hard-coded upstream).
const FEATURE_ENCODE_DIM: usize = 2;

/// Hyper-parameters of [`TiDe`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TiDeConfig {
    /// Hidden and output width of every residual block (`hidden_dim = res_hidden`).
    pub d_model: usize,
    /// Number of encoder blocks. PyTorch repeats one module object for blocks 2.., so with
    /// `e_layers ≥ 3` those blocks share weights there (identical tensors in a checkpoint);
    /// here each block has its own, which only matters when training.
    pub e_layers: usize,
    /// Dropout probability after `fc2` of each block (training only).
    pub dropout: f64,
}

impl Default for TiDeConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            e_layers: 2,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for TiDeConfig {
    type Model = TiDe;
    const NAME: &'static str = "TiDE";

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

    fn init(&self, device: &Device) -> Result<TiDe> {
        self.validate()?;
        let d = self.d_model;
        let block = |input, output| ResBlock::new(input, d, output, self.dropout, device);
        // Per variate: its 10 values and the encoded marks of the 10 steps.
        let flatten_dim = FRAMES_PER_CLIP + FRAMES_PER_CLIP * FEATURE_ENCODE_DIM;
        Ok(TiDe {
            feature_encoder: block(EMBEDDING_DIM, FEATURE_ENCODE_DIM),
            encoders: (0..self.e_layers)
                .map(|i| block(if i == 0 { flatten_dim } else { d }, d))
                .collect(),
            decoder_classification: LinearConfig::new(d * EMBEDDING_DIM, NUM_CLASSES).init(device),
        })
    }
}

/// TiDE's `ResBlock(in, hid, out)`: `ln(dropout(fc2(relu(fc1 x))) + fc3 x)`.
#[derive(Module, Debug)]
pub struct ResBlock {
    pub fc1: Linear,
    pub fc2: Linear,
    pub fc3: Linear,
    pub ln: LayerNorm,
    pub dropout: Dropout,
}

impl ResBlock {
    fn new(input: usize, hidden: usize, output: usize, dropout: f64, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(input, hidden).init(device),
            fc2: LinearConfig::new(hidden, output).init(device),
            fc3: LinearConfig::new(input, output).init(device),
            ln: LayerNormConfig::new(output).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// # Shapes
    /// - x: `[..., in]` → `[..., out]`
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let out = self
            .dropout
            .forward(self.fc2.forward(relu(self.fc1.forward(x.clone()))));
        self.ln.forward(out + self.fc3.forward(x))
    }
}

/// PyOmniTS `TiDE` in classification mode.
#[derive(Module, Debug)]
pub struct TiDe {
    /// `ResBlock(128, D, 2)` on the time mark repeated over the 128 channels.
    pub feature_encoder: ResBlock,
    /// `ResBlock(30, D, D)`, then `ResBlock(D, D, D)` × (e_layers − 1).
    pub encoders: Vec<ResBlock>,
    pub decoder_classification: Linear,
}

impl ZooModel for TiDe {
    /// Instance norm; per variate `encoders([x_v (10), features (20, t·2 + f)])` → `[B, D, N]`
    /// flattened `j·N + v` → `decoder_classification`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let device = input.device();
        let series = instance_norm(input.x.clone()).swap_dims(1, 2); // [B, N, L]
        // The marks are the same for every clip and channel: encode them once.
        let marks = time_marks(1, length, &device).repeat_dim(2, channels); // [1, L, N]
        let features = self
            .feature_encoder
            .forward(marks) // [1, L, 2]
            .reshape([1, 1, length * FEATURE_ENCODE_DIM])
            .expand([batch, channels, length * FEATURE_ENCODE_DIM]);
        let hidden = self
            .encoders
            .iter()
            .fold(Tensor::cat(vec![series, features], 2), |h, block| {
                block.forward(h)
            }); // [B, N, D]
        let d_model = hidden.dims()[2];
        let flat = hidden.swap_dims(1, 2).reshape([batch, d_model * channels]);
        self.decoder_classification.forward(flat)
    }
}
