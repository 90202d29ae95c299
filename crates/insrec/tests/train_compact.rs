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

#[test]
fn end_to_end_zoo_model_trains_analyzes_evaluates_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = corpus(dir.path());
    let run = dir.path().join("run");
    let data = format!("synth:{}", corpus.display());
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "Transformer",
            "--end-to-end",
            "--data",
            &data,
            "--out",
            path_str(&run),
            "--set",
            "batch_clips=2",
            "--set",
            "warmup_steps=2",
            "--set",
            "d_model=32",
            "--set",
            "d_ff=32",
            "--set",
            "e_layers=1",
        ];
        args.extend_from_slice(extra);
        insrec(&args)
    };

    let bad_key = train(&["--epochs", "1", "--set", "train.dropout=0.1"]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(
        stderr(&bad_key).contains("configure the classifier"),
        "{}",
        stderr(&bad_key)
    );
    let bad_config = train(&["--epochs", "1", "--set", "n_heads=5"]);
    assert_eq!(bad_config.status.code(), Some(2));
    assert!(
        stderr(&bad_config).contains("n_heads"),
        "{}",
        stderr(&bad_config)
    );

    let out = train(&["--epochs", "1"]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("classifier: "), "{stdout}");
    let model = run.join("model");
    assert!(model.join("classifier.safetensors").is_file());
    assert!(run.join("checkpoint/classifier.bpk").is_file());
    let description: serde_json::Value = serde_json::from_slice(
        &std::fs::read(model.join("model.json")).expect("exported model.json"),
    )
    .expect("model.json is JSON");
    assert_eq!(description["name"], "Transformer end-to-end");
    assert_eq!(description["metadata"]["classifier"], "Transformer");
    assert_eq!(
        description["metadata"]["settings"]["classifier"]["config"]["d_model"],
        32
    );

    // The analysis runs the classifier behind the run's own encoder.
    let clip = corpus.join("clips/000000.wav");
    let analysis = insrec(&[
        "analyze",
        path_str(&clip),
        "--model",
        path_str(&model),
        "--format",
        "json",
    ]);
    assert!(analysis.status.success(), "{}", stderr(&analysis));
    let report: serde_json::Value =
        serde_json::from_slice(&analysis.stdout).expect("analysis JSON");
    assert_eq!(report["model"], "Transformer end-to-end", "{report}");
    let frames = report["files"][0]["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 10, "{report}");

    // `insrec eval` embeds the corpus with the run's encoder and scores the classifier.
    let cache = dir.path().join("cache");
    let eval = insrec(&[
        "eval",
        "--model",
        path_str(&model),
        "--data",
        &data,
        "--split",
        "all",
        "--cache",
        path_str(&cache),
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let table = String::from_utf8_lossy(&eval.stdout);
    assert!(table.contains("8 clips"), "{table}");

    let resumed = train(&["--epochs", "2", "--resume"]);
    assert!(
        resumed.status.success(),
        "resume failed: {}",
        stderr(&resumed)
    );
    assert_eq!(log_lines(&run), 2);
}
