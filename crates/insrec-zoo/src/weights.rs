//! Weights: strict import of PyTorch state dicts by PyTorch name, and the zoo's own format.
//!
//! PyTorch import (`.safetensors`, or `.pth`/`.pt`/`.bin` zip pickles) goes through
//! [`PyTorchToBurnAdapter`] (transposes `nn.Linear` weights, maps norm `weight/bias` to
//! `gamma/beta`), then turns 0-d tensors into `[1]`, plus the model's
//! [`ZooModel::key_remapping`]. It is strict: every model tensor must be present with the right
//! shape and every checkpoint tensor must be used, except the sinusoid tables `*.pe`, BatchNorm
//! `*.num_batches_tracked` and the model's [`ZooModel::ignored_weights`]. A missing tensor is
//! named as the checkpoint should name it (the remapping and norm renames run backwards).
//!
//! The own format is a safetensors file with burn module paths, plus metadata naming the model
//! and its config (see [`crate::Classifier::save`]).

use std::collections::HashMap;
use std::path::Path;

use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    ApplyResult, ChainAdapter, ModuleAdapter, ModuleContext, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore, bridge,
};
use burn::tensor::{Shape, TensorData};
use regex::Regex;

use crate::error::{Result, ZooError};
use crate::model::ZooModel;

/// PyTorch → burn key renames shared by every model (non-snake-case PyTorch names).
const SHARED_REMAPPING: [(&str, &str); 1] = [(r"\.tokenConv\.", ".token_conv.")];

/// Checkpoint tensors every model may leave unused.
const IGNORED_BUFFERS: [&str; 2] = [".pe", "num_batches_tracked"];

/// Loads a PyTorch state dict into `model`, strictly (see the module docs).
pub fn load_pytorch<M: ZooModel>(model: &mut M, name: &'static str, path: &Path) -> Result<()> {
    let format_error = |reason: String| ZooError::WeightFormat {
        path: path.to_owned(),
        reason,
    };
    let is_safetensors = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    let result = if is_safetensors {
        let mut store = remapped::<M, _>(SafetensorsStore::from_file(path), |s, from, to| {
            s.with_key_remapping(from, to)
        })
        .with_from_adapter(pytorch_adapter())
        .validate(false)
        .allow_partial(true);
        model
            .load_from(&mut store)
            .map_err(|e| format_error(e.to_string()))?
    } else {
        // `PytorchStore::apply_to` hard-codes its adapter; apply its tensors with ours instead
        // (PyTorch paths never name enum variants).
        let mut store = remapped::<M, _>(PytorchStore::from_file(path), |s, from, to| {
            s.with_key_remapping(from, to)
        });
        let tensors = store
            .get_all_tensors()
            .map_err(|e| format_error(e.to_string()))?
            .values()
            .cloned()
            .collect();
        model.apply(tensors, None, Some(Box::new(pytorch_adapter())), true)
    };
    check_strict::<M>(name, path, Naming::PyTorch, &result)
}

