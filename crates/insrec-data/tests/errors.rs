//! Broken OpenMIC trees built in temp dirs: each error names the file and the problem.

mod common;

use std::path::Path;

use insrec_data::{Error, OpenMic, OpenMicOptions, Partition, SplitRule};

/// Rewrites the copied npz, replacing or dropping members.
fn edit_npz(dir: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let path = dir.join("openmic-2018.npz");
    let members: Vec<(String, Vec<u8>)> = common::members(&path)
        .into_iter()
        .filter_map(|(name, bytes)| edit(&name, bytes).map(|b| (name, b)))
        .collect();
    common::write_npz(&path, &members);
}

fn load_err(dir: &Path) -> Error {
    match OpenMic::load(dir, &OpenMicOptions::default()) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

fn assert_message(err: &Error, parts: &[&str]) {
    let message = err.to_string();
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} should mention {part:?}"
        );
    }
}

#[test]
fn float_x_is_a_dtype_error() {
    let dir = common::copy_release();
    edit_npz(dir.path(), |name, bytes| {
        Some(if name == "X.npy" {
            common::npy("<f8", &[40, 10, 128], &vec![0; 40 * 1280 * 8])
        } else {
            bytes
        })
    });
    let err = load_err(dir.path());
    assert!(matches!(err, Error::WrongDtype { .. }), "{err}");
    assert_message(&err, &["openmic-2018.npz", "X.npy", "<f8", "integer"]);
}

#[test]
fn wrong_label_shape_is_a_shape_error() {
    let dir = common::copy_release();
    edit_npz(dir.path(), |name, bytes| {
        Some(if name == "Y_true.npy" {
            common::npy("<f8", &[40, 19], &[0; 40 * 19 * 8])
        } else {
            bytes
        })
    });
    let err = load_err(dir.path());
    assert!(matches!(err, Error::WrongShape { .. }), "{err}");
    assert_message(
        &err,
        &["openmic-2018.npz", "Y_true.npy", "[40, 19]", "[40, 20]"],
    );
}

#[test]
fn missing_member_is_named() {
    let dir = common::copy_release();
    edit_npz(dir.path(), |name, bytes| {
        (name != "Y_mask.npy").then_some(bytes)
    });
    let err = load_err(dir.path());
    assert!(matches!(err, Error::MissingMember { .. }), "{err}");
    assert_message(&err, &["openmic-2018.npz", "Y_mask.npy", "X.npy"]);
}

#[test]
fn truncated_pickle_is_a_format_error() {
    let dir = common::copy_release();
    edit_npz(dir.path(), |name, mut bytes| {
        if name == "sample_key.npy" {
            bytes.truncate(bytes.len() - 40);
        }
        Some(bytes)
    });
    let err = load_err(dir.path());
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert_message(&err, &["openmic-2018.npz", "sample_key.npy", "pickle"]);
}

#[test]
fn empty_npz_is_an_empty_dataset() {
    let dir = common::copy_release();
    edit_npz(dir.path(), |name, _| {
        Some(match name {
            "X.npy" => common::npy("<i8", &[0, 10, 128], &[]),
            "Y_true.npy" => common::npy("<f8", &[0, 20], &[]),
            "Y_mask.npy" => common::npy("|b1", &[0, 20], &[]),
            _ => common::npy("<U15", &[0], &[]),
        })
    });
    let err = load_err(dir.path());
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    assert_message(&err, &["openmic-2018.npz", "empty"]);
}

#[test]
fn not_a_zip_is_named() {
    let dir = common::copy_release();
    std::fs::write(dir.path().join("openmic-2018.npz"), b"not a zip")
        .unwrap_or_else(|e| panic!("write: {e}"));
    let err = load_err(dir.path());
    assert!(matches!(err, Error::Zip { .. }), "{err}");
    assert_message(&err, &["openmic-2018.npz", "zip"]);
}

