//! `insrec embed` run as a user runs it: the real binary, weights given or missing.

mod common;

use std::path::{Path, PathBuf};

use common::{insrec, insrec_env, stderr};
use insrec_encoders::vggish::{Rounding, VggishConfig, VggishEncoder};
use insrec_testutil::{fixture, read_npy_flat};
use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;

#[test]
fn missing_weights_say_where_to_get_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let npy = dir.path().join("x.npy");
    let ogg = fixture("vggish/000046_3840.ogg");
    let args = [
        "embed".as_ref(),
        ogg.as_os_str(),
        "--out".as_ref(),
        npy.as_os_str(),
    ];
    let out = insrec(&args);
    assert!(!out.status.success());
    let message = stderr(&out);
    for needle in [
        "no VGGish weights given",
        "--weights",
        "INSREC_VGGISH_WEIGHTS",
        "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
        "vggish_pca_params-970ea276.pth",
    ] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
    assert!(!npy.exists());

    let absent = dir.path().join("nowhere/vggish-10086976.pth");
    let out = insrec_env(&args, &[("INSREC_VGGISH_WEIGHTS", &absent)]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("not found"), "{message}");
    assert!(message.contains(&absent.display().to_string()), "{message}");
}

/// A safetensors file of f32 (or f64) tensors, written by hand.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f64>)], f64: bool) {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, (name, shape, values)) in tensors.iter().enumerate() {
        let start = data.len();
        for &v in values {
            if f64 {
                data.extend_from_slice(&v.to_le_bytes());
            } else {
                data.extend_from_slice(&(v as f32).to_le_bytes());
            }
        }
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header += &format!(
            "{}\"{name}\":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            if i > 0 { "," } else { "" },
            if f64 { "F64" } else { "F32" },
            dims.join(","),
            data.len()
        );
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    std::fs::write(path, bytes).expect("write safetensors");
}

