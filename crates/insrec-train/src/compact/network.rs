//! [`Network`]: what the compact trainer optimises: the compact model (encoder + frame head) and,
//! in an end-to-end run of a zoo model, that classifier reading the encoder's 10-frame sequences.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_encoders::compact::{CompactConfig, CompactModel};
use insrec_zoo::{Classifier, ClassifierConfig, ModelKind, SequenceInput};
use serde::{Deserialize, Serialize};

use super::error::Result;

/// The zoo classifier of an end-to-end run, as the run's settings record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierSpec {
    /// PyOmniTS name.
    pub model: String,
    /// Config with PyOmniTS field names.
    pub config: serde_json::Value,
}

impl ClassifierSpec {
    pub fn new(config: &ClassifierConfig) -> Result<Self> {
        Ok(Self {
            model: config.kind().name().to_owned(),
            config: config.to_json().map_err(crate::error::TrainError::from)?,
        })
    }

    /// The typed config.
    pub fn config(&self) -> Result<ClassifierConfig> {
        let parse = || -> insrec_zoo::Result<ClassifierConfig> {
            ClassifierConfig::from_json(ModelKind::from_name(&self.model)?, &self.config)
        };
        Ok(parse().map_err(crate::error::TrainError::from)?)
    }
}

/// The compact model, with the classifier of an end-to-end run.
#[derive(Module, Debug)]
pub struct Network {
    pub compact: CompactModel,
    pub classifier: Option<Classifier>,
    /// Per-frame logits of which presets play, from the embedding (an auxiliary target; not
    /// exported).
    pub presets: Option<Linear>,
}

/// Logits of one batch.
pub struct Outputs {
    /// `[batch, 10, 20]` from the frame head.
    pub frames: Tensor<3>,
    /// `[batch, 20]` from the classifier, when there is one.
    pub clips: Option<Tensor<2>>,
    /// `[batch, 10, presets]` when the network learns the presets too.
    pub presets: Option<Tensor<3>>,
}

impl Network {
    /// A freshly initialised network; `presets` > 0 adds the preset output.
    pub fn init(
        config: &CompactConfig,
        classifier: Option<&ClassifierSpec>,
        presets: usize,
        device: &Device,
    ) -> Result<Self> {
        let compact = config.init(device);
        let classifier = match classifier {
            Some(spec) => Some(
                spec.config()?
                    .init(device)
                    .map_err(crate::error::TrainError::from)?,
            ),
            None => None,
        };
        let presets = (presets > 0)
            .then(|| LinearConfig::new(config.encoder.embedding_dim, presets).init(device));
        Ok(Self {
            compact,
            classifier,
            presets,
        })
    }

    /// # Shapes
    /// `[batch, 10, 96, 64]` log-mel examples → see [`Outputs`].
    pub fn forward(&self, examples: Tensor<4>) -> Result<Outputs> {
        let embeddings = self.compact.embed(examples);
        let frames = self.compact.head.forward(embeddings.clone());
        let presets = self.presets.as_ref().map(|p| p.forward(embeddings.clone()));
        let clips = match &self.classifier {
            Some(classifier) => {
                let input =
                    SequenceInput::new(embeddings).map_err(crate::error::TrainError::from)?;
                Some(classifier.forward(&input))
            }
            None => None,
        };
        Ok(Outputs {
            frames,
            clips,
            presets,
        })
    }
}
