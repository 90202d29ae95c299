//! Model configurations: production defaults, TOML files, `key=value` overrides and the
//! `config.json` of a PyOmniTS parity fixture.
//!
//! Every config is a serde struct whose field names are the PyOmniTS `ExpConfigs` names
//! (`d_model`, `n_heads`, `e_layers`, `d_ff`, ...) and whose `Default` is the production value of
//! `configs/<Model>/OpenMIC.yaml`. Values are merged key by key onto that default, so a file only
//! lists what it changes.

use std::path::Path;

use burn::tensor::Device;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Result, ZooError};
use crate::model::ZooModel;

/// A model's typed hyper-parameters.
pub trait ZooConfig: Serialize + DeserializeOwned + Clone + std::fmt::Debug + Default {
    /// The model this config builds.
    type Model: ZooModel;

    /// The PyOmniTS name (`"PatchTST"`), also the fixture folder and the registry key.
    const NAME: &'static str;

    /// Checks cross-field constraints (e.g. `n_heads` divides `d_model`).
    fn validate(&self) -> Result<()>;

    /// Validates the config and builds a randomly initialised model on `device`.
    fn init(&self, device: &Device) -> Result<Self::Model>;

    /// An [`ZooError::InvalidConfig`] for this model.
    fn invalid(reason: impl Into<String>) -> ZooError {
        ZooError::InvalidConfig {
            model: Self::NAME,
            reason: reason.into(),
        }
    }
}

/// How keys that the config does not have are treated when merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKeys {
    /// An unknown key is an error (user files and overrides: catches typos).
    Reject,
    /// Unknown keys are skipped (fixture configs hold every `ExpConfigs` field).
    Ignore,
}

/// Merges `values` onto `base` key by key and validates the result.
pub fn merge<C: ZooConfig>(
    base: &C,
    values: &Map<String, Value>,
    unknown: UnknownKeys,
) -> Result<C> {
    let Value::Object(mut fields) = to_value::<C>(base)? else {
        return Err(C::invalid("config does not serialise to a map"));
    };
    for (key, value) in values {
        match fields.get_mut(key) {
            Some(slot) => *slot = value.clone(),
            None if unknown == UnknownKeys::Ignore => {}
            None => {
                let known = fields.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(ZooError::UnknownConfigKey {
                    model: C::NAME,
                    key: key.clone(),
                    known,
                });
            }
        }
    }
    let config: C =
        serde_json::from_value(Value::Object(fields)).map_err(|e| C::invalid(e.to_string()))?;
    config.validate()?;
    Ok(config)
}

/// Applies `key=value` overrides; values parse as JSON (`512`, `0.1`, `[128,128]`) or else as a
/// plain string (`timeF`).
pub fn apply_overrides<C: ZooConfig>(base: &C, overrides: &[impl AsRef<str>]) -> Result<C> {
    let mut values = Map::new();
    for item in overrides {
        let item = item.as_ref();
        let (key, raw) = item
            .split_once('=')
            .ok_or_else(|| ZooError::MalformedOverride(item.to_owned()))?;
        let (key, raw) = (key.trim(), raw.trim());
        if key.is_empty() {
            return Err(ZooError::MalformedOverride(item.to_owned()));
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        values.insert(key.to_owned(), value);
    }
    merge(base, &values, UnknownKeys::Reject)
}

/// Reads a TOML table of overrides (`d_model = 256`) onto `base`.
pub fn from_toml_file<C: ZooConfig>(base: &C, path: &Path) -> Result<C> {
    let text = std::fs::read_to_string(path).map_err(|source| ZooError::Io {
        path: path.to_owned(),
        source,
    })?;
    let values: Map<String, Value> = toml::from_str(&text).map_err(|e| ZooError::ConfigSyntax {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    merge(base, &values, UnknownKeys::Reject)
}

/// The config of a parity fixture: `config.json["configs"]` plus the hard-coded widths that the
/// fixture generator patched (`fixture_overrides.source_patches`, key `fixture_<model>_<field>`
/// becomes `<field>`), merged onto the production default.
pub fn from_fixture_file<C: ZooConfig>(path: &Path) -> Result<C> {
    let syntax = |reason: String| ZooError::ConfigSyntax {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ZooError::Io {
        path: path.to_owned(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| syntax(e.to_string()))?;
    let mut values = json
        .get("configs")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| syntax("no \"configs\" object".to_owned()))?;
    let prefix = format!("fixture_{}_", C::NAME.to_lowercase());
    if let Some(patches) = json
        .pointer("/fixture_overrides/source_patches")
        .and_then(Value::as_object)
    {
        for (key, value) in patches {
            let field = key.strip_prefix(&prefix).unwrap_or(key);
            values.insert(field.to_owned(), value.clone());
        }
    }
    merge(&C::default(), &values, UnknownKeys::Ignore)
}

/// The config as a JSON value (for saving beside weights and for display).
pub fn to_value<C: ZooConfig>(config: &C) -> Result<Value> {
    serde_json::to_value(config).map_err(|e| C::invalid(e.to_string()))
}

/// `Err(InvalidConfig)` unless `n_heads` is positive and divides `d_model`.
pub fn check_heads<C: ZooConfig>(d_model: usize, n_heads: usize) -> Result<()> {
    if n_heads == 0 || !d_model.is_multiple_of(n_heads) {
        return Err(C::invalid(format!(
            "n_heads ({n_heads}) must divide d_model ({d_model})"
        )));
    }
    Ok(())
}

/// `Err(InvalidConfig)` when a width is zero.
pub fn check_positive<C: ZooConfig>(fields: &[(&str, usize)]) -> Result<()> {
    match fields.iter().find(|(_, v)| *v == 0) {
        Some((name, _)) => Err(C::invalid(format!("{name} must be positive"))),
        None => Ok(()),
    }
}

/// `Err(InvalidConfig)` unless `dropout` is in `[0, 1)`.
pub fn check_dropout<C: ZooConfig>(dropout: f64) -> Result<()> {
    if !(0.0..1.0).contains(&dropout) {
        return Err(C::invalid(format!("dropout {dropout} must be in [0, 1)")));
    }
    Ok(())
}

/// `Err(InvalidConfig)` unless a moving-average kernel is odd (an even kernel would shorten the
/// series).
pub fn check_odd_kernel<C: ZooConfig>(name: &str, kernel: usize) -> Result<()> {
    if kernel.is_multiple_of(2) {
        return Err(C::invalid(format!("{name} {kernel} must be odd")));
    }
    Ok(())
}
