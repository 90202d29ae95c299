//! `insrec analyze` run as a user runs it: the real binary with its embedded default model, on a
//! real OpenMIC clip, folders with a broken file, every output format and the limits.

mod common;

use std::path::Path;
use std::process::Output;

use common::{insrec, stderr};
use insrec_testutil::fixture;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn scores(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array of scores")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

#[test]
fn reports_twenty_scores_and_a_timeline_as_json() {
    let ogg = fixture("vggish/000046_3840.ogg");
    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["model"], "default");
    assert_eq!(report["classes"].as_array().expect("classes").len(), 20);
    let file = &report["files"][0];
    assert!(file["error"].is_null());
    assert!((file["duration_s"].as_f64().expect("duration") - 10.0).abs() < 0.05);
    let overall = file["scores"].as_object().expect("scores by class");
    assert_eq!(overall.len(), 20);
    assert!(
        overall
            .values()
            .all(|v| (0.0..=1.0).contains(&v.as_f64().expect("score")))
    );
    let frames = file["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 10, "0.96 s frames of a 10 s clip");
    for (i, frame) in frames.iter().enumerate() {
        assert!((frame["start_s"].as_f64().expect("start") - 0.96 * i as f64).abs() < 1e-6);
        let s = scores(&frame["scores"]);
        assert_eq!(s.len(), 20);
        assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    // An overall score is never above the highest frame score of its class.
    for (class, name) in report["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .enumerate()
    {
        let top = frames
            .iter()
            .map(|f| scores(&f["scores"])[class])
            .fold(0.0, f64::max);
        let overall = overall[name.as_str().expect("name")]
            .as_f64()
            .expect("score");
        assert!(overall <= top + 1e-4, "{name}: {overall} > {top}");
    }
}

#[test]
fn thresholds_decide_what_is_present() {
    let ogg = fixture("vggish/000046_3840.ogg");
    let present = |threshold: &str| {
        let out = insrec(&[
            "analyze".as_ref(),
            ogg.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
            "--threshold".as_ref(),
            threshold.as_ref(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)["files"][0]["present"]
            .as_array()
            .expect("present")
            .len()
    };
    assert_eq!(present("0"), 20);
    assert_eq!(present("1"), 0);
    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--threshold".as_ref(),
        "1.5".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not in [0, 1]"), "{}", stderr(&out));
}

#[test]
fn a_broken_file_in_a_folder_is_reported_and_the_rest_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("a").join("b");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(fixture("vggish/000046_3840.ogg"), nested.join("good.ogg")).expect("copy");
    std::fs::write(dir.path().join("broken.mp3"), b"ID3 this is not audio").expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"not an audio file name").expect("write");
    let out = insrec(&[
        "analyze".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed file makes the exit code 2"
    );
    assert!(stderr(&out).contains("broken.mp3"), "{}", stderr(&out));
    let report = json(&out);
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 2, "the .txt file is not audio: {files:?}");
    let by_name = |name: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} missing from {files:?}"))
    };
    assert!(by_name("broken.mp3")["error"].is_string());
    let good = by_name("good.ogg");
    assert!(good["error"].is_null());
    assert_eq!(good["frames"].as_array().expect("frames").len(), 10);
}

#[test]
fn csv_and_table_carry_the_same_timeline() {
    let ogg = fixture("vggish/000046_3840.ogg");
    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("path,start_s,accordion,banjo,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0].split(',').count(), 22);
    assert_eq!(lines.len(), 11, "header + 10 frames");
    assert!(lines[1..].iter().all(|l| l.split(',').count() == 22));

    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--top-k".as_ref(),
        "3".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("present:"), "{table}");
    let header = table
        .lines()
        .find(|l| l.trim_start().starts_with("time"))
        .expect("timeline header");
    assert_eq!(
        header.split_whitespace().count(),
        4,
        "time + top 3: {header}"
    );
}

#[test]
fn limits_and_wrong_models_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ogg = fixture("vggish/000046_3840.ogg");
    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--max-duration-s".as_ref(),
        "5".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("000046_3840.ogg"), "{}", stderr(&out));
    assert!(stderr(&out).contains("limit"), "{}", stderr(&out));

    let missing = dir.path().join("no-such-model");
    let out = insrec(&[
        "analyze".as_ref(),
        ogg.as_os_str(),
        "--model".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown model"), "{}", stderr(&out));

    let out = insrec(&[
        "analyze".as_ref(),
        Path::new("/no/such/file.mp3").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/no/such/file.mp3"),
        "{}",
        stderr(&out)
    );
}
