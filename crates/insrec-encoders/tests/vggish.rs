//! VGGish against the golden fixtures (`shared/fixtures/vggish/synthetic_net.*`): the §11 formula
//! weights are written as torchvggish/torchaudio files and loaded through the real loader.

mod vggish_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};
use insrec_encoders::vggish::{
    FastVggish, FeatureScale, LoadedVggish, Naming, Pca, Rounding, TensorProblem, VggishConfig,
    VggishEncoder, VggishError, VggishOutput, load_vggish,
};
use insrec_pipeline::FrameEncoder;
use insrec_testutil::{assert_close, max_abs_diff, read_npy, torch_save};
use vggish_support::{Weight, network_weights, pca, safetensors_f32, state_dict};

/// The synthetic weights written once per test binary: torchvggish `.pth`, torchaudio
/// safetensors, PCA as a pickled-NumPy `.pth`.
struct Files {
    _dir: tempfile::TempDir,
    pth: PathBuf,
    safetensors: PathBuf,
    pca_pth: PathBuf,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let weights = network_weights();
        let pth = dir.path().join("vggish-10086976.pth");
        std::fs::write(
            &pth,
            torch_save::legacy_state_dict(&state_dict(&weights, false)),
        )
        .expect("write");
        let safetensors = dir.path().join("vggish.safetensors");
        std::fs::write(&safetensors, safetensors_f32(&state_dict(&weights, true))).expect("write");
        let (vectors, means) = pca();
        let pca_pth = dir.path().join("vggish_pca_params-970ea276.pth");
        let pca_bytes = torch_save::legacy_numpy_dict(&[
            ("pca_eigen_vectors", &vectors),
            ("pca_means", &means),
        ]);
        std::fs::write(&pca_pth, pca_bytes).expect("write");
        Files {
            _dir: dir,
            pth,
            safetensors,
            pca_pth,
        }
    })
}

/// The six fixture examples (sine 2, chirp 3, noise 1) as f32 [6, 96, 64].
fn examples() -> Vec<f32> {
    [
        "vggish/sine_1khz_2s.examples.f64.npy",
        "vggish/chirp_100_7000hz_3s.examples.f64.npy",
        "vggish/noise_seed0_1p5s.examples.f64.npy",
    ]
    .iter()
    .flat_map(|f| read_npy_flat::<f64>(f).0)
    .map(|v| v as f32)
    .collect()
}

/// A fixture's values in logical (C) order: some fixtures are stored Fortran-ordered, where
/// `insrec_testutil::read_npy_flat` would return memory order.
fn read_npy_flat<T: ndarray_npy::ReadableElement + Clone>(relative: &str) -> (Vec<T>, Vec<usize>) {
    let array = read_npy::<T>(relative);
    (array.iter().cloned().collect(), array.shape().to_vec())
}

fn f64s(values: impl IntoIterator<Item = f32>) -> Vec<f64> {
    values.into_iter().map(f64::from).collect()
}

fn load(path: &Path) -> LoadedVggish {
    load_vggish(path, &VggishConfig::new(), &Device::flex()).expect("weights load")
}

fn input(examples: &[f32]) -> Tensor<3> {
    let n = examples.len() / (96 * 64);
    Tensor::from_data(
        TensorData::new(examples.to_vec(), [n, 96, 64]),
        &Device::flex(),
    )
}