#[test]
fn partition_keys_must_be_in_the_npz() {
    let dir = common::copy_release();
    let path = dir.path().join("partitions/split01_test.csv");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str("999999_0\n");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    let data =
        OpenMic::load(dir.path(), &OpenMicOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let err = data
        .partition(Partition::Test)
        .err()
        .unwrap_or_else(|| panic!("unknown key accepted"));
    assert!(matches!(err, Error::UnknownKeys { count: 1, .. }), "{err}");
    assert_message(&err, &["split01_test.csv", "999999_0", "openmic-2018.npz"]);
}

#[test]
fn overlapping_partitions_are_rejected() {
    let dir = common::copy_release();
    let path = dir.path().join("partitions/split01_train.csv");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str("000403_0\n"); // a test key
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
    let data =
        OpenMic::load(dir.path(), &OpenMicOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let err = data
        .splits(SplitRule::Official {
            val_fraction: 0.1,
            seed: 0,
            by_artist: false,
        })
        .err()
        .unwrap_or_else(|| panic!("overlap accepted"));
    assert!(
        matches!(err, Error::OverlappingPartitions { count: 1, .. }),
        "{err}"
    );
    assert_message(&err, &["split01_train.csv", "split01_test.csv", "000403_0"]);
}

#[test]
fn missing_partition_file_is_named() {
    let dir = common::copy_release();
    std::fs::remove_file(dir.path().join("partitions/split01_train.csv"))
        .unwrap_or_else(|e| panic!("rm: {e}"));
    let data =
        OpenMic::load(dir.path(), &OpenMicOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let err = data
        .splits(SplitRule::Official {
            val_fraction: 0.1,
            seed: 0,
            by_artist: false,
        })
        .err()
        .unwrap_or_else(|| panic!("no train file"));
    assert_message(&err, &["split01_train.csv"]);
    assert!(
        data.splits(SplitRule::RowOrder).is_ok(),
        "the seed's split needs no partition files"
    );
}

#[test]
fn class_map_must_match_the_twenty_classes() {
    let dir = common::copy_release();
    let path = dir.path().join("class-map.json");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, text.replace("\"banjo\": 1", "\"banjo\": 2"))
        .unwrap_or_else(|e| panic!("write: {e}"));
    let err = load_err(dir.path());
    assert!(
        matches!(err, Error::ClassMapMismatch { expected: 1, .. }),
        "{err}"
    );
    assert_message(&err, &["class-map.json", "banjo"]);
    std::fs::write(
        &path,
        text.replace("\"voice\": 19", "\"voice\": 19, \"kazoo\": 20"),
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let err = load_err(dir.path());
    assert_message(&err, &["class-map.json", "kazoo"]);
}

#[test]
fn invalid_fraction_is_rejected() {
    let dir = common::copy_release();
    let data =
        OpenMic::load(dir.path(), &OpenMicOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let err = data
        .splits(SplitRule::Official {
            val_fraction: 1.5,
            seed: 0,
            by_artist: false,
        })
        .err()
        .unwrap_or_else(|| panic!("1.5 accepted"));
    assert!(matches!(err, Error::InvalidFraction { .. }), "{err}");
}

#[test]
fn split_by_artist_needs_the_metadata_columns() {
    let dir = common::copy_release();
    let data =
        OpenMic::load(dir.path(), &OpenMicOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let rule = SplitRule::Official {
        val_fraction: 0.1,
        seed: 0,
        by_artist: true,
    };
    let err = data
        .splits(rule)
        .err()
        .unwrap_or_else(|| panic!("no metadata file"));
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_message(&err, &[insrec_data::METADATA_FILE]);
    std::fs::write(
        dir.path().join(insrec_data::METADATA_FILE),
        "sample_key,artist_name\n000046_3840,x\n",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let err = data
        .splits(rule)
        .err()
        .unwrap_or_else(|| panic!("no artist_id column"));
    assert!(
        matches!(
            err,
            Error::MissingColumn {
                column: "artist_id",
                ..
            }
        ),
        "{err}"
    );
}
