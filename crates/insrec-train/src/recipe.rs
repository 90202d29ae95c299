//! The training recipe of a zoo classifier and how configs reach it.
//!
//! Defaults are the seed's recipe for its models (models.md §3): Adam (PyTorch defaults), the
//! per-model learning rate, `DelayedStepDecayLR`, global gradient-norm clipping at 4.0, batch 128
//! (Hi_Patch 4), up to 300 epochs with patience 10 on the validation loss, seed 2024. The loss
//! defaults to the official masked BCE; `loss = "seed_ce"` is the seed's.
//!
//! A config file is TOML: top-level keys set the model's config (PyOmniTS names, e.g.
//! `d_model = 256`), a `[train]` table sets the recipe (`learning_rate`, `batch_size`, ...). A
//! `.json` file is read as a PyOmniTS `config.json` (model keys only, others ignored).
//! Overrides `key=value` set the model, `train.key=value` the recipe.

use std::path::Path;

use insrec_zoo::{ClassifierConfig, ModelKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, TrainError};
use crate::loss::LossKind;
use crate::schedule::LrSchedule;

/// The seed's random seed (`fix_seed = 2024`).
pub const DEFAULT_SEED: u64 = 2024;

/// Prefix of recipe keys in `key=value` overrides and name of the TOML table.
pub const TRAIN_PREFIX: &str = "train";

/// How a classifier is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Base learning rate of Adam.
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Upper bound on the number of epochs.
    pub train_epochs: usize,
    /// Epochs without a better validation loss before stopping; 0 never stops early.
    pub patience: usize,
    pub lr_scheduler: LrSchedule,
    /// Maximum global gradient norm; 0 disables clipping.
    pub grad_clip: f64,
    pub loss: LossKind,
    /// Seeds initialisation, shuffling and dropout.
    pub seed: u64,
    /// Skip the last partial training batch of each epoch (the seed's loaders do).
    pub drop_last: bool,
}

impl Recipe {
    /// The seed's recipe for `kind`.
    pub fn for_model(kind: ModelKind) -> Self {
        use ModelKind::*;
        let learning_rate = match kind {
            Linear | DLinear | Transformer | ITransformer | Autoformer | Crossformer | TimesNet
            | Leddam | GruD | MTan | HiPatch => 1e-3,
            _ => 1e-4,
        };
        Self {
            learning_rate,
            batch_size: if kind == HiPatch { 4 } else { 128 },
            train_epochs: 300,
            patience: 10,
            lr_scheduler: LrSchedule::DelayedStepDecay,
            grad_clip: 4.0,
            loss: LossKind::MaskedBce,
            seed: DEFAULT_SEED,
            drop_last: false,
        }
    }

    /// Sets the given keys (unknown keys and ill-typed values are errors) and validates.
    pub fn merge(&self, values: &Map<String, Value>) -> Result<Self> {
        let Ok(Value::Object(mut fields)) = serde_json::to_value(self) else {
            unreachable!("a recipe serialises to a map")
        };
        for (key, value) in values {
            let Some(slot) = fields.get_mut(key) else {
                let known = fields.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(TrainError::BadSetting {
                    key: format!("{TRAIN_PREFIX}.{key}"),
                    reason: format!("unknown; recipe keys are {known}"),
                });
            };
            *slot = value.clone();
        }
        let recipe: Self =
            serde_json::from_value(Value::Object(fields)).map_err(|e| TrainError::BadSetting {
                key: TRAIN_PREFIX.to_owned(),
                reason: e.to_string(),
            })?;
        recipe.validate()?;
        Ok(recipe)
    }

    /// Checks value ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, reason: &str| {
            Err(TrainError::BadSetting {
                key: format!("{TRAIN_PREFIX}.{key}"),
                reason: reason.to_owned(),
            })
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if self.train_epochs == 0 {
            return bad("train_epochs", "must be at least 1");
        }
        if !(self.grad_clip.is_finite() && self.grad_clip >= 0.0) {
            return bad("grad_clip", "must be 0 (off) or a positive number");
        }
        Ok(())
    }
}

/// A model config with its recipe.
#[derive(Debug, Clone)]
pub struct TrainSetup {
    pub model: ClassifierConfig,
    pub recipe: Recipe,
}

impl TrainSetup {
    /// The production config of `kind` with the seed's recipe.
    pub fn new(kind: ModelKind) -> Self {
        Self {
            model: kind.production_config(),
            recipe: Recipe::for_model(kind),
        }
    }