#[test]
fn generator_matches_the_spot_values() {
    let stats: serde_json::Value = serde_json::from_reader(
        std::fs::File::open(insrec_testutil::fixture("vggish/synthetic_net.stats.json"))
            .expect("open stats"),
    )
    .expect("json");
    let weights = network_weights();
    let (vectors, means) = pca();
    let mut all: Vec<(String, &Weight)> = weights.iter().map(|(k, w)| (k.clone(), w)).collect();
    all.push(("pca_eigen_vectors".into(), &vectors));
    all.push(("pca_means".into(), &means));
    for (name, weight) in all {
        let spot = &stats["weight_checks"][&name];
        let first = spot[0].as_f64().expect("first");
        let last = spot[1].as_f64().expect("last");
        // the generator's own arithmetic order may differ by an ulp
        let values = &weight.values;
        for (got, want, which) in [
            (values[0], first, "first"),
            (values[values.len() - 1], last, "last"),
        ] {
            assert!(
                (got - want).abs() <= 1e-15 * want.abs(),
                "{name} {which}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn torchvggish_pth_reproduces_the_reference_network() {
    let loaded = load(&files().pth);
    assert_eq!(loaded.naming, Naming::TorchVggish);
    assert!(loaded.pca.is_none());
    let x = examples();

    let pool4 = loaded.model.features(input(&x)).into_data();
    let (expected_pool4, shape) =
        read_npy_flat::<f32>("vggish/synthetic_net.pool4_nhwc_flat.f32.npy");
    assert_eq!(shape, [6, 12288]);
    // pool4 values reach ~30; f32 vs f64 forward differs by 1.6e-5 (stats.json)
    assert_close(
        "pool4 (NHWC flatten)",
        &f64s(pool4.iter::<f32>()),
        &f64s(expected_pool4),
        1e-3,
    );

    let pre = loaded.model.forward_preactivation(input(&x)).into_data();
    let (expected, shape) = read_npy_flat::<f64>("vggish/synthetic_net.fc2_preact.f64.npy");
    assert_eq!(shape, [6, 128]);
    let diff = max_abs_diff(&f64s(pre.iter::<f32>()), &expected);
    eprintln!("burn conv2d path: fc2 pre-activation max |diff| {diff:.2e}");
    assert_close(
        "fc2 pre-activation",
        &f64s(pre.iter::<f32>()),
        &expected,
        1e-3,
    );

    let relu = loaded.model.forward(input(&x)).into_data();
    let (expected, _) = read_npy_flat::<f64>("vggish/synthetic_net.embedding_relu.f64.npy");
    assert_close(
        "embedding (ReLU)",
        &f64s(relu.iter::<f32>()),
        &expected,
        1e-3,
    );
}

#[test]
fn torchaudio_safetensors_gives_the_same_embeddings() {
    let loaded = load(&files().safetensors);
    assert_eq!(loaded.naming, Naming::TorchAudio);
    let pre = loaded
        .model
        .forward_preactivation(input(&examples()))
        .into_data();
    let (expected, _) = read_npy_flat::<f64>("vggish/synthetic_net.fc2_preact.f64.npy");
    assert_close(
        "fc2 pre-activation",
        &f64s(pre.iter::<f32>()),
        &expected,
        1e-3,
    );
}

#[test]
fn fast_path_matches_the_reference() {
    let config = VggishConfig::new().with_final_relu(false);
    let loaded = load_vggish(&files().pth, &config, &Device::flex()).expect("load");
    let fast = FastVggish::new(&loaded.model, &Device::flex()).expect("fast path");
    let x = examples();
    let (expected_pool4, _) = read_npy_flat::<f32>("vggish/synthetic_net.pool4_nhwc_flat.f32.npy");
    let pool4 = f64s(fast.features(&x).expect("features"));
    let pool4_diff = max_abs_diff(&pool4, &f64s(expected_pool4));
    let pre = f64s(fast.forward(&x).expect("forward"));
    let (expected, _) = read_npy_flat::<f64>("vggish/synthetic_net.fc2_preact.f64.npy");
    let fc2_diff = max_abs_diff(&pre, &expected);
    eprintln!(
        "fast path: pool4 max |diff| {pool4_diff:.2e}, fc2 pre-activation max |diff| {fc2_diff:.2e}"
    );
    assert!(pool4_diff <= 1e-3, "pool4 {pool4_diff:e}");
    assert!(fc2_diff <= 1e-3, "fc2 {fc2_diff:e}");
}

#[test]
fn without_the_final_relu_the_embedding_is_the_pre_activation() {
    let config = VggishConfig::new().with_final_relu(false);
    let loaded = load_vggish(&files().pth, &config, &Device::flex()).expect("load");
    let out = loaded.model.forward(input(&examples())).into_data();
    let (expected, _) = read_npy_flat::<f64>("vggish/synthetic_net.fc2_preact.f64.npy");
    assert_close(
        "fc2 without ReLU",
        &f64s(out.iter::<f32>()),
        &expected,
        1e-3,
    );
    assert!(
        expected.iter().any(|&v| v < -1.0),
        "the fixture has negative values"
    );
}

#[test]
fn postprocessor_is_exact_from_the_f64_embedding() {
    let pca = Pca::load(&files().pca_pth).expect("pca loads");
    let (embedding, _) = read_npy_flat::<f64>("vggish/synthetic_net.embedding_relu.f64.npy");
    let (tf, _) = read_npy_flat::<u8>("vggish/synthetic_net.pca_tf_uint8.npy");
    assert_eq!(pca.quantize(&embedding, Rounding::Truncate), tf);
    let (torch, _) = read_npy_flat::<f32>("vggish/synthetic_net.pca_torchvggish_round.f32.npy");
    let rounded: Vec<f32> = pca
        .quantize(&embedding, Rounding::HalfEven)
        .into_iter()
        .map(f32::from)
        .collect();
    assert_eq!(rounded, torch);
}

/// Elements differing by 1 (none by more) from the reference quantisation, as a fraction.
fn off_by_one_fraction(actual: &[f32], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len());
    let mut off = 0;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let d = (f64::from(a) - e).abs();
        assert!(d <= 1.0, "element {i}: {a} vs {e}");
        off += usize::from(d > 0.0);
    }
    off as f64 / actual.len() as f64
}

#[test]
fn encoder_end_to_end_meets_the_quantisation_allowance() {
    let f = files();
    let encoder = VggishEncoder::load(&f.pth, Some(&f.pca_pth), &VggishConfig::new())
        .expect("load")
        .with_threads(2);
    let x = examples();

    let tf = encoder
        .clone()
        .with_output(VggishOutput::OPENMIC)
        .expect("pca present")
        .encode(&x)
        .expect("encode");
    let (expected, _) = read_npy_flat::<u8>("vggish/synthetic_net.pca_tf_uint8.npy");
    let expected: Vec<f64> = expected.into_iter().map(f64::from).collect();
    let off = off_by_one_fraction(&tf, &expected);
    eprintln!("TF rule: {:.2} % of values off by one", off * 100.0);
    assert!(off <= 0.01, "TF rule: {:.2} % off by one", off * 100.0);

    let unit = encoder
        .clone()
        .with_output(VggishOutput::OPENMIC_UNIT)
        .expect("pca present")
        .encode(&x)
        .expect("encode");
    for (u, b) in unit.iter().zip(&tf) {
        assert_eq!(*u, (f64::from(*b) / 255.0) as f32);
    }

    let torch = encoder
        .clone()
        .with_output(VggishOutput::Quantized {
            rounding: Rounding::HalfEven,
            scale: FeatureScale::Bytes,
        })
        .expect("pca present")
        .encode(&x)
        .expect("encode");
    let (expected, _) = read_npy_flat::<f32>("vggish/synthetic_net.pca_torchvggish_round.f32.npy");
    let off = off_by_one_fraction(&torch, &f64s(expected));
    assert!(
        off <= 0.01,
        "torchvggish rule: {:.2} % off by one",
        off * 100.0
    );
}

#[test]
fn threads_do_not_change_the_embeddings() {
    let f = files();
    let encoder = VggishEncoder::load(&f.safetensors, None, &VggishConfig::new()).expect("load");
    let x = examples();
    let one = encoder.clone().with_threads(1).embed(&x).expect("embed");
    let three = encoder.with_threads(3).embed(&x).expect("embed");
    assert_eq!(one, three);
}

#[test]
fn quantised_output_needs_pca() {
    let encoder =
        VggishEncoder::load(&files().safetensors, None, &VggishConfig::new()).expect("load");
    let err = encoder
        .with_output(VggishOutput::OPENMIC)
        .expect_err("no pca");
    assert!(matches!(err, VggishError::MissingPca), "{err}");
}

fn tiny(shape: &[usize]) -> Weight {
    Weight {
        shape: shape.to_vec(),
        values: vec![0.5; shape.iter().product()],
    }
}

/// A file with one good tensor, one mis-shaped, one foreign; written as legacy and ZIP `.pth`
/// and as safetensors.
fn broken_files(dir: &Path, tensors: &[(String, Weight)]) -> [PathBuf; 3] {
    let pth = dir.join("broken.pth");
    std::fs::write(&pth, torch_save::legacy_state_dict(tensors)).expect("write");
    let zip = dir.join("broken_zip.pth");
    std::fs::write(&zip, torch_save::zip_state_dict(tensors, "broken_zip")).expect("write");
    let st = dir.join("broken.safetensors");
    std::fs::write(&st, safetensors_f32(tensors)).expect("write");
    [pth, zip, st]
}

#[test]
fn loader_errors_name_the_tensors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tensors = vec![
        ("features.0.weight".to_owned(), tiny(&[64, 1, 3, 3])),
        ("features.3.weight".to_owned(), tiny(&[128, 64, 3, 2])),
        ("classifier.weight".to_owned(), tiny(&[2])),
    ];
    for path in broken_files(dir.path(), &tensors) {
        let err = load_vggish(&path, &VggishConfig::new(), &Device::flex()).expect_err("broken");
        let message = err.to_string();
        let VggishError::WeightMismatch {
            naming, problems, ..
        } = err
        else {
            panic!("{message}")
        };
        assert_eq!(naming, "torchvggish");
        assert!(problems.contains(&TensorProblem::WrongShape {
            tensor: "features.3.weight".into(),
            expected: vec![128, 64, 3, 3],
            found: vec![128, 64, 3, 2],
        }));
        assert!(problems.contains(&TensorProblem::Missing {
            tensor: "embeddings.4.bias".into(),
            shape: vec![128],
        }));
        assert!(problems.contains(&TensorProblem::Unexpected {
            tensor: "classifier.weight".into(),
        }));
        // 18 expected, 1 present and right, 1 mis-shaped, 1 foreign
        assert_eq!(problems.len(), 16 + 1 + 1, "{message}");
        for name in [
            "features.3.weight",
            "embeddings.4.bias",
            "classifier.weight",
        ] {
            assert!(message.contains(name), "{message}");
        }
    }
}

