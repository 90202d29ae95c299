//! `insrec train`, `eval` and `bench` run as a user runs them, on the tiny OpenMIC fixture: end to
//! end, killed and resumed, and on broken datasets (each error names the file and the problem).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{insrec, stderr};
use insrec_testutil::fixture;
use ndarray::{Array2, Array3};
use ndarray_npy::WriteNpyExt;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

fn openmic_spec(root: &Path) -> String {
    format!("openmic:{}", root.display())
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Tensor name → bytes of a safetensors file.
fn tensors(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    file.tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}

#[test]
fn trains_then_evaluates_with_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let data = openmic_spec(&fixture("openmic/openmic-2018"));
    let out = insrec(&[
        "train",
        "--model",
        "DLinear",
        "--data",
        &data,
        "--out",
        path_str(&run),
        "--epochs",
        "2",
        "--set",
        "train.batch_size=8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("DLinear: 2 epochs (all epochs)"),
        "{summary}"
    );
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(run_json["status"], "finished");
    assert_eq!(
        run_json["recipe"]["learning_rate"], 1e-3,
        "DLinear's seed rate"
    );

    let json = dir.path().join("eval.json");
    let out = insrec(&[
        "eval",
        "--model",
        path_str(&run),
        "--data",
        &data,
        "--tune-thresholds",
        "--json",
        path_str(&json),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("10 clips") && table.contains("thresholds tuned on validation"),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.starts_with("accordion")).count(),
        1
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("eval.json")).expect("json");
    assert_eq!(report["clips"], 10);
    assert!(report["official"]["mean_average_precision"].is_f64());
    assert!(report["seed"]["accuracy"].is_f64());
}

#[test]
fn bench_writes_one_row_per_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("table.md");
    let data = openmic_spec(&fixture("openmic/openmic-2018"));
    let out = insrec(&[
        "bench",
        "--models",
        "Linear,DLinear",
        "--data",
        &data,
        "--out",
        path_str(&table),
        "--epochs",
        "1",
        "--set",
        "train.batch_size=8",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&table).expect("table");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 4, "header, rule, two models:\n{text}");
    assert!(
        rows[2].starts_with("| Linear |") && rows[3].starts_with("| DLinear |"),
        "{text}"
    );
    assert!(
        dir.path()
            .join("table-runs/DLinear/model.safetensors")
            .is_file()
    );
    let out = insrec(&[
        "bench",
        "--models",
        "Linear",
        "--data",
        &data,
        "--out",
        path_str(&table),
        "--set",
        "d_model=4",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("train.KEY=VALUE"),
        "{}",
        stderr(&out)
    );
}

/// A run killed with SIGKILL after its first checkpoint and resumed in a new process ends with
/// the weights of an uninterrupted run (Transformer with dropout, at fixture width).
#[test]
fn killed_run_resumes_to_the_same_weights() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = openmic_spec(&fixture("openmic/openmic-2018"));
    let config = fixture("pyomnits/Transformer/config.json");
    let args = |out: &Path| -> Vec<String> {
        [
            "train",
            "--model",
            "Transformer",
            "--config",
            path_str(&config),
            "--data",
            &data,
            "--out",
            path_str(out),
            "--epochs",
            "25",
            "--set",
            "train.batch_size=8",
            "--set",
            "train.patience=0",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let straight = dir.path().join("straight");
    let out = Command::new(env!("CARGO_BIN_EXE_insrec"))
        .args(args(&straight))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));

    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_insrec"))
        .args(args(&killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let latest = killed.join("checkpoint/latest.json");
    let started = Instant::now();
    while !latest.is_file() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(killed.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(
        run["status"], "running",
        "the run must have been killed before its end"
    );

    let mut resume = args(&killed);
    resume.push("--resume".to_owned());
    let out = Command::new(env!("CARGO_BIN_EXE_insrec"))
        .args(&resume)
        .output()
        .expect("resume");
    assert!(out.status.success(), "{}", stderr(&out));
    let straight_model = tensors(&straight.join("model.safetensors"));
    assert!(!straight_model.is_empty());
    assert_eq!(straight_model, tensors(&killed.join("model.safetensors")));
    let log = |dir: &Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("log.jsonl"))
            .expect("log")
            .lines()
            .map(|l| {
                l.split(",\"seconds\"")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        log(&straight),
        log(&killed),
        "same epochs, losses and metrics"
    );
}

// ---------------------------------------------------------------- broken datasets

/// A copy of the fixture release (without audio) to break.
fn release_copy(dir: &Path) -> PathBuf {
    let root = dir.join("openmic-2018");
    copy_dir(&fixture("openmic/openmic-2018"), &root);
    root
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != "audio" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Replaces one member of the release npz.
fn replace_member(root: &Path, member: &str, bytes: Vec<u8>) {
    let npz = root.join("openmic-2018.npz");
    let mut archive = ZipArchive::new(std::fs::File::open(&npz).expect("open")).expect("zip");
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("member");
        let name = file.name().expect("name").into_owned();
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("read member");
        members.push((name, data));
    }
    let mut zip = ZipWriter::new(std::fs::File::create(&npz).expect("create"));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, data) in members {
        let data = if name == member { bytes.clone() } else { data };
        zip.start_file(&*name, options).expect("start");
        zip.write_all(&data).expect("write");
    }
    zip.finish().expect("finish");
}

fn npy_bytes(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = Vec::new();
    write(&mut bytes);
    bytes
}

fn train_error(data: &str, dir: &Path) -> String {
    let out = insrec(&[
        "train",
        "--model",
        "DLinear",
        "--data",
        data,
        "--out",
        path_str(&dir.join("run")),
        "--embeddings",
        path_str(&dir.join("none.npy")),
    ]);
    assert_eq!(out.status.code(), Some(2), "must fail: {}", stderr(&out));
    stderr(&out)
}

fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

#[test]
fn float_features_are_a_dtype_error_naming_the_npz() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = release_copy(dir.path());
    let x = Array3::<f64>::zeros((40, 10, 128));
    replace_member(&root, "X.npy", npy_bytes(|b| x.write_npy(b).expect("npy")));
    let message = train_error(&openmic_spec(&root), dir.path());
    assert_names(
        &message,
        &["openmic-2018.npz", "X", "dtype", "<f8", "integer"],
    );
}

#[test]
fn wrong_label_shape_is_a_shape_error_naming_the_npz() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = release_copy(dir.path());
    let mask = Array2::<bool>::from_elem((40, 19), false);
    replace_member(
        &root,
        "Y_mask.npy",
        npy_bytes(|b| mask.write_npy(b).expect("npy")),
    );
    let message = train_error(&openmic_spec(&root), dir.path());
    assert_names(
        &message,
        &["openmic-2018.npz", "Y_mask", "shape", "[40, 19]"],
    );
}