    /// Applies a config file (see the module docs).
    pub fn with_file(self, path: &Path) -> Result<Self> {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            let model = self.model.kind().fixture_config(path)?;
            return Ok(Self { model, ..self });
        }
        let text = std::fs::read_to_string(path).map_err(TrainError::io(path))?;
        let mut table: Map<String, Value> =
            toml::from_str(&text).map_err(|e| TrainError::BadConfig {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let recipe = match table.remove(TRAIN_PREFIX) {
            Some(Value::Object(train)) => self.recipe.merge(&train)?,
            Some(_) => {
                return Err(TrainError::BadConfig {
                    path: path.to_owned(),
                    reason: format!("{TRAIN_PREFIX:?} must be a table"),
                });
            }
            None => self.recipe,
        };
        let overrides: Vec<String> = table.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(Self {
            model: self.model.with_overrides(&overrides)?,
            recipe,
        })
    }

    /// Applies `key=value` overrides: `train.<key>` sets the recipe, any other key the model.
    /// Values parse as JSON, else as a string.
    pub fn with_overrides(self, items: &[impl AsRef<str>]) -> Result<Self> {
        let mut recipe_values = Map::new();
        let mut model_items = Vec::new();
        for item in items {
            let item = item.as_ref();
            let recipe_key = item
                .split_once('=')
                .and_then(|(k, v)| Some((k.trim().strip_prefix("train.")?, v.trim())));
            match recipe_key {
                Some((key, raw)) => {
                    let value =
                        serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
                    recipe_values.insert(key.to_owned(), value);
                }
                None => model_items.push(item),
            }
        }
        Ok(Self {
            model: self.model.with_overrides(&model_items)?,
            recipe: self.recipe.merge(&recipe_values)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_defaults_follow_the_per_model_table() {
        let dlinear = Recipe::for_model(ModelKind::DLinear);
        assert_eq!(
            (
                dlinear.learning_rate,
                dlinear.batch_size,
                dlinear.train_epochs,
                dlinear.patience
            ),
            (1e-3, 128, 300, 10)
        );
        assert_eq!(Recipe::for_model(ModelKind::PatchTst).learning_rate, 1e-4);
        assert_eq!(Recipe::for_model(ModelKind::HiPatch).batch_size, 4);
        assert_eq!(dlinear.grad_clip, 4.0);
    }

    #[test]
    fn overrides_split_between_recipe_and_model() -> Result<()> {
        let setup = TrainSetup::new(ModelKind::Transformer).with_overrides(&[
            "train.learning_rate=0.01",
            "train.loss=seed_ce",
            "d_model=64",
            "n_heads=4",
        ])?;
        assert_eq!(setup.recipe.learning_rate, 0.01);
        assert_eq!(setup.recipe.loss, LossKind::SeedCe);
        assert_eq!(setup.model.to_json()?["d_model"], 64);
        let asl =
            TrainSetup::new(ModelKind::Transformer).with_overrides(&["train.loss=masked_asl"])?;
        assert_eq!(asl.recipe.loss, LossKind::MaskedAsl);
        let err = TrainSetup::new(ModelKind::Transformer)
            .with_overrides(&["train.lr=1"])
            .map(|_| ())
            .expect_err("must fail")
            .to_string();
        assert!(
            err.contains("train.lr") && err.contains("learning_rate"),
            "{err}"
        );
        let err = TrainSetup::new(ModelKind::Transformer)
            .with_overrides(&["train.batch_size=0"])
            .map(|_| ())
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("batch_size"), "{err}");
        Ok(())
    }

    #[test]
    fn toml_file_has_model_keys_and_a_train_table() -> Result<()> {
        let dir = tempfile::tempdir().map_err(TrainError::io("tempdir"))?;
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "d_model = 32\nn_heads = 2\n[train]\nbatch_size = 16\nlr_scheduler = \"constant\"\n",
        )
        .map_err(TrainError::io(&path))?;
        let setup = TrainSetup::new(ModelKind::Transformer).with_file(&path)?;
        assert_eq!(setup.model.to_json()?["d_model"], 32);
        assert_eq!(
            (setup.recipe.batch_size, setup.recipe.lr_scheduler),
            (16, LrSchedule::Constant)
        );
        std::fs::write(&path, "[train]\nepochs = 3\n").map_err(TrainError::io(&path))?;
        assert!(
            TrainSetup::new(ModelKind::Transformer)
                .with_file(&path)
                .is_err()
        );
        Ok(())
    }
}
