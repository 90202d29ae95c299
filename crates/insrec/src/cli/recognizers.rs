//! Resolving `--model` to a ready [`Recognizer`].

use anyhow::bail;
use insrec_pipeline::Recognizer;

/// The recogniser named `model`: `default` (embedded) or a path.
pub fn load(model: &str) -> anyhow::Result<Recognizer> {
    bail!(
        "model {model:?}: no recogniser is available yet (the embedded default model is tracked in issue 6)"
    )
}
