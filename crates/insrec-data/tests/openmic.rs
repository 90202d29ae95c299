//! The loader against the tiny OpenMIC fixture (`shared/fixtures/openmic/README.md`, "Suggested
//! loader tests").

mod common;

use std::collections::HashSet;
use std::path::Path;

use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, Instrument, NUM_CLASSES};
use insrec_data::npy::{Dtype, Endian, NpyReader};
use insrec_data::{
    CLIP_FEATURES, Dataset, FeatureScale, FeatureSource, Input, OpenMic, OpenMicOptions, Partition,
    REPR_TIMES_FILE, Result, SplitRule,
};
use insrec_testutil::fixture;

const RAW: OpenMicOptions = OpenMicOptions {
    features: FeatureSource::ReleaseX,
    scale: FeatureScale::Raw,
};

fn load(path: &Path) -> OpenMic {
    OpenMic::load(path, &RAW).unwrap_or_else(|e| panic!("load {}: {e}", path.display()))
}

fn json_features(path: &Path) -> Vec<f32> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = value["features"].as_array().expect("features is a list");
    assert_eq!(rows.len(), FRAMES_PER_CLIP, "{}", path.display());
    rows.iter()
        .flat_map(|row| {
            row.as_array()
                .expect("row is a list")
                .iter()
                .map(|v| v.as_f64().expect("number") as f32)
        })
        .collect()
}

#[test]
fn main_npz_has_the_release_dtypes_and_shapes() {
    let members = common::members(&common::root().join("openmic-2018.npz"));
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["X.npy", "Y_true.npy", "Y_mask.npy", "sample_key.npy"]
    );
    let little = Endian::Little;
    let expected = [
        (
            Dtype::Int {
                bytes: 8,
                signed: true,
                endian: little,
            },
            vec![40, 10, 128],
        ),
        (
            Dtype::Float {
                bytes: 8,
                endian: little,
            },
            vec![40, 20],
        ),
        (Dtype::Bool, vec![40, 20]),
        (Dtype::Object, vec![40]),
    ];
    for ((name, bytes), (dtype, shape)) in members.iter().zip(expected) {
        let npy = NpyReader::new(bytes.as_slice(), bytes.len() as u64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((npy.dtype, &npy.shape), (dtype, &shape), "{name}");
    }
}

#[test]
fn main_npz_rows_match_the_real_clip() {
    let data = load(&common::root());
    assert_eq!(data.len(), 40);
    assert_eq!(data.keys()[0], "000046_3840");
    assert!(
        data.keys().windows(2).all(|w| w[0] < w[1]),
        "rows are in ascending key order"
    );
    let json = json_features(&common::root().join("vggish/000/000046_3840.json"));
    let real = json_features(&fixture("openmic/real_excerpt/vggish/000/000046_3840.json"));
    assert_eq!(data.features(0), Some(json.as_slice()));
    assert_eq!(json, real);
    let observed: Vec<usize> = (0..NUM_CLASSES)
        .filter(|&j| data.y_mask(0).is_some_and(|m| m[j]))
        .collect();
    assert_eq!(
        observed,
        [
            Instrument::Clarinet.index(),
            Instrument::Flute.index(),
            Instrument::Trumpet.index()
        ]
    );
    assert_eq!(data.y_true(0).map(|y| y[4]), Some(0.17104999999999998));
    let (mut observed_pairs, mut unobserved_not_half) = (0, 0);
    for row in 0..data.len() {
        let (y, m) = (
            data.y_true(row).unwrap_or_default(),
            data.y_mask(row).unwrap_or_default(),
        );
        observed_pairs += m.iter().filter(|&&m| m).count();
        unobserved_not_half += y.iter().zip(m).filter(|&(&v, &m)| !m && v != 0.5).count();
    }
    assert_eq!((observed_pairs, unobserved_not_half), (92, 0));
}