#[test]
fn unknown_naming_lists_what_the_file_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tensors = vec![("vggish.conv1.weights".to_owned(), tiny(&[3, 3, 1, 64]))];
    for path in broken_files(dir.path(), &tensors) {
        let err = load_vggish(&path, &VggishConfig::new(), &Device::flex()).expect_err("unknown");
        let message = err.to_string();
        assert!(
            matches!(err, VggishError::UnknownNaming { .. }),
            "{message}"
        );
        assert!(message.contains("vggish.conv1.weights"), "{message}");
        assert!(message.contains("features_network.0.weight"), "{message}");
    }
}

#[test]
fn pca_errors_are_explicit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vectors, _) = pca();
    let path = dir.path().join("pca.pth");
    let short_means = tiny(&[64]);
    std::fs::write(
        &path,
        torch_save::legacy_numpy_dict(&[
            ("pca_eigen_vectors", &vectors),
            ("pca_means", &short_means),
        ]),
    )
    .expect("write");
    let err = Pca::load(&path).expect_err("bad means");
    assert!(
        err.to_string().contains("pca_means has shape [64]"),
        "{err}"
    );

    std::fs::write(
        &path,
        torch_save::legacy_numpy_dict(&[("pca_eigen_vectors", &vectors)]),
    )
    .expect("write");
    let err = Pca::load(&path).expect_err("no means");
    assert!(err.to_string().contains("no pca_means"), "{err}");
}
