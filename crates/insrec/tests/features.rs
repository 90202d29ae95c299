//! `insrec features` run as a user runs it: the real binary on real files.

mod common;

use std::path::Path;

use common::{insrec, stderr};
use insrec_testutil::{assert_close, fixture, read_npy_flat};
use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;

#[test]
fn writes_openmic_examples_as_npy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let npy = dir.path().join("x.npy");
    let ogg = fixture("vggish/000046_3840.ogg");
    let out = insrec(&[
        "features".as_ref(),
        ogg.as_os_str(),
        "--openmic".as_ref(),
        "--out".as_ref(),
        npy.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("10.00 s") && summary.contains("44100 Hz") && summary.contains("2 ch"),
        "{summary}"
    );
    assert!(summary.contains("10 examples"), "{summary}");
    let array =
        ArrayD::<f32>::read_npy(std::fs::File::open(&npy).expect("open npy")).expect("valid npy");
    assert_eq!(array.shape(), [10, 96, 64]);
    let (expected, _) = read_npy_flat::<f64>("vggish/000046_3840.examples_openmic.f64.npy");
    let actual: Vec<f64> = array.iter().map(|&v| f64::from(v)).collect();
    assert_close("features --openmic", &actual, &expected, 3e-4);
    assert!(!dir.path().join("x.npy.partial").exists());
}

fn write_tone(path: &Path, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..(seconds * 16_000.0) as usize {
        w.write_sample(((i as f64 * 0.1).sin() * 10_000.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
}

#[test]
fn bad_inputs_fail_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = dir.path().join("short.wav");
    write_tone(&short, 0.9);
    let empty = dir.path().join("empty.ogg");
    std::fs::write(&empty, b"").expect("write");
    let corrupt = dir.path().join("corrupt.mp3");
    std::fs::write(&corrupt, vec![0x55u8; 4096]).expect("write");
    let missing = dir.path().join("missing.flac");
    let npy = dir.path().join("never.npy");
    for (path, reason) in [
        (short.as_path(), "too short"),
        (empty.as_path(), "empty"),
        (corrupt.as_path(), "unsupported"),
        (missing.as_path(), "No such file"),
        (dir.path(), "directory"),
    ] {
        let out = insrec(&[
            "features".as_ref(),
            path.as_os_str(),
            "--out".as_ref(),
            npy.as_os_str(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&*path.display().to_string()) && err.contains(reason),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !npy.exists() && !dir.path().join("never.npy.partial").exists(),
            "nothing half-written"
        );
    }
}

#[test]
fn exactly_one_example_at_the_boundary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("one.wav");
    write_tone(&wav, 15_600.0 / 16_000.0);
    let out = insrec(&["features".as_ref(), wav.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 examples"));
}
