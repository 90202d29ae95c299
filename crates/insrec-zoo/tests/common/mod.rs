//! Shared helpers of the zoo's integration tests; each test file declares one test per model
//! through a one-line macro call.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use burn::tensor::{DType, Device, Tensor, TensorData};
use insrec_testutil::{assert_close, fixture, read_npy_flat};
use insrec_zoo::{ClassifierConfig, ModelKind, SequenceInput};

/// Largest |logits − output.npy| a port may show on a parity fixture.
pub const PARITY_TOLERANCE: f64 = 1e-4;

/// `shared/fixtures/pyomnits/<Name>/<file>`.
pub fn model_fixture(kind: ModelKind, file: &str) -> PathBuf {
    fixture(format!("pyomnits/{}/{file}", kind.name()))
}

/// The fixture input (`input.npy` [4, 10, 128], `x_mask.npy` [4, 10]) on `device`.
pub fn fixture_input(kind: ModelKind, device: &Device) -> SequenceInput {
    let rel = |file: &str| format!("pyomnits/{}/{file}", kind.name());
    let (x, x_shape) = read_npy_flat::<f32>(rel("input.npy"));
    let (mask, mask_shape) = read_npy_flat::<f32>(rel("x_mask.npy"));
    let x = Tensor::<3>::from_data(TensorData::new(x, x_shape), device);
    let mask = Tensor::<2>::from_data(TensorData::new(mask, mask_shape), device);
    let input = SequenceInput::new(x)
        .and_then(|i| i.with_mask(mask))
        .expect("fixture input has the clip shape");
    input.with_draws(random_draws(kind))
}

/// The recorded random draws (`random_draws.safetensors`, `draw_000_*`, `draw_001_*`, ...) in
/// call order; empty for deterministic models.
pub fn random_draws(kind: ModelKind) -> Vec<TensorData> {
    let path = insrec_testutil::fixtures_dir()
        .join(format!("pyomnits/{}/random_draws.safetensors", kind.name()));
    if !path.exists() {
        return Vec::new();
    }
    let bytes = std::fs::read(&path).expect("read random draws");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("parse random draws");
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_owned).collect();
    names.sort();
    names
        .iter()
        .map(|name| {
            let view = tensors.tensor(name).expect("listed tensor");
            let dtype = match view.dtype() {
                safetensors::Dtype::I64 => DType::I64,
                safetensors::Dtype::F32 => DType::F32,
                other => panic!("unexpected draw dtype {other:?} in {name}"),
            };
            TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype)
        })
        .collect()
}

/// Builds the fixture config, loads `weights.safetensors` strictly and compares the logits
/// with `output.npy`.
pub fn check_parity(kind: ModelKind) {
    let device = Device::flex();
    let config = kind
        .fixture_config(&model_fixture(kind, "config.json"))
        .expect("fixture config");
    let model = config
        .load_pytorch(&model_fixture(kind, "weights.safetensors"), &device)
        .unwrap_or_else(|e| panic!("{e}"));
    let logits = model.forward(&fixture_input(kind, &device));
    assert_eq!(logits.dims(), [4, 20], "{kind}: logits shape");
    let actual: Vec<f64> = logits.into_data().iter::<f32>().map(f64::from).collect();
    let (expected, _) = read_npy_flat::<f32>(format!("pyomnits/{}/output.npy", kind.name()));
    let expected: Vec<f64> = expected.into_iter().map(f64::from).collect();
    assert_close(
        &format!("{kind} logits"),
        &actual,
        &expected,
        PARITY_TOLERANCE,
    );
}

/// Masked binary cross-entropy on logits: mean over the entries where `mask` is 1.
///
/// # Shapes
/// - logits, targets, mask: `[batch, 20]` → scalar `[1]`
pub fn masked_bce(logits: Tensor<2>, targets: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    // max(z, 0) − z·y + log(1 + e^{−|z|})
    let per_entry = logits.clone().clamp_min(0.0) - logits.clone() * targets
        + (logits.abs().neg().exp() + 1.0).log();
    (per_entry * mask.clone()).sum() / mask.sum()
}

/// A few Adam steps on the fixture batch (fixture-size config, random init, autodiff flex
/// device) must lower the masked BCE loss.
pub fn check_training(kind: ModelKind) {
    let config = kind
        .fixture_config(&model_fixture(kind, "config.json"))
        .expect("fixture config");
    check_training_config(kind, &config);
}

/// [`check_training`] with `config` (a model of `kind`) instead of the fixture's, e.g. a `fixed`
/// variant.
pub fn check_training_config(kind: ModelKind, config: &ClassifierConfig) {
    use burn::optim::{AdamConfig, GradientsParams};

    const STEPS: usize = 8;
    // The backend's generator is shared by the test threads: one seeded run at a time keeps each
    // model's initialisation and dropout the same from run to run.
    static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _seeded = SEEDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let device = Device::flex().autodiff();
    device.seed(2024);
    let mut model = config.init(&device).expect("fixture config builds");
    let input = fixture_input(kind, &device);
    let pattern: Vec<f32> = (0..4 * 20)
        .map(|i| ((i * 7) % 3 == 0) as u8 as f32)
        .collect();
    let known: Vec<f32> = (0..4 * 20)
        .map(|i| ((i * 5) % 4 != 0) as u8 as f32)
        .collect();
    let targets = Tensor::<2>::from_data(TensorData::new(pattern, [4, 20]), &device);
    let mask = Tensor::<2>::from_data(TensorData::new(known, [4, 20]), &device);
    let mut optimizer = AdamConfig::new().init();
    let mut losses = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let loss = masked_bce(model.forward(&input), targets.clone(), mask.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(3e-3, model, grads);
    }
    assert!(
        losses.iter().all(|l| l.is_finite()),
        "{kind}: non-finite loss {losses:?}"
    );
    assert!(
        losses[STEPS - 1] < losses[0] * 0.9,
        "{kind}: loss did not decrease: {losses:?}"
    );
}
