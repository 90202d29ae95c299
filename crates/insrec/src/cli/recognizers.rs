//! Resolving `--model` to a ready [`Recognizer`]: the embedded default, a compact model folder,
//! or a zoo classifier behind the encoder it was trained on.

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, bail};
use burn::tensor::Device;
use insrec_encoders::compact::{MODEL_JSON, ModelDescription, read_dir, recognizer};
use insrec_pipeline::Recognizer;
use insrec_train::TrainedModel;
use insrec_train::compact::CLASSIFIER_FILE;
use insrec_train::embed::Encoder;
use insrec_train::recognizer::zoo_recognizer;
use insrec_train::trainer::MODEL_FILE;

/// Name of the embedded model.
pub const DEFAULT: &str = "default";

const DEFAULT_JSON: &[u8] = include_bytes!("../../models/default/model.json");
const DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../models/default/weights.bpk");

/// The recogniser named `model`: `default` (embedded in the binary) or the path of a model folder
/// written by `insrec train --model compact` (model.json + weights.bpk) or
/// `insrec train --model NAME --end-to-end` (the same + classifier.safetensors).
pub fn load(model: &str) -> anyhow::Result<Recognizer> {
    if model == DEFAULT {
        return recognizer(embedded()?, DEFAULT_WEIGHTS)
            .context("the embedded default model is damaged");
    }
    let path = Path::new(model);
    if !path.exists() {
        bail!(
            "unknown model {model:?}: use `default` (embedded) or the path of a model folder \
             (model.json + weights.bpk) written by `insrec train`"
        );
    }
    if is_zoo(path) {
        bail!(
            "model {model:?} is a zoo classifier, which reads embeddings: name the encoder it was \
             trained on with --encoder vggish|DIR"
        );
    }
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    if dir.join(CLASSIFIER_FILE).is_file() {
        return load_end_to_end(dir).with_context(|| format!("model {model:?}"));
    }
    let (description, weights) = read_dir(path).with_context(|| format!("model {model:?}"))?;
    recognizer(description, &weights).with_context(|| format!("model {model:?}"))
}

/// The compact model `model` names, as description and weights: `default` (embedded) or a model
/// folder of `insrec train --model compact`; `None` for anything else (a zoo classifier, an
/// end-to-end run's model folder, a path that does not exist).
pub fn compact(model: &str) -> anyhow::Result<Option<(ModelDescription, Cow<'static, [u8]>)>> {
    if model == DEFAULT {
        return Ok(Some((embedded()?, Cow::Borrowed(DEFAULT_WEIGHTS))));
    }
    let path = Path::new(model);
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    if !dir.join(MODEL_JSON).is_file() || dir.join(CLASSIFIER_FILE).is_file() {
        return Ok(None);
    }
    let (description, weights) = read_dir(dir).with_context(|| format!("model {model:?}"))?;
    Ok(Some((description, Cow::Owned(weights))))
}

/// The embedded default model's description.
fn embedded() -> anyhow::Result<ModelDescription> {
    ModelDescription::from_json(DEFAULT_JSON).context("the embedded default model is damaged")
}

/// The zoo classifier `model` (a run folder of `insrec train` or its `.safetensors`) reading the
/// embeddings of `encoder`.
pub fn load_zoo(model: &str, encoder: Encoder) -> anyhow::Result<Recognizer> {
    let path = Path::new(model);
    if model == DEFAULT || !is_zoo(path) {
        bail!(
            "--encoder needs --model to be a zoo classifier trained on that encoder's embeddings: \
             a run folder of `insrec train --model NAME --encoder ...` or its {MODEL_FILE} \
             (got {model:?})"
        );
    }
    let device = Device::flex();
    let trained = TrainedModel::load(path, &device).with_context(|| format!("model {model:?}"))?;
    Ok(zoo_recognizer(trained, encoder, device))
}

/// The model folder of an end-to-end run: its compact encoder feeding its zoo classifier, with
/// the thresholds tuned on validation.
fn load_end_to_end(dir: &Path) -> anyhow::Result<Recognizer> {
    let (description, weights) = read_dir(dir)?;
    let (name, thresholds) = (description.name.clone(), description.thresholds);
    let encoder = super::encoders::compact_encoder(description, &weights)?;
    let device = Device::flex();
    let trained = TrainedModel::load(&dir.join(CLASSIFIER_FILE), &device)?;
    let mut recognizer = zoo_recognizer(trained, encoder, device);
    recognizer.name = name;
    recognizer.thresholds = thresholds;
    Ok(recognizer)
}

/// Whether `path` holds a zoo classifier rather than a compact model.
fn is_zoo(path: &Path) -> bool {
    path.join(MODEL_FILE).is_file() || path.extension().is_some_and(|e| e == "safetensors")
}
