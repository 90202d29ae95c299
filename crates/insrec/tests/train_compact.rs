//! `insrec train --model compact` as a user runs it: a tiny TimGM6mb corpus from `insrec synth`,
//! one epoch, export, analysis with the exported model, refusal to overwrite, `--resume` with more
//! epochs, and wrong datasets.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{insrec, stderr};
use insrec_testutil::timgm6mb;

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Renders an 8-clip corpus (6 train, 2 valid).
fn corpus(dir: &Path) -> PathBuf {
    let out = dir.join("corpus");
    let run = insrec(&[
        "synth",
        "--soundfont",
        path_str(&timgm6mb()),
        "--clips",
        "8",
        "--seed",
        "5",
        "--valid-fraction",
        "0.25",
        "--out",
        path_str(&out),
    ]);
    assert!(run.status.success(), "synth failed: {}", stderr(&run));
    out
}

fn train(corpus: &Path, run: &Path, extra: &[&str]) -> Output {
    let data = format!("synth:{}", corpus.display());
    let mut args = vec![
        "train",
        "--model",
        "compact",
        "--data",
        &data,
        "--out",
        path_str(run),
        "--set",
        "batch_clips=2",
        "--set",
        "warmup_steps=2",
    ];
    args.extend_from_slice(extra);
    insrec(&args)
}

fn log_lines(run: &Path) -> usize {
    std::fs::read_to_string(run.join("log.jsonl"))
        .expect("log.jsonl")
        .lines()
        .count()
}

#[test]
fn trains_exports_analyzes_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = corpus(dir.path());
    let run = dir.path().join("run");

    let out = train(&corpus, &run, &["--epochs", "1"]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid clip mAP"), "{stdout}");
    assert_eq!(log_lines(&run), 1);
    let description: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("model/model.json")).expect("exported model.json"),
    )
    .expect("model.json is JSON");
    assert_eq!(description["format"], "insrec-compact/1");
    assert_eq!(description["metadata"]["epochs_run"], 1);

    let clip = corpus.join("clips/000000.wav");
    let analysis = insrec(&[
        "analyze",
        path_str(&clip),
        "--model",
        path_str(&run.join("model")),
        "--format",
        "json",
    ]);
    assert!(analysis.status.success(), "{}", stderr(&analysis));
    let report: serde_json::Value =
        serde_json::from_slice(&analysis.stdout).expect("analysis JSON");
    let file = &report["files"][0];
    assert_eq!(
        file["scores"].as_object().map(|s| s.len()),
        Some(20),
        "{report}"
    );
    assert_eq!(
        file["frames"].as_array().map(Vec::len),
        Some(10),
        "{report}"
    );

    let again = train(&corpus, &run, &["--epochs", "1"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));

    let other = train(
        &corpus,
        &run,
        &["--epochs", "2", "--resume", "--set", "head=mlp"],
    );
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("other settings"),
        "{}",
        stderr(&other)
    );

    let resumed = train(&corpus, &run, &["--epochs", "2", "--resume"]);
    assert!(
        resumed.status.success(),
        "resume failed: {}",
        stderr(&resumed)
    );
    assert_eq!(log_lines(&run), 2);
}

#[test]
fn needs_a_synth_corpus_and_known_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let openmic = insrec(&[
        "train",
        "--model",
        "compact",
        "--data",
        &format!("openmic:{}", dir.path().display()),
        "--out",
        path_str(&run),
    ]);
    assert_eq!(openmic.status.code(), Some(2));
    assert!(
        stderr(&openmic).contains("synth:DIR"),
        "{}",
        stderr(&openmic)
    );

    let data = format!("synth:{}", dir.path().display());
    let unknown = insrec(&[
        "train",
        "--model",
        "compact",
        "--data",
        &data,
        "--out",
        path_str(&run),
        "--set",
        "dropout=0.5",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("learning_rate"),
        "{}",
        stderr(&unknown)
    );
    assert!(!run.exists(), "a refused run wrote {}", run.display());
}
