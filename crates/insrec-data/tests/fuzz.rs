//! In-process mutation fuzzing of target (3): the dataset loaders.
//!
//! Each execution replaces one file of a copy of the OpenMIC fixture release (an npz member, the
//! whole npz in any of its variants, the class map, a partition, the metadata CSV, a separate
//! feature `.npy`), of a labelled folder (`labels.csv`), or one pickled `sample_key` payload with
//! a mutant, loads it as `insrec train` would (load, official split by artist, row-order split,
//! every row's labels) and must end in `Ok` or an error within a second, never a panic. A long run:
//!
//! ```text
//! INSREC_FUZZ_EXECS=1000000 cargo test --release -p insrec-data --test fuzz -- --nocapture
//! ```

mod common;

use std::path::Path;
use std::time::Duration;

use insrec_data::pickle::object_array_strings;
use insrec_data::{
    FeatureScale, FeatureSource, LabelledFolder, OpenMic, OpenMicOptions, Result, SplitRule,
};
use insrec_testutil::fixture;
use insrec_testutil::fuzz::{Budget, Campaign, Seed, Verdict};

/// Release files replaced whole, relative to the release folder.
const RELEASE_FILES: [&str; 5] = [
    "openmic-2018.npz",
    "class-map.json",
    "partitions/split01_train.csv",
    "partitions/split01_test.csv",
    "openmic-2018-metadata.csv",
];
/// The separate feature file of the `features:` seeds (the seed's `x_repr_times.npy` layout).
const FEATURES_NPY: &str = "features.npy";
/// Clips of the fixture release.
const CLIPS: usize = 40;

/// A labelled folder: two (empty) audio files and a CSV naming them.
fn labels_csv() -> String {
    let classes = insrec_core::Instrument::names();
    let row = |path: &str, fill: &str| {
        std::iter::once(path.to_string())
            .chain((0..classes.len()).map(|i| if i % 3 == 0 { "" } else { fill }.to_string()))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "path,{}\n{}\n{}\n",
        classes.join(","),
        row("a.wav", "1"),
        row("songs/b.wav", "0.25")
    )
}

/// A float32 `[40, 10, 128]` feature file.
fn features_npy() -> Vec<u8> {
    let values: Vec<u8> = (0..CLIPS * 10 * 128)
        .flat_map(|i| ((i % 255) as f32 / 255.0).to_le_bytes())
        .collect();
    common::npy("<f4", &[CLIPS, 10, 128], &values)
}

fn seeds() -> Vec<Seed> {
    let root = common::root();
    let mut seeds: Vec<Seed> = common::members(&root.join(RELEASE_FILES[0]))
        .into_iter()
        .map(|(name, bytes)| Seed::new(format!("member:{name}"), bytes))
        .collect();
    for file in RELEASE_FILES {
        let bytes = std::fs::read(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        seeds.push(Seed::new(format!("file:{file}"), bytes));
    }
    for variant in [
        "openmic-2018.numpy2_savez_compressed.npz",
        "openmic-2018.unicode_keys.npz",
        "openmic-2018.docstring_dtypes.npz",
    ] {
        let bytes = std::fs::read(fixture(format!("openmic/variants/{variant}")))
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
        seeds.push(Seed::new(format!("file:{}", RELEASE_FILES[0]), bytes));
    }
    for variant in [
        "sample_key_2500.legacy_pickle.npy",
        "sample_key_2500.numpy2_pickle.npy",
    ] {
        let bytes = std::fs::read(fixture(format!("openmic/variants/{variant}")))
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
        seeds.push(Seed::new("pickle", common::npy_payload(&bytes).to_vec()));
    }
    seeds.push(Seed::new("features", features_npy()));
    seeds.push(Seed::new("labels", labels_csv()));
    seeds
}

/// Loads the release as training does: both split rules and every row's labels.
fn load_release(dir: &Path, features: FeatureSource) -> Result<()> {
    let options = OpenMicOptions {
        features,
        scale: FeatureScale::Unit,
    };
    let data = OpenMic::load(dir, &options)?;
    data.splits(SplitRule::Official {
        val_fraction: 0.1,
        seed: 0,
        by_artist: true,
    })?;
    data.splits(SplitRule::RowOrder)?;
    for row in 0..data.keys().len() {
        data.labels(row);
        data.features(row);
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[test]
fn dataset_loaders_never_panic_or_hang() {
    let release = common::copy_release();
    let dir = release.path();
    let metadata = RELEASE_FILES[4];
    std::fs::copy(common::root().join(metadata), dir.join(metadata))
        .unwrap_or_else(|e| panic!("copy {metadata}: {e}"));
    let originals: Vec<(String, Vec<u8>)> = RELEASE_FILES
        .iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            (f.to_string(), bytes)
        })
        .collect();
    let members = common::members(&dir.join(RELEASE_FILES[0]));
    let folder = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(folder.path().join("songs")).expect("mkdir songs");
    for audio in ["a.wav", "songs/b.wav"] {
        write(&folder.path().join(audio), b"");
    }
    // Every seed loads before mutation: the harness exercises the real paths.
    write(&dir.join(FEATURES_NPY), &features_npy());
    load_release(dir, FeatureSource::Npy(FEATURES_NPY.into())).expect("intact release loads");
    write(&folder.path().join("labels.csv"), labels_csv().as_bytes());
    LabelledFolder::load(folder.path()).expect("intact folder loads");

    let campaign = Campaign {
        target: "datasets",
        budget: Budget::from_env(300),
        max_exec: Duration::from_secs(1),
        max_input: 512 * 1024,
    };
    let verdict = |result: Result<()>| match result {
        Ok(()) => Verdict::Accepted,
        Err(_) => Verdict::Refused,
    };
    campaign
        .run(&seeds(), |name, input| {
            Ok(match name.split_once(':') {
                Some(("member", member)) => {
                    let replaced: Vec<(String, Vec<u8>)> = members
                        .iter()
                        .map(|(m, bytes)| {
                            let bytes = if m == member { input } else { bytes };
                            (m.clone(), bytes.to_vec())
                        })
                        .collect();
                    common::write_npz(&dir.join(RELEASE_FILES[0]), &replaced);
                    let outcome = verdict(load_release(dir, FeatureSource::ReleaseX));
                    write(&dir.join(RELEASE_FILES[0]), &originals[0].1);
                    outcome
                }
                Some(("file", file)) => {
                    write(&dir.join(file), input);
                    let outcome = verdict(load_release(dir, FeatureSource::ReleaseX));
                    let original = originals.iter().find(|(f, _)| f == file);
                    write(&dir.join(file), &original.expect("a release file").1);
                    outcome
                }
                _ if name == "features" => {
                    write(&dir.join(FEATURES_NPY), input);
                    verdict(load_release(dir, FeatureSource::Npy(FEATURES_NPY.into())))
                }
                _ if name == "labels" => {
                    write(&folder.path().join("labels.csv"), input);
                    verdict(LabelledFolder::load(folder.path()).map(|_| ()))
                }
                _ => match object_array_strings(input, 2500) {
                    Ok(_) => Verdict::Accepted,
                    Err(_) => Verdict::Refused,
                },
            })
        })
        .assert_clean();
}