/// Loads a PyTorch state dict held in memory as safetensors bytes, strictly.
pub fn load_pytorch_safetensors_bytes<M: ZooModel>(
    model: &mut M,
    name: &'static str,
    bytes: Vec<u8>,
) -> Result<()> {
    let path = Path::new("<memory>");
    let mut store = remapped::<M, _>(SafetensorsStore::from_bytes(Some(bytes)), |s, from, to| {
        s.with_key_remapping(from, to)
    })
    .with_from_adapter(pytorch_adapter())
    .validate(false)
    .allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| ZooError::WeightFormat {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    check_strict::<M>(name, path, Naming::PyTorch, &result)
}

/// Saves `model` in the own format: burn module paths, `metadata` stored in the header.
pub fn save_native<M: ZooModel>(model: &M, path: &Path, metadata: &[(&str, String)]) -> Result<()> {
    let mut store = SafetensorsStore::from_file(path).overwrite(true);
    for (key, value) in metadata {
        store = store.metadata(*key, value.clone());
    }
    model
        .save_into(&mut store)
        .map_err(|e| ZooError::WeightFormat {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// Loads weights saved by [`save_native`], strictly.
pub fn load_native<M: ZooModel>(model: &mut M, name: &'static str, path: &Path) -> Result<()> {
    let mut store = SafetensorsStore::from_file(path)
        .validate(false)
        .allow_partial(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| ZooError::WeightFormat {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    check_strict::<M>(name, path, Naming::Burn, &result)
}

/// The string metadata in a safetensors header (empty when there is none).
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let format_error = |reason: String| ZooError::WeightFormat {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| ZooError::Io {
        path: path.to_owned(),
        source,
    })?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| format_error(e.to_string()))?;
    Ok(header.metadata().clone().unwrap_or_default())
}

/// PyTorch → burn tensor conversion: [`PyTorchToBurnAdapter`] (linear transposes, norm renames),
/// then [`ScalarAsVector`].
fn pytorch_adapter() -> ChainAdapter {
    PyTorchToBurnAdapter.chain(ScalarAsVector)
}

/// Loads PyTorch 0-d tensors (Leddam's fixed attention `scale`) into `[1]` parameters: burn has
/// no rank-0 tensors.
#[derive(Debug, Clone, Copy)]
struct ScalarAsVector;

impl ModuleAdapter for ScalarAsVector {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        if tensor.shape.num_dims() != 0 {
            return tensor;
        }
        let (name, dtype) = (tensor.name.clone(), tensor.dtype);
        bridge::map_data(tensor, name, dtype, Shape::new([1]), move |data| {
            TensorData::from_bytes(data.into_bytes(), [1], dtype)
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}

/// Applies the model's PyTorch → burn key remapping to a store.
fn remapped<M: ZooModel, S>(store: S, add: impl Fn(S, &str, &str) -> S) -> S {
    SHARED_REMAPPING
        .iter()
        .chain(M::key_remapping())
        .fold(store, |store, (from, to)| add(store, from, to))
}

/// How a load names the model's tensors in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// By the PyTorch name the checkpoint should hold.
    PyTorch,
    /// By burn module path (the own format).
    Burn,
}

/// Turns an [`ApplyResult`] into an error naming every missing, unexpected or mis-shaped tensor.
fn check_strict<M: ZooModel>(
    name: &'static str,
    path: &Path,
    naming: Naming,
    result: &ApplyResult,
) -> Result<()> {
    let ignored = |tensor: &str| {
        IGNORED_BUFFERS
            .iter()
            .chain(M::ignored_weights())
            .any(|suffix| tensor.ends_with(suffix))
    };
    let mut problems: Vec<String> = result.errors.iter().map(|e| format!("  {e}")).collect();
    problems.extend(result.missing.iter().map(|(tensor, _)| match naming {
        Naming::PyTorch => format!("  missing tensor {}", pytorch_name::<M>(tensor)),
        Naming::Burn => format!("  missing tensor {tensor}"),
    }));
    problems.extend(
        result
            .unused
            .iter()
            .filter(|tensor| !ignored(tensor))
            .map(|tensor| format!("  unexpected tensor {tensor}")),
    );
    if problems.is_empty() {
        tracing::debug!(model = name, path = %path.display(), tensors = result.applied.len(), "weights loaded");
        Ok(())
    } else {
        Err(ZooError::WeightMismatch {
            model: name,
            path: path.to_owned(),
            problems,
        })
    }
}

/// The PyTorch name a checkpoint must give the model tensor at burn path `path`, for error
/// messages: the key remapping run backwards, then burn's norm `gamma`/`beta` back to
/// `weight`/`bias` ([`PyTorchToBurnAdapter`]).
fn pytorch_name<M: ZooModel>(path: &str) -> String {
    let mut name = path.to_owned();
    let remapping: Vec<_> = SHARED_REMAPPING.iter().chain(M::key_remapping()).collect();
    for (from, to) in remapping.into_iter().rev() {
        if let Some((pattern, replacement)) = invert_remapping(from, to)
            && let Ok(regex) = Regex::new(&pattern)
        {
            name = regex.replace(&name, replacement.as_str()).into_owned();
        }
    }
    for (burn, torch) in [(".gamma", ".weight"), (".beta", ".bias")] {
        if let Some(stem) = name.strip_suffix(burn) {
            return format!("{stem}{torch}");
        }
    }
    name
}

/// The inverse of a `(regex, replacement)` key remapping as another such pair, for the simple
/// patterns the models use: literals, escaped characters, `^`/`$` anchors and capture groups
/// referenced as `$N`. `None` for anything else.
fn invert_remapping(from: &str, to: &str) -> Option<(String, String)> {
    let (anchored_start, body) = match from.strip_prefix('^') {
        Some(body) => (true, body),
        None => (false, from),
    };
    let (anchored_end, body) = match body.strip_suffix('$') {
        Some(body) if !body.ends_with('\\') => (true, body),
        _ => (false, body),
    };
    let mut groups = Vec::new();
    let mut replacement = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => replacement.push(chars.next()?),
            '(' => {
                let group: String = chars.by_ref().take_while(|&c| c != ')').collect();
                groups.push(group);
                replacement.push_str(&format!("${{g{}}}", groups.len()));
            }
            '.' | '*' | '+' | '?' | '[' | ']' | '{' | '}' | '|' | ')' | '$' | '^' => return None,
            c => replacement.push(c),
        }
    }
    let mut pattern = String::from(if anchored_start { "^" } else { "" });
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            let n: usize = digits.parse().ok()?;
            pattern.push_str(&format!("(?P<g{n}>{})", groups.get(n.checked_sub(1)?)?));
        } else {
            pattern.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    if anchored_end {
        pattern.push('$');
    }
    Some((pattern, replacement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{crossformer::Crossformer, dlinear::DLinear, patchtst::PatchTst};
    use crate::models::{primenet::PrimeNet, timesnet::TimesNet};

    #[test]
    fn remappings_invert_literals_anchors_and_groups() {
        let (pattern, replacement) =
            invert_remapping(r"^Linear_Trend\.", "linear_trend.").expect("invertible");
        assert_eq!(
            (pattern.as_str(), replacement.as_str()),
            (r"^linear_trend\.", "Linear_Trend.")
        );
        let (pattern, replacement) =
            invert_remapping(r"\.MLP(\d)\.0\.", ".mlp$1.input.").expect("invertible");
        assert_eq!(pattern, r"\.mlp(?P<g1>\d)\.input\.");
        assert_eq!(replacement, ".MLP${g1}.0.");
        assert_eq!(invert_remapping(r"a.b", "c"), None);
        assert_eq!(invert_remapping(r"^x\.(\d+)$", "y.$2"), None);
    }

    #[test]
    fn missing_tensors_get_their_pytorch_names() {
        assert_eq!(
            pytorch_name::<DLinear>("linear_trend.bias"),
            "Linear_Trend.bias"
        );
        assert_eq!(
            pytorch_name::<DLinear>("decoder_classification.bias"),
            "decoder_classification.bias"
        );
        assert_eq!(
            pytorch_name::<PatchTst>("encoder.norm.gamma"),
            "encoder.norm.1.weight"
        );
        assert_eq!(
            pytorch_name::<PatchTst>("encoder.attn_layers.0.norm1.beta"),
            "encoder.attn_layers.0.norm1.bias"
        );
        assert_eq!(
            pytorch_name::<TimesNet>("model.1.conv.1.weight"),
            "model.1.conv.2.weight"
        );
        assert_eq!(
            pytorch_name::<PrimeNet>("enc.layer.0.norm.gamma"),
            "enc.layer.0.norm.a_2"
        );
        assert_eq!(
            pytorch_name::<Crossformer>("encoder.blocks.0.mlp2.output.weight"),
            "encoder.blocks.0.MLP2.2.weight"
        );
        assert_eq!(
            pytorch_name::<DLinear>("enc_embedding.value_embedding.token_conv.weight"),
            "enc_embedding.value_embedding.tokenConv.weight"
        );
    }
}
