//! PyTorch pickle checkpoints: fixture weights rewritten as `torch.save` files (the ZIP
//! `pytorch_model.bin` of PyTorch ≥ 1.6 and the legacy `.pth` of ≤ 1.5) load through
//! [`insrec_zoo::ClassifierConfig::load_pytorch`] to the fixture logits, and a damaged ZIP
//! checkpoint is refused naming the tensor.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use insrec_testutil::torch_save::{self, Tensor};
use insrec_testutil::{assert_close, read_npy_flat};
use insrec_zoo::{ModelKind, ZooError};

/// A model's `weights.safetensors` fixture as an ordered state dict (float32 tensors).
fn fixture_state_dict(kind: ModelKind) -> Vec<(String, Tensor)> {
    let path = common::model_fixture(kind, "weights.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    let mut tensors: Vec<(String, Tensor)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{kind}: {name}");
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let tensor = Tensor::from_f32(view.shape(), &values);
            (name, tensor)
        })
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}

/// Writes `bytes` to `dir/name`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Loads `path` with the fixture config and compares the logits with `output.npy`.
fn check_logits(kind: ModelKind, path: &Path) {
    let device = Device::flex();
    let config = kind
        .fixture_config(&common::model_fixture(kind, "config.json"))
        .expect("fixture config");
    let model = config
        .load_pytorch(path, &device)
        .unwrap_or_else(|e| panic!("{kind} from {}: {e}", path.display()));
    let logits = model.forward(&common::fixture_input(kind, &device));
    assert_eq!(logits.dims(), [4, 20], "{kind}: logits shape");
    let actual: Vec<f64> = logits.into_data().iter::<f32>().map(f64::from).collect();
    let (expected, _) = read_npy_flat::<f32>(format!("pyomnits/{}/output.npy", kind.name()));
    let expected: Vec<f64> = expected.into_iter().map(f64::from).collect();
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    assert_close(
        &format!("{kind} logits from {file}"),
        &actual,
        &expected,
        common::PARITY_TOLERANCE,
    );
}

/// The fixture state dict as a ZIP `pytorch_model.bin` (entries under `archive/`, as a
/// file-object save writes them, and under the file stem, as a path save does) and as a legacy
/// `.pth`; each must reproduce the parity logits.
fn check_pickled_parity(kind: ModelKind) {
    assert!(
        common::random_draws(kind).is_empty(),
        "{kind} records random draws; pick a deterministic model"
    );
    let tensors = fixture_state_dict(kind);
    let dir = tempfile::tempdir().expect("temp dir");
    let files = [
        write(
            dir.path(),
            "pytorch_model.bin",
            &torch_save::zip_state_dict(&tensors, "archive"),
        ),
        write(
            dir.path(),
            "model.pt",
            &torch_save::zip_state_dict(&tensors, "model"),
        ),
        write(
            dir.path(),
            "model.pth",
            &torch_save::legacy_state_dict(&tensors),
        ),
    ];
    for path in &files {
        check_logits(kind, path);
    }
}

#[test]
fn dlinear_loads_from_pickles() {
    check_pickled_parity(ModelKind::DLinear);
}

#[test]
fn transformer_loads_from_pickles() {
    check_pickled_parity(ModelKind::Transformer);
}

#[test]
fn gru_d_loads_from_pickles() {
    check_pickled_parity(ModelKind::GruD);
}

/// Loads a ZIP checkpoint of `tensors` and returns the mismatch problems.
fn zip_problems(kind: ModelKind, tensors: &[(String, Tensor)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        dir.path(),
        "pytorch_model.bin",
        &torch_save::zip_state_dict(tensors, "archive"),
    );
    let config = kind
        .fixture_config(&common::model_fixture(kind, "config.json"))
        .expect("fixture config");
    match config.load_pytorch(&path, &Device::flex()) {
        Err(ZooError::WeightMismatch { problems, .. }) => problems,
        other => panic!(
            "expected a weight mismatch, got {:?}",
            other.map(|m| m.kind())
        ),
    }
}

/// DLinear's fixture state dict and the position of `name` in it.
fn dlinear_with(name: &str) -> (usize, Vec<(String, Tensor)>) {
    let tensors = fixture_state_dict(ModelKind::DLinear);
    let index = tensors
        .iter()
        .position(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("DLinear fixture has no {name}"));
    (index, tensors)
}

#[test]
fn missing_tensors_are_named_as_in_pytorch() {
    // `Linear_Trend.bias` is `linear_trend.bias` in burn: the problem names the checkpoint's key.
    for name in ["decoder_classification.bias", "Linear_Trend.bias"] {
        let (index, mut tensors) = dlinear_with(name);
        tensors.remove(index);
        let problems = zip_problems(ModelKind::DLinear, &tensors);
        assert_eq!(problems, [format!("  missing tensor {name}")]);
    }
}

#[test]
fn renamed_tensor_is_named_both_ways() {
    let name = "decoder_classification.bias";
    let (index, mut tensors) = dlinear_with(name);
    tensors[index].0 = "decoder_classification.biases".to_owned();
    let problems = zip_problems(ModelKind::DLinear, &tensors);
    let text = problems.join("\n");
    assert_eq!(problems.len(), 2, "{text}");
    assert!(text.contains(&format!("missing tensor {name}")), "{text}");
    assert!(
        text.contains("unexpected tensor decoder_classification.biases"),
        "{text}"
    );
}

#[test]
fn mis_shaped_tensor_is_named() {
    let name = "decoder_classification.weight";
    let (index, mut tensors) = dlinear_with(name);
    assert_eq!(tensors[index].1.shape, [20, 1280]);
    tensors[index].1.shape = vec![40, 640];
    let problems = zip_problems(ModelKind::DLinear, &tensors);
    let text = problems.join("\n");
    assert_eq!(problems.len(), 1, "{text}");
    assert!(text.contains(name), "{text}");
}
