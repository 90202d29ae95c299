//! Resolving `--model` to a ready [`Recognizer`]: the embedded default or a model folder.

use std::path::Path;

use anyhow::{Context, bail};
use insrec_encoders::compact::{ModelDescription, read_dir, recognizer};
use insrec_pipeline::Recognizer;

/// Name of the embedded model.
pub const DEFAULT: &str = "default";

const DEFAULT_JSON: &[u8] = include_bytes!("../../models/default/model.json");
const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../models/default/weights.bpk");

/// The recogniser named `model`: `default` (embedded in the binary) or the path of a model folder
/// written by `insrec train --end-to-end` (model.json + weights.bpk).
pub fn load(model: &str) -> anyhow::Result<Recognizer> {
    if model == DEFAULT {
        let description = ModelDescription::from_json(DEFAULT_JSON)
            .context("the embedded default model is damaged")?;
        return recognizer(description, DEFAULT_WEIGHTS)
            .context("the embedded default model is damaged");
    }
    let path = Path::new(model);
    if !path.exists() {
        bail!(
            "unknown model {model:?}: use `default` (embedded) or the path of a model folder \
             (model.json + weights.bpk) written by `insrec train`"
        );
    }
    let (description, weights) = read_dir(path).with_context(|| format!("model {model:?}"))?;
    recognizer(description, &weights).with_context(|| format!("model {model:?}"))
}
