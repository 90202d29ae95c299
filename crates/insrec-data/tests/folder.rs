//! Labelled folders built in temp dirs.

use std::path::Path;

use insrec_core::{Instrument, NUM_CLASSES};
use insrec_data::{CLIP_FEATURES, Dataset, Error, Input, LabelledFolder, Result, Splits};

/// Header `path,<20 classes>` and rows of `(path, [(class, value)])`; empty where not given.
fn write_csv(dir: &Path, columns: &[&str], rows: &[(&str, &[(Instrument, &str)])]) {
    let mut text = std::iter::once("path")
        .chain(columns.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for (path, values) in rows {
        let cells = columns.iter().map(|c| {
            values
                .iter()
                .find(|(i, _)| i.name() == *c || c.parse() == Ok(*i))
                .map_or("", |(_, v)| *v)
        });
        text += &std::iter::once(*path)
            .chain(cells)
            .collect::<Vec<_>>()
            .join(",");
        text.push('\n');
    }
    std::fs::write(dir.join("labels.csv"), text).unwrap_or_else(|e| panic!("write csv: {e}"));
}

fn touch(dir: &Path, file: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(path, b"RIFF").unwrap_or_else(|e| panic!("touch {file}: {e}"));
}

fn load_err(dir: &Path) -> Error {
    match LabelledFolder::load(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn loads_labels_mask_and_paths() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["a.wav", "songs/b.flac", "unlabelled.mp3"] {
        touch(dir.path(), file);
    }
    // Class headers in another spelling and order still map to OpenMIC columns.
    let mut columns: Vec<String> = Instrument::ALL
        .iter()
        .rev()
        .map(|i| i.name().replace('_', " ").to_uppercase())
        .collect();
    columns.push("artist".into());
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let piano_yes: &[(Instrument, &str)] = &[
        (Instrument::Piano, "1"),
        (Instrument::Voice, "0"),
        (Instrument::MalletPercussion, "0.75"),
    ];
    write_csv(
        dir.path(),
        &columns,
        &[("a.wav", piano_yes), ("songs/b.flac", &[])],
    );
    let folder = LabelledFolder::load(dir.path())?;
    assert_eq!(folder.len(), 2);
    assert_eq!(folder.keys(), ["a.wav", "songs/b.flac"]);
    assert_eq!(folder.paths()[1], dir.path().join("songs/b.flac"));
    let a = folder.labels()[0];
    let observed: Vec<usize> = (0..NUM_CLASSES).filter(|&j| a.mask[j]).collect();
    assert_eq!(
        observed,
        [
            Instrument::MalletPercussion.index(),
            Instrument::Piano.index(),
            Instrument::Voice.index()
        ]
    );
    assert_eq!(a.relevance[Instrument::MalletPercussion.index()], 0.75);
    assert_eq!(a.official_targets()[Instrument::Piano.index()], 1.0);
    assert_eq!(
        folder.labels()[1].mask,
        [false; NUM_CLASSES],
        "empty cells are unknown"
    );
    let item = folder.get(1).unwrap_or_else(|| panic!("row 1"));
    assert_eq!(item.input, Input::Audio(&folder.paths()[1]));
    let features = folder.with_features(vec![0.5; 2 * CLIP_FEATURES])?;
    assert_eq!(features.get(1).map(|i| i.key), Some("songs/b.flac"));
    assert!(matches!(
        folder.with_features(vec![0.0; 3]),
        Err(Error::FeatureLength { .. })
    ));
    let splits = Splits::by_key(
        folder.keys().iter().map(String::as_str),
        0.5,
        0.0,
        1,
        &folder.name(),
    )?;
    assert_eq!(splits.train.len() + splits.val.len(), 2);
    assert_eq!(
        splits.val.len(),
        1,
        "a tiny set still gets a validation row"
    );
    Ok(())
}

#[test]
fn missing_class_columns_are_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    touch(dir.path(), "a.wav");
    let columns: Vec<&str> = Instrument::ALL
        .iter()
        .map(|i| i.name())
        .filter(|n| *n != "voice" && *n != "banjo")
        .collect();
    write_csv(dir.path(), &columns, &[("a.wav", &[])]);
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::MissingClassColumns { missing, .. } if missing == &["banjo", "voice"]),
        "{err}"
    );
    assert!(err.to_string().contains("labels.csv"), "{err}");
}

#[test]
fn bad_cells_missing_audio_and_empty_csv_are_reported() {
    let names: Vec<&str> = Instrument::ALL.iter().map(|i| i.name()).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    touch(dir.path(), "a.wav");
    write_csv(
        dir.path(),
        &names,
        &[("a.wav", &[(Instrument::Organ, "yes")])],
    );
    let err = load_err(dir.path());
    assert!(
        matches!(
            err,
            Error::BadLabel {
                line: 2,
                column: "organ",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("labels.csv:2"), "{err}");

    write_csv(dir.path(), &names, &[("a.wav", &[]), ("gone.wav", &[])]);
    let err = load_err(dir.path());
    assert!(matches!(err, Error::MissingAudio { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("gone.wav"), "{err}");

    write_csv(dir.path(), &names, &[("a.wav", &[]), ("a.wav", &[])]);
    assert!(matches!(
        load_err(dir.path()),
        Error::DuplicateClip { line: 3, .. }
    ));

    write_csv(dir.path(), &names, &[]);
    let err = load_err(dir.path());
    assert!(matches!(err, Error::Empty { .. }), "{err}");

    let no_path: String = names.join(",") + "\n";
    std::fs::write(dir.path().join("labels.csv"), no_path).unwrap_or_else(|e| panic!("write: {e}"));
    assert!(matches!(
        load_err(dir.path()),
        Error::MissingPathColumn { .. }
    ));

    std::fs::remove_file(dir.path().join("labels.csv")).unwrap_or_else(|e| panic!("rm: {e}"));
    let err = load_err(dir.path());
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("labels.csv"),
        "{err}"
    );
}
