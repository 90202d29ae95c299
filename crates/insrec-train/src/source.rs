//! Datasets named on the command line (`KIND:PATH`), loaded with embeddings, and their splits.
//!
//! - `openmic:PATH`: the OpenMIC-2018 release folder (or its npz); features are the release's
//!   `X` (or another `[N, 10, 128]` `.npy`), divided by 255 as the seed trains.
//! - `synth:PATH`: a corpus written by `insrec synth` (`labels.csv`, `clips/*.wav`); every label
//!   is known (mask all true).
//! - `folder:PATH`: audio files with a CSV of the 20 class columns ([`LabelledFolder`]).
//!
//! Corpus and folder clips are audio: they need an [`Encoder`] (embeddings cached by content) or
//! precomputed embeddings, an `.npy` `[N, 10, 128]` in the dataset's order (integer arrays, e.g.
//! from `insrec embed`, are divided by 255 like OpenMIC's `X`).
//!
//! Splits ([`SplitKind`]): `official` is OpenMIC's `split01` (its train side divided into train
//! and validation by key hash), the corpus's own train/valid/test, or for a folder a key-hash
//! split; `seed` is the seed's 81/9/10 row-order split for every kind.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use insrec_core::NUM_CLASSES;
use insrec_data::npy::NpyReader;
use insrec_data::{
    CLIP_FEATURES, Dataset, FeatureScale, FeatureSet, FeatureSource, LabelledFolder, Labels,
    OpenMic, OpenMicOptions, SplitRule, Splits,
};
use insrec_synth::{Split, SynthCorpus};
use serde::{Deserialize, Serialize};

use crate::embed::{EmbeddingCache, Encoder, embed_files};
use crate::error::{Result, TrainError};

/// Largest quantised feature value; integer features are divided by it (the seed's scaling).
const QUANTISED_MAX: f32 = 255.0;

/// Default share of a labelled folder held out for testing by the official (key-hash) split.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// Which kind of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    OpenMic,
    Synth,
    Folder,
}

/// `KIND:PATH` as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSpec {
    pub kind: DataKind,
    pub path: PathBuf,
}

impl FromStr for DataSpec {
    type Err = TrainError;

    fn from_str(spec: &str) -> Result<Self> {
        let bad = |reason: &str| TrainError::BadDataSpec {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (kind, path) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected KIND:PATH with KIND openmic, synth or folder"))?;
        let kind = match kind {
            "openmic" => DataKind::OpenMic,
            "synth" => DataKind::Synth,
            "folder" => DataKind::Folder,
            _ => return Err(bad("unknown kind; expected openmic, synth or folder")),
        };
        if path.is_empty() {
            return Err(bad("the path is empty"));
        }
        Ok(Self {
            kind,
            path: PathBuf::from(path),
        })
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DataKind::OpenMic => "openmic",
            DataKind::Synth => "synth",
            DataKind::Folder => "folder",
        };
        write!(f, "{kind}:{}", self.path.display())
    }
}

/// Which split protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// OpenMIC `split01`, the corpus's own split, or a key-hash split of a folder.
    #[default]
    Official,
    /// The seed's 81/9/10 split by row order.
    Seed,
}

/// How a dataset is split; stored with a trained model so that `eval` finds the same sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    pub split: SplitKind,
    /// Seed of the key hash (official OpenMIC validation, folders).
    pub seed: u64,
    /// Share of the training side held out for validation (official OpenMIC, folders).
    pub val_fraction: f64,
    /// Share held out for testing (folders).
    pub test_fraction: f64,
}

impl SplitPlan {
    pub fn new(split: SplitKind, seed: u64) -> Self {
        Self {
            split,
            seed,
            val_fraction: insrec_data::DEFAULT_VAL_FRACTION,
            test_fraction: DEFAULT_TEST_FRACTION,
        }
    }

    /// OpenMIC-2018's rule under this plan: `split01` with its train side divided by key hash, or
    /// row order.
    pub fn openmic_rule(&self) -> SplitRule {
        match self.split {
            SplitKind::Official => SplitRule::Official {
                val_fraction: self.val_fraction,
                seed: self.seed,
                by_artist: false,
            },
            SplitKind::Seed => SplitRule::RowOrder,
        }
    }

