//! An exported compact model: `model.json` (config, thresholds, metadata) and `weights.bpk`
//! (burn record of the weights).

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use insrec_core::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use super::model::{CompactConfig, CompactModel};
use crate::{EncoderError, Result};

/// File name of the description.
pub const MODEL_JSON: &str = "model.json";
/// File name of the weights.
pub const WEIGHTS_BPK: &str = "weights.bpk";
/// Value of [`ModelDescription::format`].
pub const FORMAT: &str = "insrec-compact/1";

/// Everything about an exported model except its weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelDescription {
    pub format: String,
    /// Shown as the analysis report's `model`.
    pub name: String,
    pub config: CompactConfig,
    /// Per-class decision thresholds on file scores, OpenMIC order.
    pub thresholds: [f32; NUM_CLASSES],
    /// How it was trained and how well it does (command, seed, data statistics, metrics).
    #[serde(default)]
    pub metadata: serde_json::Value,
}

impl ModelDescription {
    /// Parses `model.json` content.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let description: Self =
            serde_json::from_slice(bytes).map_err(|e| EncoderError::BadModelFile {
                what: MODEL_JSON.into(),
                reason: e.to_string(),
            })?;
        if description.format != FORMAT {
            return Err(EncoderError::BadModelFile {
                what: MODEL_JSON.into(),
                reason: format!("format {:?}, expected {FORMAT:?}", description.format),
            });
        }
        Ok(description)
    }
}

/// Builds the model of `description` and loads `weights` (a burn record) into it.
pub fn load_model(
    description: &ModelDescription,
    weights: &[u8],
    device: &Device,
) -> Result<CompactModel> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .map_err(|e| EncoderError::BadWeights(e.to_string()))?;
    description
        .config
        .init(device)
        .try_load_record(record)
        .map_err(|e| EncoderError::BadWeights(e.to_string()))
}

/// Reads an exported model folder (or its `model.json`): description and weight bytes.
pub fn read_dir(path: &Path) -> Result<(ModelDescription, Vec<u8>)> {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    let read = |name: &str| {
        let file = dir.join(name);
        std::fs::read(&file).map_err(|source| EncoderError::Io { path: file, source })
    };
    Ok((
        ModelDescription::from_json(&read(MODEL_JSON)?)?,
        read(WEIGHTS_BPK)?,
    ))
}

/// Writes `model.json` and `weights.bpk` into `dir` (created if needed).
pub fn write_dir(dir: &Path, description: &ModelDescription, model: CompactModel) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EncoderError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let json = serde_json::to_vec_pretty(description).map_err(|e| EncoderError::BadModelFile {
        what: MODEL_JSON.into(),
        reason: e.to_string(),
    })?;
    let weights = model
        .valid()
        .into_record()
        .into_bytes()
        .map_err(|e| EncoderError::BadWeights(e.to_string()))?;
    let json_path = dir.join(MODEL_JSON);
    std::fs::write(&json_path, json).map_err(io(&json_path))?;
    let weights_path = dir.join(WEIGHTS_BPK);
    std::fs::write(&weights_path, &*weights).map_err(io(&weights_path))?;
    Ok(())
}
