//! In-process mutation fuzzing of target (4): weight and checkpoint loading.
//!
//! Seeds: PyTorch state dicts of zoo fixtures (safetensors, loaded strictly by PyTorch name), the
//! zoo's own format (`insrec train`'s `model.safetensors`, config in the header), the embedded
//! default compact model (`model.json` + `weights.bpk`), and a training checkpoint
//! (`latest.json`, `model.bpk`, `optimizer.bpk`). Each execution loads one mutated file where the
//! others are intact and must end in `Ok` or an error within a second, never a panic. A long run:
//!
//! ```text
//! INSREC_FUZZ_EXECS=1000000 cargo test --release -p insrec-train --test fuzz -- --nocapture
//! ```

use std::path::Path;
use std::time::Duration;

use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_encoders::compact::{ModelDescription, load_model};
use insrec_testutil::fixture;
use insrec_testutil::fuzz::{Budget, Campaign, Seed, Verdict};
use insrec_train::Checkpoints;
use insrec_train::optim::adam;
use insrec_zoo::{Classifier, ModelKind};

/// Zoo fixtures fuzzed: a linear model, a patch transformer, attention with random draws, and a
/// recurrent model with its own parameter naming.
const ZOO_MODELS: [&str; 4] = ["DLinear", "PatchTST", "Informer", "GRU_D"];
/// The embedded default model.
const DEFAULT_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../insrec/models/default");
/// Files of a training checkpoint.
const CHECKPOINT_FILES: [&str; 3] = ["latest.json", "model.bpk", "optimizer.bpk"];

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A linear layer after one Adam step, so that the optimizer state is not empty.
fn trained_layer(device: &Device) -> (Linear, burn::optim::ModuleOptimizer) {
    let mut optimizer = adam();
    let layer = LinearConfig::new(3, 2).init(device);
    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), device);
    let loss = layer.forward(x).powf_scalar(2.0).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &layer);
    let layer = optimizer.step(1e-2, layer, grads);
    (layer, optimizer)
}

#[test]
fn weight_and_checkpoint_loaders_never_panic_or_hang() {
    let device = Device::flex();
    let train_device = Device::flex().autodiff();
    let work = tempfile::tempdir().expect("temp dir");
    let mut seeds = Vec::new();
    let mut configs = std::collections::HashMap::new();

    for name in ZOO_MODELS {
        let dir = fixture(format!("pyomnits/{name}"));
        let kind = ModelKind::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let config = kind
            .fixture_config(&dir.join("config.json"))
            .unwrap_or_else(|e| panic!("{name} config: {e}"));
        let classifier = config
            .load_pytorch(&dir.join("weights.safetensors"), &device)
            .unwrap_or_else(|e| panic!("{name} weights: {e}"));
        seeds.push(Seed::new(
            format!("pytorch:{name}"),
            read(&dir.join("weights.safetensors")),
        ));
        let native = work.path().join(format!("{name}.safetensors"));
        classifier
            .save(&config, &native)
            .unwrap_or_else(|e| panic!("save {name}: {e}"));
        seeds.push(Seed::new("native", read(&native)));
        configs.insert(name, config);
    }
    let default = Path::new(DEFAULT_MODEL);
    let description = read(&default.join("model.json"));
    let weights = read(&default.join("weights.bpk"));
    let parsed_description = ModelDescription::from_json(&description).expect("model.json");
    seeds.push(Seed::new("compact:model.json", description));
    seeds.push(Seed::new("compact:weights.bpk", weights.clone()));

    let (layer, optimizer) = trained_layer(&train_device);
    let checkpoints = Checkpoints::new(work.path().join("checkpoint"));
    checkpoints
        .save(1, &layer, &optimizer, &serde_json::json!({"epoch": 1}))
        .expect("save checkpoint");
    let checkpoint_dir = checkpoints.dir().join("epoch-0001");
    let checkpoint_path = |file: &str| {
        if file == CHECKPOINT_FILES[0] {
            checkpoints.dir().join(file)
        } else {
            checkpoint_dir.join(file)
        }
    };
    let originals: Vec<Vec<u8>> = CHECKPOINT_FILES
        .iter()
        .map(|f| read(&checkpoint_path(f)))
        .collect();
    for (file, bytes) in CHECKPOINT_FILES.iter().zip(&originals) {
        seeds.push(Seed::new(format!("checkpoint:{file}"), bytes.clone()));
    }
    let load_checkpoint = || {
        let fresh = LinearConfig::new(3, 2).init(&train_device);
        checkpoints.load::<Linear, serde_json::Value>(fresh, adam())
    };
    assert!(
        matches!(load_checkpoint(), Ok(Some(_))),
        "the intact checkpoint loads"
    );

    let native = work.path().join("mutant.safetensors");
    let campaign = Campaign {
        target: "checkpoints",
        budget: Budget::from_env(300),
        max_exec: Duration::from_secs(1),
        max_input: 2 * 1024 * 1024,
    };
    campaign
        .run(&seeds, |name, input| {
            let accepted = match name.split_once(':') {
                Some(("pytorch", model)) => {
                    let config = configs.get(model).ok_or("no config for the seed")?;
                    let mut classifier = config.init(&device).map_err(|e| e.to_string())?;
                    classifier
                        .load_pytorch_safetensors_bytes(input.to_vec())
                        .is_ok()
                }
                Some(("compact", "model.json")) => ModelDescription::from_json(input)
                    .and_then(|d| load_model(&d, &weights, &device))
                    .is_ok(),
                Some(("compact", _)) => load_model(&parsed_description, input, &device).is_ok(),
                Some(("checkpoint", file)) => {
                    let path = checkpoint_path(file);
                    std::fs::write(&path, input).map_err(|e| e.to_string())?;
                    let loaded = load_checkpoint();
                    let original = CHECKPOINT_FILES.iter().position(|f| f == &file);
                    std::fs::write(&path, &originals[original.unwrap_or_default()])
                        .map_err(|e| e.to_string())?;
                    matches!(loaded, Ok(Some(_)))
                }
                _ => {
                    std::fs::write(&native, input).map_err(|e| e.to_string())?;
                    Classifier::load(&native, &device).is_ok()
                }
            };
            Ok(if accepted {
                Verdict::Accepted
            } else {
                Verdict::Refused
            })
        })
        .assert_clean();
}

/// `optimizer.bpk` files the campaign found that made burn panic inside `Checkpoints::load` (a
/// record tensor without a parameter id, ranks 0, 6 and 10): each must now be an error naming the
/// checkpoint.
#[test]
fn corrupt_checkpoint_records_found_by_fuzzing_are_errors() {
    let device = Device::flex().autodiff();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corrupt-checkpoints");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .collect();
    inputs.sort();
    assert_eq!(inputs.len(), 4, "{inputs:?}");
    for input in inputs {
        let work = tempfile::tempdir().expect("temp dir");
        let (layer, optimizer) = trained_layer(&device);
        let checkpoints = Checkpoints::new(work.path());
        checkpoints
            .save(1, &layer, &optimizer, &serde_json::json!({"epoch": 1}))
            .expect("save checkpoint");
        let name = input
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let replaced = work.path().join("epoch-0001").join("optimizer.bpk");
        std::fs::copy(&input, &replaced).unwrap_or_else(|e| panic!("{name}: {e}"));
        let fresh = LinearConfig::new(3, 2).init(&device);
        match checkpoints.load::<Linear, serde_json::Value>(fresh, adam()) {
            Ok(_) => panic!("{name}: a corrupt checkpoint loaded"),
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains("epoch-0001"), "{name}: {message}");
            }
        }
    }
}
