//! Frame-level heads: a file's (or clip's) embedding sequence → per-frame logits with temporal
//! context.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{
    BiGru, BiGruConfig, Linear, LinearConfig, PaddingConfig1d,
    conv::{Conv1d, Conv1dConfig},
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use insrec_core::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use super::presets::{PresetView, PresetViewConfig};

/// Which head reads the embedding sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// Per-frame MLP, no temporal context (the baseline).
    Mlp,
    /// Temporal convolutions (kernel 3, dilations 1 and 2): ±3 frames of context.
    Tcn,
    /// Bidirectional GRU over the whole sequence.
    BiGru,
}

impl HeadKind {
    pub const ALL: [HeadKind; 3] = [Self::Mlp, Self::Tcn, Self::BiGru];

    pub fn name(self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Tcn => "tcn",
            Self::BiGru => "bigru",
        }
    }
}

/// Hyper-parameters of [`FrameHead`].
#[derive(Config, Debug, PartialEq)]
pub struct FrameHeadConfig {
    pub kind: HeadKind,
    /// Width of the input embeddings.
    #[config(default = 128)]
    pub input_dim: usize,
    /// Hidden width.
    #[config(default = 128)]
    pub hidden: usize,
    /// The preset output blended into the class logits (exported models of runs with
    /// `preset_loss`; `None` while training and in models written before it).
    #[config(default = "None")]
    pub presets: Option<PresetViewConfig>,
}

impl FrameHeadConfig {
    pub fn init(&self, device: &Device) -> FrameHead {
        let (d, h) = (self.input_dim, self.hidden);
        let conv = |c_in, dilation| {
            Conv1dConfig::new(c_in, h, 3)
                .with_dilation(dilation)
                .with_padding(PaddingConfig1d::Explicit(dilation, dilation))
                .init(device)
        };
        let (tcn, gru) = match self.kind {
            HeadKind::Mlp => (None, None),
            HeadKind::Tcn => (
                Some(TemporalConvs {
                    first: conv(d, 1),
                    second: conv(h, 2),
                }),
                None,
            ),
            HeadKind::BiGru => (None, Some(BiGruConfig::new(d, h / 2, true).init(device))),
        };
        let hidden_in = match self.kind {
            HeadKind::Mlp => d,
            HeadKind::Tcn => h,
            HeadKind::BiGru => 2 * (h / 2),
        };
        FrameHead {
            tcn,
            gru,
            hidden: LinearConfig::new(hidden_in, h).init(device),
            output: LinearConfig::new(h, NUM_CLASSES).init(device),
            presets: self.presets.as_ref().map(|p| p.init(device)),
        }
    }
}

/// Two 1-D convolutions over time, the second dilated, with a residual connection.
#[derive(Module, Debug)]
pub struct TemporalConvs {
    pub first: Conv1d,
    pub second: Conv1d,
}

/// Embedding sequence → per-frame logits (sigmoid gives the 20 independent probabilities).
#[derive(Module, Debug)]
pub struct FrameHead {
    pub tcn: Option<TemporalConvs>,
    pub gru: Option<BiGru>,
    pub hidden: Linear,
    pub output: Linear,
    pub presets: Option<PresetView>,
}

impl FrameHead {
    /// # Shapes
    /// `[batch, frames, dim]` → `[batch, frames, 20]` logits.
    pub fn forward(&self, embeddings: Tensor<3>) -> Tensor<3> {
        let x = embeddings.clone();
        let x = if let Some(tcn) = &self.tcn {
            // [batch, dim, frames]
            let x = x.swap_dims(1, 2);
            let y = relu(tcn.first.forward(x));
            let y = relu(tcn.second.forward(y.clone())) + y;
            y.swap_dims(1, 2)
        } else if let Some(gru) = &self.gru {
            gru.forward(x, None).0
        } else {
            x
        };
        let logits = self.output.forward(relu(self.hidden.forward(x)));
        match &self.presets {
            Some(view) => view.blend(logits, embeddings),
            None => logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_config_without_presets_reads_as_the_head_alone() {
        let older = serde_json::json!({"kind": "tcn", "input_dim": 128, "hidden": 128});
        let config: FrameHeadConfig = serde_json::from_value(older).expect("older config");
        assert_eq!(config, FrameHeadConfig::new(HeadKind::Tcn));
        assert!(config.init(&Device::flex()).presets.is_none());
    }
}