#[test]
fn every_variant_decodes_to_the_same_arrays() {
    let main = load(&common::root());
    let variants = fixture("openmic/variants");
    for name in [
        "openmic-2018.numpy2_savez_compressed.npz",
        "openmic-2018.unicode_keys.npz",
        "openmic-2018.docstring_dtypes.npz",
    ] {
        let variant = load(&variants.join(name));
        assert_eq!(variant.keys(), main.keys(), "{name}");
        for row in 0..main.len() {
            assert_eq!(
                variant.features(row),
                main.features(row),
                "{name} X row {row}"
            );
            assert_eq!(
                variant.y_mask(row),
                main.y_mask(row),
                "{name} Y_mask row {row}"
            );
            let (a, b) = (
                variant.y_true(row).unwrap_or_default(),
                main.y_true(row).unwrap_or_default(),
            );
            // The docstring variant stores float32: compare at that precision.
            let same = a
                .iter()
                .zip(b)
                .all(|(x, y)| x == y || (*x as f32 == *y as f32 && name.contains("docstring")));
            assert!(same, "{name} Y_true row {row}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn pickled_key_lists_of_2500_agree() -> Result<()> {
    let read = |name: &str| -> Vec<String> {
        let path = fixture(format!("openmic/variants/{name}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let npy = NpyReader::new(bytes.as_slice(), bytes.len() as u64)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (npy.dtype, npy.shape.as_slice()),
            (Dtype::Object, [2500].as_slice()),
            "{name}"
        );
        npy.read_strings().unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let legacy = read("sample_key_2500.legacy_pickle.npy");
    let numpy2 = read("sample_key_2500.numpy2_pickle.npy");
    assert_eq!(legacy.len(), 2500);
    assert_eq!(legacy, numpy2);
    assert_eq!(
        legacy.iter().collect::<HashSet<_>>().len(),
        2500,
        "keys are unique"
    );
    for key in &legacy {
        let (track, start) = key
            .split_once('_')
            .unwrap_or_else(|| panic!("key {key:?} has no '_'"));
        let start_ms: u64 = start
            .parse()
            .unwrap_or_else(|_| panic!("key {key:?}: start is not a number"));
        assert!(
            track.len() == 6 && track.bytes().all(|b| b.is_ascii_digit()),
            "key {key:?}"
        );
        assert_eq!(
            start_ms % 960,
            0,
            "key {key:?}: starts are multiples of 960 ms"
        );
    }
    Ok(())
}

#[test]
fn partitions_are_disjoint_and_inside_the_npz() -> Result<()> {
    let data = load(&common::root());
    let train = data.partition(Partition::Train)?;
    let test = data.partition(Partition::Test)?;
    assert_eq!((train.len(), test.len()), (30, 10));
    let all: HashSet<usize> = train.iter().chain(&test).copied().collect();
    assert_eq!(all.len(), 40, "disjoint and covering every row");
    for file in ["split01_train.csv", "split01_test.csv"] {
        let text = std::fs::read_to_string(common::root().join("partitions").join(file))
            .unwrap_or_default();
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{file} ends with one newline"
        );
    }
    Ok(())
}

#[test]
fn official_split_holds_validation_out_of_train_only() -> Result<()> {
    let data = load(&common::root());
    let rule = SplitRule::Official {
        val_fraction: 0.1,
        seed: 2024,
        by_artist: false,
    };
    let splits = data.splits(rule)?;
    assert_eq!(splits.test, data.partition(Partition::Test)?);
    let mut train_side: Vec<usize> = splits.train.iter().chain(&splits.val).copied().collect();
    train_side.sort_unstable();
    assert_eq!(train_side, data.partition(Partition::Train)?);
    assert!(
        !splits.val.is_empty() && splits.val.len() < 10,
        "about 10 % of 30: {}",
        splits.val.len()
    );
    assert_eq!(data.splits(rule)?, splits, "deterministic for a seed");
    let other_seeds: HashSet<Vec<usize>> = (0..8)
        .map(|seed| {
            data.splits(SplitRule::Official {
                val_fraction: 0.1,
                seed,
                by_artist: false,
            })
            .map(|s| s.val)
        })
        .collect::<Result<_>>()?;
    assert!(
        other_seeds.len() > 1,
        "the seed changes the validation rows"
    );
    let seed = data.splits(SplitRule::RowOrder)?;
    assert_eq!(
        (seed.train.len(), seed.val.len(), seed.test.len()),
        (32, 4, 4)
    );
    Ok(())
}

#[test]
fn aggregated_labels_set_exactly_the_observed_pairs() {
    let data = load(&common::root());
    let path = common::root().join("openmic-2018-aggregated-labels.csv");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut set = HashSet::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let row = data
            .row(fields[0])
            .unwrap_or_else(|| panic!("{line}: key not in the npz"));
        let class: Instrument = fields[1].parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        let relevance: f64 = fields[2].parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            data.y_true(row).map(|y| y[class.index()]),
            Some(relevance),
            "{line}"
        );
        assert!(data.y_mask(row).is_some_and(|m| m[class.index()]), "{line}");
        assert!(set.insert((row, class)), "{line} sets a pair twice");
    }
    let observed: usize = (0..data.len())
        .map(|r| {
            data.y_mask(r)
                .unwrap_or_default()
                .iter()
                .filter(|&&m| m)
                .count()
        })
        .sum();
    assert_eq!(
        set.len(),
        observed,
        "every observed pair comes from one CSV row"
    );
}

#[test]
fn paths_follow_the_release_scheme() {
    let data = load(&common::root());
    let with_audio: Vec<&str> = data
        .keys()
        .iter()
        .filter(|k| data.audio_path(k).is_file())
        .map(String::as_str)
        .collect();
    assert_eq!(with_audio, ["000046_3840"]);
    for (row, key) in data.keys().iter().enumerate() {
        let json = data.vggish_path(key);
        assert!(
            json.ends_with(format!("vggish/{}/{key}.json", &key[..3])),
            "{}",
            json.display()
        );
        assert_eq!(
            data.features(row),
            Some(json_features(&json).as_slice()),
            "{key}"
        );
    }
}

#[test]
fn items_carry_unit_scaled_features_and_labels() -> Result<()> {
    let raw = load(&common::root());
    let data = OpenMic::load(common::root(), &OpenMicOptions::default())?;
    let item = data.get(0).unwrap_or_else(|| panic!("row 0"));
    let Input::Features(features) = item.input else {
        panic!("OpenMIC items are features")
    };
    let expected: Vec<f32> = raw
        .features(0)
        .unwrap_or_default()
        .iter()
        .map(|v| (f64::from(*v) / 255.0) as f32)
        .collect();
    assert_eq!(features, expected.as_slice());
    assert_eq!(features.len(), CLIP_FEATURES);
    assert_eq!(
        item.labels.seed_class(),
        Instrument::Clarinet.index(),
        "0.171 beats the two 0.0"
    );
    assert_eq!(
        item.labels.official_targets().iter().sum::<f32>(),
        0.0,
        "all three observed labels are negative"
    );
    assert!(data.get(40).is_none());
    Ok(())
}

#[test]
fn seed_features_replace_x() -> Result<()> {
    let dir = common::copy_release();
    std::fs::create_dir(dir.path().join("processed")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let values: Vec<f32> = (0..40 * CLIP_FEATURES).map(|i| (i % 256) as f32).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let npy = common::npy("<f4", &[40, FRAMES_PER_CLIP, EMBEDDING_DIM], &bytes);
    std::fs::write(dir.path().join(REPR_TIMES_FILE), npy).unwrap_or_else(|e| panic!("write: {e}"));
    let options = OpenMicOptions {
        features: FeatureSource::Npy(REPR_TIMES_FILE.into()),
        scale: FeatureScale::Raw,
    };
    let data = OpenMic::load(dir.path(), &options)?;
    assert_eq!(data.features(39), Some(&values[39 * CLIP_FEATURES..]));
    Ok(())
}

#[test]
fn validation_by_artist_keeps_each_artist_on_one_side() -> Result<()> {
    // The fixture's metadata gives every clip its own artist; rewrite it with six shared artists.
    let real = load(&common::root()).splits(SplitRule::Official {
        val_fraction: 0.1,
        seed: 3,
        by_artist: true,
    })?;
    assert!(!real.val.is_empty());
    let dir = common::copy_release();
    let data = load(dir.path());
    let artist = |row: usize| format!("{}", row % 6);
    let mut csv = String::from("sample_key,artist_id\n");
    for (row, key) in data.keys().iter().enumerate() {
        csv += &format!("{key},{}\n", artist(row));
    }
    std::fs::write(dir.path().join(insrec_data::METADATA_FILE), csv)
        .unwrap_or_else(|e| panic!("write: {e}"));
    for seed in 0..6 {
        let splits = data.splits(SplitRule::Official {
            val_fraction: 0.3,
            seed,
            by_artist: true,
        })?;
        assert!(
            !splits.val.is_empty() && !splits.train.is_empty(),
            "seed {seed}"
        );
        let val_artists: HashSet<String> = splits.val.iter().map(|&r| artist(r)).collect();
        assert!(
            splits
                .train
                .iter()
                .all(|&r| !val_artists.contains(&artist(r))),
            "seed {seed}: an artist on both sides"
        );
    }
    Ok(())
}
