//! The 27 PyOmniTS models by name: [`ModelKind`], their configs ([`ClassifierConfig`]) and
//! built models ([`Classifier`]). Every model is listed once in the `zoo!` call below; its own
//! file in [`crate::models`] holds the config and the port.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde_json::Value;

use crate::config::{self, ZooConfig};
use crate::error::{Result, ZooError};
use crate::model::{SequenceInput, ZooModel};
use crate::models::*;
use crate::weights;

/// Metadata key of the model name in files written by [`Classifier::save`].
const MODEL_KEY: &str = "insrec.model";
/// Metadata key of the config (JSON) in files written by [`Classifier::save`].
const CONFIG_KEY: &str = "insrec.config";

macro_rules! zoo {
    ($($kind:ident => $module:ident :: $config:ident,)*) => {
        /// One of the PyOmniTS backbones; `Display`/`FromStr` use the exact PyOmniTS spelling.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ModelKind {
            $($kind,)*
        }

        impl ModelKind {
            /// Every model, in the order of models.md §2.
            pub const ALL: &'static [ModelKind] = &[$(ModelKind::$kind,)*];

            /// The PyOmniTS name (`"PatchTST"`, `"GRU_D"`), also the fixture folder.
            pub fn name(self) -> &'static str {
                match self {
                    $(ModelKind::$kind => <$module::$config as ZooConfig>::NAME,)*
                }
            }

            /// The production config (`configs/<Model>/OpenMIC.yaml`).
            pub fn production_config(self) -> ClassifierConfig {
                match self {
                    $(ModelKind::$kind => ClassifierConfig::$kind(<$module::$config>::default()),)*
                }
            }

            /// The config of a parity fixture's `config.json`.
            pub fn fixture_config(self, path: &Path) -> Result<ClassifierConfig> {
                Ok(match self {
                    $(ModelKind::$kind => ClassifierConfig::$kind(config::from_fixture_file(path)?),)*
                })
            }
        }

        /// The typed config of one model.
        #[derive(Debug, Clone)]
        pub enum ClassifierConfig {
            $($kind($module::$config),)*
        }

        impl ClassifierConfig {
            /// Which model this configures.
            pub fn kind(&self) -> ModelKind {
                match self {
                    $(ClassifierConfig::$kind(_) => ModelKind::$kind,)*
                }
            }

            /// Applies `key=value` overrides (unknown keys are errors) and validates.
            pub fn with_overrides(&self, overrides: &[impl AsRef<str>]) -> Result<Self> {
                Ok(match self {
                    $(ClassifierConfig::$kind(c) => ClassifierConfig::$kind(config::apply_overrides(c, overrides)?),)*
                })
            }

            /// Applies the keys of a TOML file (unknown keys are errors) and validates.
            pub fn with_toml_file(&self, path: &Path) -> Result<Self> {
                Ok(match self {
                    $(ClassifierConfig::$kind(c) => ClassifierConfig::$kind(config::from_toml_file(c, path)?),)*
                })
            }

            /// The config as JSON, PyOmniTS field names.
            pub fn to_json(&self) -> Result<Value> {
                match self {
                    $(ClassifierConfig::$kind(c) => config::to_value(c),)*
                }
            }

            /// Parses a config written by [`ClassifierConfig::to_json`] (missing keys keep the
            /// production value, unknown keys are errors).
            pub fn from_json(kind: ModelKind, value: &Value) -> Result<Self> {
                let empty = serde_json::Map::new();
                let values = value.as_object().unwrap_or(&empty);
                Ok(match kind {
                    $(ModelKind::$kind => ClassifierConfig::$kind(
                        config::merge(&<$module::$config>::default(), values, config::UnknownKeys::Reject)?,
                    ),)*
                })
            }

            /// Validates and builds a randomly initialised model.
            pub fn init(&self, device: &Device) -> Result<Classifier> {
                Ok(match self {
                    $(ClassifierConfig::$kind(c) => Classifier::$kind(c.init(device)?),)*
                })
            }

            /// Builds the model and loads a PyTorch state dict (`.safetensors`, `.pth`, `.pt`,
            /// `.bin`) strictly by PyTorch tensor name.
            pub fn load_pytorch(&self, path: &Path, device: &Device) -> Result<Classifier> {
                Ok(match self {
                    $(ClassifierConfig::$kind(c) => {
                        let mut model = c.init(device)?;
                        weights::load_pytorch(&mut model, <$module::$config as ZooConfig>::NAME, path)?;
                        Classifier::$kind(model)
                    })*
                })
            }

            fn load_native(&self, path: &Path, device: &Device) -> Result<Classifier> {
                Ok(match self {
                    $(ClassifierConfig::$kind(c) => {
                        let mut model = c.init(device)?;
                        weights::load_native(&mut model, <$module::$config as ZooConfig>::NAME, path)?;
                        Classifier::$kind(model)
                    })*
                })
            }
        }

        /// A built sequence classifier: [B, 10, 128] (+ [B, 10] mask) → [B, 20] logits.
        // One model lives per classifier and the `Module` derive cannot box variants, so the
        // size difference between variants is harmless.
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum Classifier {
            $($kind(<$module::$config as ZooConfig>::Model),)*
        }

        impl Classifier {
            /// Which model this is.
            pub fn kind(&self) -> ModelKind {
                match self {
                    $(Classifier::$kind(_) => ModelKind::$kind,)*
                }
            }

            /// Logits of the 20 OpenMIC classes.
            ///
            /// # Shapes
            /// - input: `x [batch_size, 10, 128]`, `x_mask [batch_size, 10]`
            /// - output: `[batch_size, 20]`
            pub fn forward(&self, input: &SequenceInput) -> Tensor<2> {
                match self {
                    $(Classifier::$kind(m) => m.forward(input),)*
                }
            }

            /// Loads a PyTorch state dict held in memory as safetensors bytes, strictly.
            pub fn load_pytorch_safetensors_bytes(&mut self, bytes: Vec<u8>) -> Result<()> {
                match self {
                    $(Classifier::$kind(m) => weights::load_pytorch_safetensors_bytes(
                        m,
                        <$module::$config as ZooConfig>::NAME,
                        bytes,
                    ),)*
                }
            }

            fn save_native(&self, path: &Path, metadata: &[(&str, String)]) -> Result<()> {
                match self {
                    $(Classifier::$kind(m) => weights::save_native(m, path, metadata),)*
                }
            }
        }
    };
}