#[test]
fn partition_keys_missing_from_the_npz_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = release_copy(dir.path());
    let test = root.join("partitions/split01_test.csv");
    let mut keys = std::fs::read_to_string(&test).expect("read");
    keys.push_str("999999_0\n");
    std::fs::write(&test, keys).expect("write");
    let message = train_error(&openmic_spec(&root), dir.path());
    assert_names(
        &message,
        &[
            "split01_test.csv",
            "1 keys are not in",
            "openmic-2018.npz",
            "999999_0",
        ],
    );
}

/// A labelled folder whose CSV has the given header and rows (one `a.wav` file exists).
fn folder(dir: &Path, csv: &str) -> String {
    let root = dir.join("folder");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("a.wav"), b"RIFF").expect("wav");
    std::fs::write(root.join("labels.csv"), csv).expect("csv");
    format!("folder:{}", root.display())
}

#[test]
fn csv_without_class_columns_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let classes: Vec<&str> = insrec_core::Instrument::ALL[..18]
        .iter()
        .map(|i| i.name())
        .collect();
    let csv = format!(
        "path,{}\na.wav,{}\n",
        classes.join(","),
        vec!["1"; 18].join(",")
    );
    let message = train_error(&folder(dir.path(), &csv), dir.path());
    assert_names(
        &message,
        &["labels.csv", "missing class columns", "violin", "voice"],
    );
}

#[test]
fn empty_datasets_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let classes: Vec<&str> = insrec_core::Instrument::ALL
        .iter()
        .map(|i| i.name())
        .collect();
    let message = train_error(
        &folder(dir.path(), &format!("path,{}\n", classes.join(","))),
        dir.path(),
    );
    assert_names(&message, &["labels.csv", "empty dataset"]);

    let root = release_copy(dir.path());
    // Zero sample keys, as a `<U15` array (no pickle needed).
    let mut header = b"{'descr': '<U15', 'fortran_order': False, 'shape': (0,), }".to_vec();
    while !(header.len() + 11).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(
        &u16::try_from(header.len())
            .expect("short header")
            .to_le_bytes(),
    );
    npy.extend_from_slice(&header);
    replace_member(&root, "sample_key.npy", npy);
    let message = train_error(&openmic_spec(&root), dir.path());
    assert_names(
        &message,
        &["openmic-2018.npz", "empty dataset", "sample_key"],
    );
}

#[test]
fn vggish_encoder_without_weights_says_where_to_get_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let classes: Vec<&str> = insrec_core::Instrument::ALL
        .iter()
        .map(|i| i.name())
        .collect();
    let csv = format!(
        "path,{}\na.wav,{}\n",
        classes.join(","),
        vec!["1"; 20].join(",")
    );
    let data = folder(dir.path(), &csv);
    let out = Command::new(env!("CARGO_BIN_EXE_insrec"))
        .args([
            "train",
            "--model",
            "DLinear",
            "--data",
            &data,
            "--encoder",
            "vggish",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .env_remove("INSREC_VGGISH_WEIGHTS")
        .env_remove("INSREC_VGGISH_PCA")
        .output()
        .expect("run insrec");
    assert_eq!(out.status.code(), Some(2));
    assert_names(&stderr(&out), &["VGGish weights", "vggish-10086976.pth"]);
}

#[test]
fn unknown_or_missing_devices_are_refused_before_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let data = openmic_spec(&fixture("openmic/openmic-2018"));
    let train = |device: &str| {
        insrec(&[
            "train",
            "--model",
            "DLinear",
            "--data",
            &data,
            "--out",
            path_str(&run),
            "--epochs",
            "1",
            "--device",
            device,
        ])
    };
    let refused = |device: &str, message: &str| {
        let out = train(device);
        assert_eq!(out.status.code(), Some(2), "--device {device}");
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    };
    refused("tpu", "expected cpu, wgpu or cuda");
    #[cfg(not(feature = "wgpu"))]
    refused("wgpu", "--features wgpu");
    #[cfg(not(feature = "cuda"))]
    refused("cuda", "--features cuda");
    assert!(!run.join("run.json").exists(), "a refused run started");
    let cpu = train("cpu");
    assert!(cpu.status.success(), "{}", stderr(&cpu));
}