    /// Rows of a synthesized corpus whose clips lie on `sides`: the corpus's own split, or row
    /// order.
    pub fn corpus(&self, sides: &[Split]) -> Splits {
        match self.split {
            SplitKind::Official => {
                let side = |s: Split| (0..sides.len()).filter(|&i| sides[i] == s).collect();
                Splits {
                    train: side(Split::Train),
                    val: side(Split::Valid),
                    test: side(Split::Test),
                }
            }
            SplitKind::Seed => Splits::row_order(sides.len()),
        }
    }

    /// Rows of a dataset without partitions (a labelled folder) with these `keys`: a seeded key
    /// hash, or row order.
    pub fn keyed(&self, keys: &[&str], dataset: &str) -> Result<Splits> {
        Ok(match self.split {
            SplitKind::Official => Splits::by_key(
                keys.iter().copied(),
                self.val_fraction,
                self.test_fraction,
                self.seed,
                dataset,
            )?,
            SplitKind::Seed => Splits::row_order(keys.len()),
        })
    }
}

/// Where embeddings of audio clips come from.
#[derive(Default)]
pub struct FeatureOptions<'a> {
    /// Precomputed `[N, 10, 128]` embeddings in the dataset's order (any int or float dtype).
    pub embeddings: Option<PathBuf>,
    pub encoder: Option<&'a Encoder>,
    pub cache: Option<EmbeddingCache>,
    /// OpenMIC: read this `.npy` instead of the release's `X` (relative to the release folder).
    pub openmic_features: Option<PathBuf>,
    pub progress: bool,
}

/// A dataset with embeddings for every clip.
#[derive(Debug)]
pub struct LoadedData {
    pub spec: DataSpec,
    set: Loaded,
}

#[derive(Debug)]
enum Loaded {
    OpenMic(OpenMic),
    Corpus { set: FeatureSet, sides: Vec<Split> },
    Folder(FeatureSet),
}

impl LoadedData {
    /// Loads the labels first (so label errors come before any embedding work), then the
    /// embeddings.
    pub fn load(spec: &DataSpec, options: &FeatureOptions) -> Result<Self> {
        let set = match spec.kind {
            DataKind::OpenMic => {
                let features = options
                    .openmic_features
                    .clone()
                    .map_or(FeatureSource::ReleaseX, FeatureSource::Npy);
                let openmic = OpenMic::load(
                    &spec.path,
                    &OpenMicOptions {
                        features,
                        scale: FeatureScale::Unit,
                    },
                )?;
                Loaded::OpenMic(openmic)
            }
            DataKind::Synth => {
                let corpus =
                    SynthCorpus::open(&spec.path).map_err(|e| TrainError::BadDataSpec {
                        spec: spec.to_string(),
                        reason: e.to_string(),
                    })?;
                if corpus.is_empty() {
                    return Err(insrec_data::Error::Empty {
                        path: spec.path.join(insrec_synth::LABELS_CSV),
                        what: "the corpus has no clips",
                    }
                    .into());
                }
                let keys: Vec<String> = corpus.clips().iter().map(|c| c.id.clone()).collect();
                let labels: Vec<Labels> = corpus
                    .clips()
                    .iter()
                    .map(|c| Labels {
                        relevance: c.labels.map(|l| f32::from(u8::from(l))),
                        mask: [true; NUM_CLASSES],
                    })
                    .collect();
                let paths: Vec<PathBuf> = (0..corpus.len()).map(|i| corpus.wav_path(i)).collect();
                let features = audio_features(spec, &paths, options)?;
                Loaded::Corpus {
                    set: FeatureSet::new(spec.to_string(), keys, features, labels)?,
                    sides: corpus.clips().iter().map(|c| c.split).collect(),
                }
            }
            DataKind::Folder => {
                let folder = LabelledFolder::load(&spec.path)?;
                let features = audio_features(spec, folder.paths(), options)?;
                Loaded::Folder(folder.with_features(features)?)
            }
        };
        Ok(Self {
            spec: spec.clone(),
            set,
        })
    }