zoo! {
    Linear => linear::LinearConfig,
    DLinear => dlinear::DLinearConfig,
    LightTs => lightts::LightTsConfig,
    TsMixer => tsmixer::TsMixerConfig,
    Transformer => transformer::TransformerConfig,
    ITransformer => itransformer::ITransformerConfig,
    PatchTst => patchtst::PatchTstConfig,
    SegRnn => segrnn::SegRnnConfig,
    TiDe => tide::TiDeConfig,
    FreTs => frets::FreTsConfig,
    Informer => informer::InformerConfig,
    Autoformer => autoformer::AutoformerConfig,
    Fedformer => fedformer::FedformerConfig,
    TimesNet => timesnet::TimesNetConfig,
    NonstationaryTransformer => nonstationary_transformer::NonstationaryTransformerConfig,
    Crossformer => crossformer::CrossformerConfig,
    Micn => micn::MicnConfig,
    Film => film::FilmConfig,
    Leddam => leddam::LeddamConfig,
    Pyraformer => pyraformer::PyraformerConfig,
    Reformer => reformer::ReformerConfig,
    MambaSimple => mambasimple::MambaSimpleConfig,
    GruD => gru_d::GruDConfig,
    MTan => mtan::MTanConfig,
    PrimeNet => primenet::PrimeNetConfig,
    Raindrop => raindrop::RaindropConfig,
    HiPatch => hi_patch::HiPatchConfig,
}

impl ModelKind {
    /// Looks a model up by its PyOmniTS name (exact spelling, case-insensitive).
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ZooError::UnknownModel {
                name: name.to_owned(),
                known: Self::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = ZooError;

    fn from_str(name: &str) -> Result<Self> {
        Self::from_name(name)
    }
}

impl Classifier {
    /// Saves weights and config in the zoo's own format (one safetensors file, burn module paths,
    /// model name and config JSON in the header metadata).
    pub fn save(&self, config: &ClassifierConfig, path: &Path) -> Result<()> {
        let metadata = [
            (MODEL_KEY, self.kind().name().to_owned()),
            (CONFIG_KEY, config.to_json()?.to_string()),
        ];
        self.save_native(path, &metadata)
    }

    /// Loads a file written by [`Classifier::save`], rebuilding the model from its metadata.
    pub fn load(path: &Path, device: &Device) -> Result<(Self, ClassifierConfig)> {
        let metadata = weights::read_metadata(path)?;
        let missing = |key: &str| ZooError::WeightFormat {
            path: path.to_owned(),
            reason: format!("no {key:?} metadata (not saved by insrec)"),
        };
        let kind =
            ModelKind::from_name(metadata.get(MODEL_KEY).ok_or_else(|| missing(MODEL_KEY))?)?;
        let json: Value = serde_json::from_str(
            metadata
                .get(CONFIG_KEY)
                .ok_or_else(|| missing(CONFIG_KEY))?,
        )
        .map_err(|e| ZooError::ConfigSyntax {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let config = ClassifierConfig::from_json(kind, &json)?;
        Ok((config.load_native(path, device)?, config))
    }
}