/// Deterministic values in [-1, 1).
fn noise(seed: u64, count: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// torchaudio-named weights (fan-in scaled) and a PCA file.
fn write_weights(dir: &Path) -> (PathBuf, PathBuf) {
    let layers: [(&str, &[usize]); 9] = [
        ("features_network.0", &[64, 1, 3, 3]),
        ("features_network.3", &[128, 64, 3, 3]),
        ("features_network.6", &[256, 128, 3, 3]),
        ("features_network.8", &[256, 256, 3, 3]),
        ("features_network.11", &[512, 256, 3, 3]),
        ("features_network.13", &[512, 512, 3, 3]),
        ("embedding_network.0", &[4096, 12288]),
        ("embedding_network.2", &[4096, 4096]),
        ("embedding_network.4", &[128, 4096]),
    ];
    let mut tensors = Vec::new();
    for (i, (name, shape)) in layers.iter().enumerate() {
        let fan_in: usize = shape[1..].iter().product();
        let scale = (6.0 / fan_in as f64).sqrt();
        let count = shape.iter().product();
        let weight = noise(2 * i as u64, count)
            .into_iter()
            .map(|v| v * scale)
            .collect();
        let bias = noise(2 * i as u64 + 1, shape[0])
            .into_iter()
            .map(|v| v * 0.01)
            .collect();
        tensors.push((format!("{name}.weight"), shape.to_vec(), weight));
        tensors.push((format!("{name}.bias"), vec![shape[0]], bias));
    }
    let weights = dir.join("vggish.safetensors");
    write_safetensors(&weights, &tensors, false);
    let vectors = noise(100, 128 * 128)
        .into_iter()
        .map(|v| v * 0.5 / 128f64.sqrt());
    let pca = vec![
        (
            "pca_eigen_vectors".to_owned(),
            vec![128, 128],
            vectors.collect(),
        ),
        ("pca_means".to_owned(), vec![128, 1], noise(101, 128)),
    ];
    let pca_path = dir.join("pca.safetensors");
    write_safetensors(&pca_path, &pca, true);
    (weights, pca_path)
}

/// `insrec embed FILE --encoder vggish --openmic` with the weights from the environment: the
/// uint8 features it wrote to `npy`.
fn embed_openmic(audio: &Path, weights: &Path, pca: &Path, npy: &Path) -> ArrayD<u8> {
    let out = insrec_env(
        &[
            "embed".as_ref(),
            audio.as_os_str(),
            "--encoder".as_ref(),
            "vggish".as_ref(),
            "--pca".as_ref(),
            pca.as_os_str(),
            "--openmic".as_ref(),
            "--out".as_ref(),
            npy.as_os_str(),
        ],
        &[("INSREC_VGGISH_WEIGHTS", weights)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    ArrayD::<u8>::read_npy(std::fs::File::open(npy).expect("open")).expect("uint8 npy")
}

#[test]
fn embeds_an_openmic_clip_as_one_row_of_x() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (weights, pca) = write_weights(dir.path());
    let npy = dir.path().join("features.npy");
    let ogg = fixture("vggish/000046_3840.ogg");
    let x = embed_openmic(&ogg, &weights, &pca, &npy);
    assert_eq!(x.shape(), [1, 10, 128]);
    let keys = std::fs::read_to_string(dir.path().join("features.keys.tsv")).expect("keys");
    let lines: Vec<&str> = keys.lines().collect();
    assert_eq!(lines[0], "sample_key\tfile\tstart_s\tframes");
    assert_eq!(
        lines[1],
        format!("000046_3840\t{}\t0.00\t10", ogg.display())
    );
    assert_eq!(lines.len(), 2);

    // the same network on the reference log-mel examples of this clip
    let encoder = VggishEncoder::load(&weights, Some(&pca), &VggishConfig::new()).expect("load");
    let (examples, _) = read_npy_flat::<f64>("vggish/000046_3840.examples_openmic.f64.npy");
    let examples: Vec<f32> = examples.into_iter().map(|v| v as f32).collect();
    let expected = encoder
        .quantize(&examples, Rounding::Truncate)
        .expect("quantize");
    let actual: Vec<u8> = x.iter().copied().collect();
    let off = actual
        .iter()
        .zip(&expected)
        .filter(|(a, e)| a != e)
        .inspect(|(a, e)| assert!(a.abs_diff(**e) <= 1, "{a} vs {e}"))
        .count();
    assert!(
        off * 100 <= actual.len(),
        "{off} of {} values differ by one",
        actual.len()
    );
}

/// `insrec analyze --encoder vggish --model RUN`: a zoo classifier trained on OpenMIC's features
/// scores new audio through VGGish with OpenMIC's front end, post-processing and /255 scaling —
/// the same numbers as the classifier on `insrec embed --openmic`'s X / 255.
#[test]
fn analyzes_with_a_zoo_classifier_on_vggish_features() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (weights, pca) = write_weights(dir.path());
    let run = dir.path().join("run");
    let data = format!("openmic:{}", fixture("openmic/openmic-2018").display());
    let out = insrec(&[
        "train".as_ref(),
        "--model".as_ref(),
        "DLinear".as_ref(),
        "--data".as_ref(),
        data.as_ref(),
        "--epochs".as_ref(),
        "1".as_ref(),
        "--out".as_ref(),
        run.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let ogg = fixture("vggish/000046_3840.ogg");
    let analyze = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "analyze".as_ref(),
            ogg.as_os_str(),
            "--model".as_ref(),
            run.as_os_str(),
        ];
        args.extend_from_slice(extra);
        insrec_env(&args, &[("INSREC_VGGISH_WEIGHTS", &weights)])
    };
    let out = analyze(&[
        "--encoder".as_ref(),
        "vggish".as_ref(),
        "--pca".as_ref(),
        pca.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert!(
        report["model"]
            .as_str()
            .is_some_and(|m| m.contains("DLinear")),
        "{}",
        report["model"]
    );
    let frames = report["files"][0]["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 10, "a 10 s clip is one window of ten frames");
    let scores = |frame: &serde_json::Value| -> Vec<f32> {
        frame["scores"]
            .as_array()
            .expect("scores")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect()
    };
    let first = scores(&frames[0]);
    assert!(frames.iter().all(|f| scores(f) == first));

    // The classifier on `insrec embed --openmic`'s features of the same clip.
    let npy = dir.path().join("x.npy");
    let x = embed_openmic(&ogg, &weights, &pca, &npy);
    let x: Vec<f32> = x.iter().map(|&v| f32::from(v) / 255.0).collect();
    let device = burn::tensor::Device::flex();
    let model = insrec_train::TrainedModel::load(&run, &device).expect("load run");
    let input = insrec_zoo::SequenceInput::new(burn::tensor::Tensor::<3>::from_data(
        burn::tensor::TensorData::new(x, [1, 10, 128]),
        &device,
    ))
    .expect("input");
    let expected = burn::tensor::activation::sigmoid(model.classifier.forward(&input))
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    for (a, e) in first.iter().zip(&expected) {
        assert!(
            (a - e).abs() < 2e-3,
            "analyze {a} vs classifier on embed {e}"
        );
    }

    // Without --encoder a zoo run is refused, as is --encoder with the compact default.
    let out = analyze(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--encoder"), "{}", stderr(&out));
    let out = insrec_env(
        &[
            "analyze".as_ref(),
            ogg.as_os_str(),
            "--encoder".as_ref(),
            "vggish".as_ref(),
            "--pca".as_ref(),
            pca.as_os_str(),
        ],
        &[("INSREC_VGGISH_WEIGHTS", &weights)],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("zoo classifier"), "{}", stderr(&out));
}