    /// All clips.
    pub fn dataset(&self) -> &dyn Dataset {
        match &self.set {
            Loaded::OpenMic(openmic) => openmic,
            Loaded::Corpus { set, .. } | Loaded::Folder(set) => set,
        }
    }

    /// Train/validation/test rows under `plan`; fails when the train or validation side is empty.
    pub fn splits(&self, plan: &SplitPlan) -> Result<Splits> {
        let dataset = self.dataset();
        let splits = match &self.set {
            Loaded::OpenMic(openmic) => openmic.splits(plan.openmic_rule())?,
            Loaded::Corpus { sides, .. } => plan.corpus(sides),
            Loaded::Folder(set) => {
                let keys: Vec<&str> = (0..set.len())
                    .filter_map(|i| set.get(i).map(|item| item.key))
                    .collect();
                plan.keyed(&keys, &set.name())?
            }
        };
        for (side, rows) in [("train", &splits.train), ("validation", &splits.val)] {
            if rows.is_empty() {
                return Err(TrainError::EmptySplit {
                    dataset: dataset.name(),
                    side,
                });
            }
        }
        Ok(splits)
    }
}

/// Embeddings of audio clips: precomputed, or encoded (and cached).
fn audio_features(
    spec: &DataSpec,
    paths: &[PathBuf],
    options: &FeatureOptions,
) -> Result<Vec<f32>> {
    if let Some(file) = &options.embeddings {
        return read_embeddings(file, paths.len());
    }
    let encoder = options.encoder.ok_or_else(|| TrainError::BadDataSpec {
        spec: spec.to_string(),
        reason: "its clips are audio: pass --encoder DIR (a compact model) to embed them, or \
                 --embeddings FILE.npy with precomputed [N, 10, 128] embeddings"
            .to_owned(),
    })?;
    embed_files(paths, encoder, options.cache.as_ref(), options.progress)
}

/// Reads a `[clips, 10, 128]` `.npy`. Integer arrays are quantised VGGish features (0..=255, as
/// OpenMIC's `X` and `insrec embed` write them) and are divided by 255 like OpenMIC's; float
/// arrays are used as stored.
pub fn read_embeddings(path: &Path, clips: usize) -> Result<Vec<f32>> {
    let bad = |reason: String| TrainError::BadEmbeddings {
        path: path.to_owned(),
        reason,
    };
    let file = File::open(path).map_err(TrainError::io(path))?;
    let len = file.metadata().map_err(TrainError::io(path))?.len();
    let npy = NpyReader::new(BufReader::new(file), len).map_err(|e| bad(e.to_string()))?;
    let expected = [
        clips,
        insrec_core::FRAMES_PER_CLIP,
        insrec_core::EMBEDDING_DIM,
    ];
    if npy.shape != expected {
        return Err(bad(format!(
            "shape {:?}, expected {expected:?} (one row per clip, in the dataset's order)",
            npy.shape
        )));
    }
    if !(npy.dtype.is_float() || npy.dtype.is_integer()) {
        return Err(bad(format!(
            "dtype {:?}, expected an integer or float dtype",
            npy.descr
        )));
    }
    let integer = npy.dtype.is_integer();
    let mut values = npy.read_f32().map_err(|e| bad(e.to_string()))?;
    debug_assert_eq!(values.len(), clips * CLIP_FEATURES);
    if integer {
        values.iter_mut().for_each(|v| *v /= QUANTISED_MAX);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_specs_parse_and_print() -> Result<()> {
        let spec: DataSpec = "synth:/data/corpus".parse()?;
        assert_eq!(spec.kind, DataKind::Synth);
        assert_eq!(spec.to_string(), "synth:/data/corpus");
        let spec: DataSpec = "openmic:C:/x".parse()?;
        assert_eq!(spec.path, PathBuf::from("C:/x"));
        for bad in ["openmic", "mp3:/x", "folder:"] {
            assert!(bad.parse::<DataSpec>().is_err(), "{bad}");
        }
        Ok(())
    }
}
