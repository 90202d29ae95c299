//! `insrec train --model compact` as a user runs it: a tiny TimGM6mb corpus from `insrec synth`,
//! one epoch, export, analysis with the exported model, refusal to overwrite, `--resume` with more
//! epochs; the same corpus as a partly labelled folder; OpenMIC-2018's audio; wrong datasets.

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
        "--set",
        "blocks=24:2,48:2,48:1",
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
    let blocks = &description["config"]["encoder"]["blocks"];
    assert_eq!(
        blocks[2],
        serde_json::json!({"channels": 48, "stride": 1}),
        "{blocks}"
    );
    // The auxiliary preset output (on by default) is checkpointed, named in the run's state, and
    // exported inside the frame head, blended with a weight chosen on validation.
    assert!(run.join("checkpoint/presets.bpk").is_file());
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("checkpoint/state.json")).expect("state.json"),
    )
    .expect("state.json is JSON");
    let presets = state["presets"].as_array().map_or(0, Vec::len);
    assert!(presets > 0, "{state}");
    assert_eq!(state["settings"]["preset_loss"], 3.0);
    assert!(!run.join("model/presets.bpk").exists());
    let view = &description["config"]["head"]["presets"];
    assert_eq!(view["names"], state["presets"], "{view}");
    let weight = view["weight"].as_f64().expect("a blend weight");
    assert!(
        (0..=10).any(|tenths| (f64::from(tenths) / 10.0 - weight).abs() < 1e-6),
        "{weight}"
    );
    let members = view["members"].as_array().expect("members");
    assert_eq!(members.len(), 20);
    assert!(
        members
            .iter()
            .flat_map(|m| m.as_array().into_iter().flatten())
            .count()
            > 0,
        "{view}"
    );

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

    // `insrec eval` of the exported model: its own thresholds on the validation side (2 clips),
    // thresholds tuned there, and every clip.
    let model = run.join("model");
    let report = dir.path().join("eval.json");
    let eval = eval_compact(
        &model,
        &corpus,
        &["--side", "valid", "--json", path_str(&report)],
    );
    assert!(eval.status.success(), "{}", stderr(&eval));
    let table = String::from_utf8_lossy(&eval.stdout);
    assert!(
        table.contains("2 clips, thresholds the model's own"),
        "{table}"
    );
    assert!(table.contains("frame-level (×100): mAP"), "{table}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("eval JSON")).expect("JSON");
    assert_eq!(json["thresholds"], "model");
    // Loaded back (preset view and half-frame view included), the model scores the validation
    // clips as the export did.
    let exported = &description["metadata"]["valid"];
    for (got, want) in [
        (
            &json["official"]["mean_average_precision"],
            &exported["clip_map"],
        ),
        (&json["frame_map"], &exported["frame_map"]),
    ] {
        let (got, want) = (got.as_f64(), want.as_f64());
        assert!(
            got.zip(want).is_some_and(|(g, w)| (g - w).abs() < 1e-9),
            "{got:?} vs {want:?}: {json}"
        );
    }
    assert!(
        json["dataset"]
            .as_str()
            .is_some_and(|d| d.ends_with("(validation side of the official split)")),
        "{json}"
    );
    let no_test = eval_compact(&model, &corpus, &[]);
    assert_eq!(no_test.status.code(), Some(2));
    assert!(
        stderr(&no_test).contains("the test side of the split has no clip"),
        "{}",
        stderr(&no_test)
    );
    let tuned = eval_compact(&model, &corpus, &["--side", "valid", "--tune-thresholds"]);
    assert!(tuned.status.success(), "{}", stderr(&tuned));
    assert!(
        String::from_utf8_lossy(&tuned.stdout).contains("thresholds tuned on validation"),
        "{}",
        String::from_utf8_lossy(&tuned.stdout)
    );
    let all = eval_compact(&model, &corpus, &["--split", "all"]);
    assert!(all.status.success(), "{}", stderr(&all));
    assert!(String::from_utf8_lossy(&all.stdout).contains("8 clips"));
    let both = eval_compact(&model, &corpus, &["--split", "all", "--side", "train"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(stderr(&both).contains("--split all"), "{}", stderr(&both));

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
        stderr(&other).contains("other settings (head: ")
            && stderr(&other).contains(", \"mlp\" now)"),
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

    // The default trains the class logits through the preset blend (w = 0.8); `preset_blend=0`
    // trains the frame head alone: the same first epoch otherwise, another loss.
    let head_alone = dir.path().join("head-alone");
    let out = train(
        &corpus,
        &head_alone,
        &["--epochs", "1", "--set", "preset_blend=0"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first_loss = |run: &Path| {
        let log = std::fs::read_to_string(run.join("log.jsonl")).expect("log.jsonl");
        let line: serde_json::Value =
            serde_json::from_str(log.lines().next().expect("a line")).expect("JSON");
        line["loss"].as_f64().expect("loss")
    };
    assert_ne!(first_loss(&head_alone), first_loss(&run));
    let blend = |run: &Path| {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run.join("checkpoint/state.json")).expect("state.json"),
        )
        .expect("state.json is JSON");
        state["settings"]["preset_blend"].as_f64()
    };
    assert!(blend(&run).is_some_and(|w| (w - 0.8).abs() < 1e-6));
    assert_eq!(blend(&head_alone), None, "0 is left out, as in older runs");
}

/// `insrec eval --model MODEL --data synth:CORPUS` with `extra` arguments.
fn eval_compact(model: &Path, corpus: &Path, extra: &[&str]) -> Output {
    let data = format!("synth:{}", corpus.display());
    let mut args = vec!["eval", "--model", path_str(model), "--data", &data];
    args.extend_from_slice(extra);
    insrec(&args)
}

/// The embedded default on a corpus it never saw (other clips, same SoundFont as its training
/// data): it must recognise what plays, clip and frame by frame.
#[test]
fn evaluates_the_embedded_default_on_a_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = corpus(dir.path());
    let report = dir.path().join("eval.json");
    let out = eval_compact(
        Path::new("default"),
        &corpus,
        &["--split", "all", "--json", path_str(&report), "--by-parts"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("eval JSON")).expect("JSON");
    assert_eq!(json["model"], "default");
    assert_eq!(json["clips"], 8);
    let clip_map = json["official"]["mean_average_precision"].as_f64();
    let frame_map = json["frame_map"].as_f64();
    assert!(clip_map.is_some_and(|m| m > 0.6), "clip mAP {clip_map:?}");
    assert!(
        frame_map.is_some_and(|m| m > 0.5),
        "frame mAP {frame_map:?}"
    );
    // The groups by number of parts hold every clip once, each with its own 20 APs.
    let groups = json["by_parts"].as_array().expect("by_parts");
    let counted: Vec<(u64, u64)> = groups
        .iter()
        .map(|g| {
            (
                g["parts"].as_u64().unwrap_or(0),
                g["clips"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(counted.iter().map(|c| c.1).sum::<u64>(), 8, "{counted:?}");
    assert!(counted.iter().all(|c| c.0 >= 1), "{counted:?}");
    assert!(
        groups
            .iter()
            .all(|g| g["average_precision"].as_array().map(Vec::len) == Some(20))
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("by number of parts"));

    let zoo_input = eval_compact(
        Path::new("default"),
        &corpus,
        &["--encoder", "vggish", "--split", "all"],
    );
    assert_eq!(zoo_input.status.code(), Some(2));
    assert!(
        stderr(&zoo_input).contains("reads the dataset's audio"),
        "{}",
        stderr(&zoo_input)
    );

    // A labelled folder has no parts to group by.
    let folder = labelled_folder(&corpus, dir.path());
    let data = format!("folder:{}", folder.display());
    let refused = insrec(&[
        "eval",
        "--model",
        "default",
        "--data",
        &data,
        "--split",
        "all",
        "--by-parts",
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--by-parts needs a synth: corpus"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn refuses_unreadable_datasets_and_unknown_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let compact = |data: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "compact",
            "--data",
            data,
            "--out",
            path_str(&run),
        ];
        args.extend_from_slice(extra);
        insrec(&args)
    };
    let empty = compact(&format!("openmic:{}", dir.path().display()), &[]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        stderr(&empty).contains("openmic-2018.npz"),
        "{}",
        stderr(&empty)
    );

    // The fixture release holds the audio of one of its 40 clips.
    let release = insrec_testutil::fixture("openmic/openmic-2018");
    let no_audio = compact(&format!("openmic:{}", release.display()), &[]);
    assert_eq!(no_audio.status.code(), Some(2));
    assert!(
        stderr(&no_audio).contains("39 of 40 clips have no audio"),
        "{}",
        stderr(&no_audio)
    );

    let unknown = compact(
        &format!("synth:{}", dir.path().display()),
        &["--set", "dropout=0.5"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("learning_rate"),
        "{}",
        stderr(&unknown)
    );
    // Too many operations at full resolution; too many parameters once the map is 1×1.
    for (blocks, what) in [
        ("blocks=512:1", "FLOPs per frame, over the budget"),
        (
            "blocks=16:2,16:2,16:2,16:2,768:2,768:1",
            "parameters, over the budget",
        ),
    ] {
        let too_big = compact(
            &format!("synth:{}", dir.path().display()),
            &["--set", blocks],
        );
        assert_eq!(too_big.status.code(), Some(2));
        assert!(stderr(&too_big).contains(what), "{}", stderr(&too_big));
    }
    let synth = format!("synth:{}", dir.path().display());
    for (extra, what) in [
        (vec!["--set", "head_hidden=0"], "must be at least 1"),
        (
            vec!["--set", "mix_probability=1.5"],
            "mix_probability=1.5: must be between 0 and 1",
        ),
        (
            vec!["--set", "preset_blend=-0.5"],
            "preset_blend=-0.5: must be between 0 and 1",
        ),
        (
            vec!["--set", "learning_rate=-1e-3"],
            "must be a positive number",
        ),
        (
            vec!["--set", "loss=seed_ce"],
            "expected masked_bce or masked_asl",
        ),
        (
            vec![
                "--set",
                "blocks=8:2,8:2,8:2,8:2",
                "--set",
                "embedding_dim=13000",
                "--set",
                "pooling=global",
            ],
            "parameters, over the budget",
        ),
    ] {
        let refused = compact(&synth, &extra);
        assert_eq!(refused.status.code(), Some(2));
        assert!(stderr(&refused).contains(what), "{}", stderr(&refused));
    }
    let e2e = insrec(&[
        "train",
        "--model",
        "DLinear",
        "--end-to-end",
        "--data",
        &synth,
        "--out",
        path_str(&run),
        "--set",
        "embedding_dim=256",
    ]);
    assert_eq!(e2e.status.code(), Some(2));
    assert!(
        stderr(&e2e).contains("read 128-wide embeddings"),
        "{}",
        stderr(&e2e)
    );
    assert!(!run.exists(), "a refused run wrote {}", run.display());
}

/// The corpus as a labelled folder (`labels.csv` + the WAV files) with the voice and drums columns
/// unknown for every clip, as a user's partly labelled recordings would be.
fn labelled_folder(corpus: &Path, dir: &Path) -> PathBuf {
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).expect("folder");
    let labels = std::fs::read_to_string(corpus.join("labels.csv")).expect("corpus labels.csv");
    let mut lines = labels.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let classes = &header[3..];
    let mut csv = format!("path,{}\n", classes.join(","));
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let name = format!("{}.wav", cells[0]);
        std::fs::copy(corpus.join("clips").join(&name), folder.join(&name)).expect("copy clip");
        let values: Vec<&str> = classes
            .iter()
            .zip(&cells[3..])
            .map(|(class, v)| {
                if ["voice", "drums"].contains(class) {
                    ""
                } else {
                    v
                }
            })
            .collect();
        csv.push_str(&format!("{name},{}\n", values.join(",")));
    }
    std::fs::write(folder.join("labels.csv"), csv).expect("labels.csv");
    folder
}

#[test]
fn learns_from_clip_labels_of_a_folder_and_of_openmic_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = labelled_folder(&corpus(dir.path()), dir.path());
    let data = format!("folder:{}", folder.display());
    let run = dir.path().join("run");
    let out = train_on(&data, &run, "compact", &["--epochs", "1"]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Clip labels only: no frame metric.
    assert!(stdout.contains("frame mAP n/a"), "{stdout}");
    let description: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("model/model.json")).expect("exported model.json"),
    )
    .expect("model.json is JSON");
    assert_eq!(description["metadata"]["training"]["data"], data);
    assert_eq!(
        description["metadata"]["training"]["split"]["split"],
        "official"
    );

    // End to end on the folder, then `insrec eval` on the test side of the same key-hash split.
    let e2e = dir.path().join("e2e");
    let out = train_on(
        &data,
        &e2e,
        "DLinear",
        &["--end-to-end", "--epochs", "1", "--split", "seed"],
    );
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let eval = insrec(&[
        "eval",
        "--model",
        path_str(&e2e.join("model")),
        "--data",
        &data,
        "--cache",
        path_str(&dir.path().join("cache")),
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    // The seed's row-order split of 8 clips tests the last one.
    let table = String::from_utf8_lossy(&eval.stdout);
    assert!(table.contains("1 clips"), "{table}");

    // OpenMIC-2018 with audio for every clip (the fixture's one clip, copied under each key).
    let release = dir.path().join("openmic-2018");
    copy_dir(&insrec_testutil::fixture("openmic/openmic-2018"), &release);
    let ogg = release.join("audio/000/000046_3840.ogg");
    let keys = std::fs::read_to_string(release.join("partitions/split01_train.csv"))
        .expect("split01_train.csv")
        + &std::fs::read_to_string(release.join("partitions/split01_test.csv"))
            .expect("split01_test.csv");
    for key in keys.lines().map(str::trim).filter(|k| !k.is_empty()) {
        let path = release
            .join("audio")
            .join(&key[..3])
            .join(format!("{key}.ogg"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("audio dir");
        if !path.exists() {
            std::fs::copy(&ogg, &path).expect("copy ogg");
        }
    }
    let out = train_on(
        &format!("openmic:{}", release.display()),
        &dir.path().join("openmic-run"),
        "compact",
        &["--epochs", "1"],
    );
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("held-out test: clip mAP"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `insrec train --model MODEL --data DATA --out RUN` with a tiny batch and, for a zoo model, a
/// tiny config.
fn train_on(data: &str, run: &Path, model: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--model",
        model,
        "--data",
        data,
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
