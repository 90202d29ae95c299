//! Registry, configs, input checks and weight files: the errors a caller can hit.

mod common;

use burn::tensor::{Device, Tensor};
use insrec_zoo::{Classifier, ModelKind, SequenceInput, ZooError};

#[test]
fn names_round_trip_with_exact_pyomnits_spelling() {
    assert_eq!(ModelKind::ALL.len(), 27);
    for &kind in ModelKind::ALL {
        assert_eq!(
            ModelKind::from_name(kind.name()).expect("own name parses"),
            kind
        );
        assert!(
            insrec_testutil::fixtures_dir()
                .join("pyomnits")
                .join(kind.name())
                .is_dir(),
            "{kind} has no fixture folder of that spelling"
        );
    }
    assert_eq!(ModelKind::GruD.name(), "GRU_D");
    assert!(matches!(
        ModelKind::from_name("GPT"),
        Err(ZooError::UnknownModel { .. })
    ));
}

#[test]
fn config_overrides_are_checked() {
    let config = ModelKind::Transformer.production_config();
    let changed = config
        .with_overrides(&["d_model=64", "n_heads=4"])
        .expect("valid overrides");
    assert_eq!(changed.to_json().expect("json")["d_model"], 64);
    assert!(matches!(
        config.with_overrides(&["d_model=60"]),
        Err(ZooError::InvalidConfig { .. })
    ));
    assert!(matches!(
        config.with_overrides(&["dmodel=64"]),
        Err(ZooError::UnknownConfigKey { .. })
    ));
    assert!(matches!(
        config.with_overrides(&["d_model"]),
        Err(ZooError::MalformedOverride(_))
    ));
    assert!(matches!(
        config.with_overrides(&["d_model=big"]),
        Err(ZooError::InvalidConfig { .. })
    ));
}

#[test]
fn config_reads_toml_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("transformer.toml");
    std::fs::write(&path, "d_model = 32\nn_heads = 2\n").expect("write toml");
    let config = ModelKind::Transformer
        .production_config()
        .with_toml_file(&path)
        .expect("valid toml");
    assert_eq!(config.to_json().expect("json")["n_heads"], 2);
    std::fs::write(&path, "n_layers = 3\n").expect("write toml");
    let err = ModelKind::Transformer
        .production_config()
        .with_toml_file(&path);
    assert!(matches!(err, Err(ZooError::UnknownConfigKey { .. })));
}

#[test]
fn input_shapes_are_checked() {
    let device = Device::flex();
    let bad = SequenceInput::new(Tensor::zeros([2, 9, 128], &device));
    assert!(matches!(bad, Err(ZooError::InputShape { what: "x", .. })));
    let input = SequenceInput::new(Tensor::zeros([2, 10, 128], &device)).expect("clip shape");
    let bad_mask = input.with_mask(Tensor::ones([3, 10], &device));
    assert!(matches!(
        bad_mask,
        Err(ZooError::InputShape { what: "x_mask", .. })
    ));
}

#[test]
fn weights_of_another_shape_are_rejected_by_name() {
    let device = Device::flex();
    let weights = common::model_fixture(ModelKind::Transformer, "weights.safetensors");
    let err = ModelKind::Transformer
        .production_config()
        .load_pytorch(&weights, &device);
    let Err(ZooError::WeightMismatch { problems, .. }) = err else {
        panic!("expected mismatch, got {err:?}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.contains("encoder.attn_layers.0.conv1.weight")),
        "{problems:?}"
    );
}

#[test]
fn weights_of_another_model_are_rejected_by_name() {
    let device = Device::flex();
    let weights = common::model_fixture(ModelKind::DLinear, "weights.safetensors");
    let err = ModelKind::Linear
        .production_config()
        .load_pytorch(&weights, &device);
    let Err(ZooError::WeightMismatch { problems, .. }) = err else {
        panic!("expected mismatch, got {err:?}")
    };
    let text = problems.join("\n");
    assert!(
        text.contains("missing tensor decoder_classification_repr.weight"),
        "{text}"
    );
    assert!(
        text.contains("unexpected tensor Linear_Seasonal.weight"),
        "{text}"
    );
}

#[test]
fn own_format_round_trips() {
    let device = Device::flex();
    let kind = ModelKind::Transformer;
    let config = kind
        .fixture_config(&common::model_fixture(kind, "config.json"))
        .expect("config");
    let model = config
        .load_pytorch(&common::model_fixture(kind, "weights.safetensors"), &device)
        .expect("load");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.safetensors");
    model.save(&config, &path).expect("save");
    let (loaded, loaded_config) = Classifier::load(&path, &device).expect("load own format");
    assert_eq!(loaded.kind(), kind);
    assert_eq!(
        loaded_config.to_json().expect("json"),
        config.to_json().expect("json")
    );
    let input = common::fixture_input(kind, &device);
    let before: Vec<f32> = model
        .forward(&input)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    let after: Vec<f32> = loaded
        .forward(&input)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    assert_eq!(before, after);
}
