//! OpenMIC-2018 in its release layout (`shared/reference/openmic-format.md`).
//!
//! ```text
//! openmic-2018/
//!   openmic-2018.npz               X [N,10,128] int, Y_true [N,20] float, Y_mask [N,20] bool, sample_key [N]
//!   class-map.json                 checked against the 20 classes when present
//!   partitions/split01_train.csv   one key per line (needed for the official split only)
//!   partitions/split01_test.csv
//!   audio/<key[0:3]>/<key>.ogg
//!   processed/x_repr_times.npy     the seed's re-extracted features (optional, [N,10,128])
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, Instrument, NUM_CLASSES};

use crate::dataset::{CLIP_FEATURES, Dataset, Input, Item, row_span};
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::npy::Dtype;
use crate::npz::{Npz, open_npy};
use crate::split::{SplitRule, Splits, hold_out};

/// File name of the main archive inside the release folder.
pub const NPZ_FILE: &str = "openmic-2018.npz";
/// Class map inside the release folder.
pub const CLASS_MAP_FILE: &str = "class-map.json";
/// Release metadata with the artist of each clip (`sample_key`, `artist_id` columns).
pub const METADATA_FILE: &str = "openmic-2018-metadata.csv";
/// Where the seed (PyOmniTS) keeps its re-extracted features, relative to the release folder.
pub const REPR_TIMES_FILE: &str = "processed/x_repr_times.npy";
/// Largest feature value: VGGish features are quantised to 0..=255.
const QUANTISED_MAX: f64 = 255.0;

/// Which features fill the `[N, 10, 128]` inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FeatureSource {
    /// The release's `X` (quantised PCA'd VGGish).
    #[default]
    ReleaseX,
    /// A separate `.npy` of shape `[N, 10, 128]` in npz row order, e.g. the seed's [`REPR_TIMES_FILE`];
    /// a relative path is resolved against the release folder.
    Npy(PathBuf),
}

/// How stored feature values (0..=255) are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureScale {
    /// Divided by 255 into [0, 1], as the seed trains (`x_repr_times / 255.0`).
    #[default]
    Unit,
    /// As stored.
    Raw,
}

/// Options of [`OpenMic::load`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenMicOptions {
    pub features: FeatureSource,
    pub scale: FeatureScale,
}

/// Which official partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Train,
    Test,
}

impl Partition {
    /// Paths tried, relative to the release folder (the repo README's names are stale aliases).
    fn candidates(self) -> [&'static str; 2] {
        match self {
            Self::Train => ["partitions/split01_train.csv", "partitions/train01.txt"],
            Self::Test => ["partitions/split01_test.csv", "partitions/test01.txt"],
        }
    }
}

/// The OpenMIC-2018 clips, in npz row order (ascending sample key).
#[derive(Debug, Clone)]
pub struct OpenMic {
    root: PathBuf,
    npz: PathBuf,
    keys: Vec<String>,
    rows: HashMap<String, usize>,
    features: Vec<f32>,
    y_true: Vec<f64>,
    y_mask: Vec<bool>,
}

impl OpenMic {
    /// Loads the release folder (or the `.npz` path inside it).
    pub fn load(path: impl AsRef<Path>, options: &OpenMicOptions) -> Result<Self> {
        let path = path.as_ref();
        let (root, npz_path) = if path.is_dir() {
            (path.to_owned(), path.join(NPZ_FILE))
        } else {
            (
                path.parent().map_or_else(PathBuf::new, Path::to_owned),
                path.to_owned(),
            )
        };
        let mut npz = Npz::open(&npz_path)?;
        let (keys, n) = npz
            .member("sample_key")?
            .require_dtype(
                |d| matches!(d, Dtype::Object | Dtype::Unicode { .. }),
                "object (pickled str) or <U",
            )?
            .require_vector()?;
        let keys = keys.read_strings()?;
        if n == 0 {
            return Err(Error::Empty {
                path: npz_path,
                what: "sample_key has no rows",
            });
        }
        let mut rows = HashMap::with_capacity(n);
        for (row, key) in keys.iter().enumerate() {
            if rows.insert(key.clone(), row).is_some() {
                return Err(Error::DuplicateKey {
                    path: npz_path,
                    key: key.clone(),
                });
            }
        }
        let y_true = npz
            .member("Y_true")?
            .require_dtype(Dtype::is_float, "float64 or float32")?
            .require_shape(&[n, NUM_CLASSES])?
            .read_f64()?;
        let y_mask = npz
            .member("Y_mask")?
            .require_dtype(|d| d == Dtype::Bool, "bool")?
            .require_shape(&[n, NUM_CLASSES])?
            .read_bool()?;
        let feature_shape = [n, FRAMES_PER_CLIP, EMBEDDING_DIM];
        let mut features = match &options.features {
            FeatureSource::ReleaseX => npz
                .member("X")?
                .require_dtype(Dtype::is_integer, "an integer dtype (int64 in the release)")?
                .require_shape(&feature_shape)?
                .read_f32()?,
            FeatureSource::Npy(file) => open_npy(&root.join(file))?
                .require_dtype(
                    |d| d.is_integer() || d.is_float(),
                    "an integer or float dtype",
                )?
                .require_shape(&feature_shape)?
                .read_f32()?,
        };
        if options.scale == FeatureScale::Unit {
            features
                .iter_mut()
                .for_each(|v| *v = (f64::from(*v) / QUANTISED_MAX) as f32);
        }
        let data = Self {
            root,
            npz: npz_path,
            keys,
            rows,
            features,
            y_true,
            y_mask,
        };
        data.check_relevance()?;
        data.check_class_map()?;
        tracing::info!(
            clips = n,
            observed = data.y_mask.iter().filter(|&&m| m).count(),
            "loaded OpenMIC from {}",
            data.npz.display()
        );
        Ok(data)
    }

    /// Sample keys in row order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The row of a sample key.
    pub fn row(&self, key: &str) -> Option<usize> {
        self.rows.get(key).copied()
    }

    /// `Y_true[row]` as stored (float64; 0.5 where unobserved).
    pub fn y_true(&self, row: usize) -> Option<&[f64]> {
        self.y_true.get(row_span(row, NUM_CLASSES)?)
    }

    /// `Y_mask[row]`.
    pub fn y_mask(&self, row: usize) -> Option<&[bool]> {
        self.y_mask.get(row_span(row, NUM_CLASSES)?)
    }

    /// The labels of a row.
    pub fn labels(&self, row: usize) -> Option<Labels> {
        let (y_true, y_mask) = (self.y_true(row)?, self.y_mask(row)?);
        Some(Labels {
            relevance: std::array::from_fn(|j| y_true[j] as f32),
            mask: std::array::from_fn(|j| y_mask[j]),
        })
    }

    /// Scaled features of a row, `[10, 128]` row-major.
    pub fn features(&self, row: usize) -> Option<&[f32]> {
        self.features.get(row_span(row, CLIP_FEATURES)?)
    }

    /// `audio/<key[0:3]>/<key>.ogg` (may not exist: the release ships audio separately from labels).
    pub fn audio_path(&self, key: &str) -> PathBuf {
        self.root
            .join("audio")
            .join(key.get(..3).unwrap_or(key))
            .join(format!("{key}.ogg"))
    }

    /// `vggish/<key[0:3]>/<key>.json`, the per-clip JSON copy of `X`.
    pub fn vggish_path(&self, key: &str) -> PathBuf {
        self.root
            .join("vggish")
            .join(key.get(..3).unwrap_or(key))
            .join(format!("{key}.json"))
    }

    /// Rows of an official partition, in row order. Every listed key must be in the npz.
    pub fn partition(&self, partition: Partition) -> Result<Vec<usize>> {
        let [path, alias] = partition.candidates().map(|p| self.root.join(p));
        let path = if !path.exists() && alias.exists() {
            alias
        } else {
            path
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let keys: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        let unknown: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !self.rows.contains_key(*k))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownKeys {
                path,
                npz: self.npz.clone(),
                count: unknown.len(),
                examples: unknown.iter().take(5).map(|k| (*k).to_owned()).collect(),
            });
        }
        if keys.is_empty() {
            return Err(Error::Empty {
                path,
                what: "the partition lists no keys",
            });
        }
        let mut rows: Vec<usize> = keys.iter().filter_map(|k| self.row(k)).collect();
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }

    /// Train/validation/test rows under a split rule.
    ///
    /// [`SplitRule::Official`]: test = `split01_test`; `split01_train` is divided into train and
    /// validation by [`crate::split::key_unit`] of the key (or of `artist <artist_id>` with
    /// `by_artist`; clips without a metadata row fall back to their key). Keys in neither file are
    /// left out.
    /// [`SplitRule::RowOrder`]: the seed's [`Splits::row_order`].
    pub fn splits(&self, rule: SplitRule) -> Result<Splits> {
        let SplitRule::Official {
            val_fraction,
            seed,
            by_artist,
        } = rule
        else {
            return Ok(Splits::row_order(self.len()));
        };
        let train = self.partition(Partition::Train)?;
        let test = self.partition(Partition::Test)?;
        let test_set: HashSet<usize> = test.iter().copied().collect();
        let overlap: Vec<String> = train
            .iter()
            .filter(|r| test_set.contains(r))
            .map(|&r| self.keys[r].clone())
            .collect();
        if !overlap.is_empty() {
            let [train_path, test_path] =
                [Partition::Train, Partition::Test].map(|p| self.root.join(p.candidates()[0]));
            return Err(Error::OverlappingPartitions {
                path: train_path,
                other: test_path,
                count: overlap.len(),
                examples: overlap.into_iter().take(5).collect(),
            });
        }
        let left_out = self.len() - train.len() - test.len();
        if left_out > 0 {
            tracing::warn!(
                left_out,
                "clips of {} are in neither official partition",
                self.npz.display()
            );
        }
        let artists = if by_artist {
            self.artists()?
        } else {
            HashMap::new()
        };
        let groups: Vec<(usize, String)> = train
            .iter()
            .map(|&r| {
                let key = &self.keys[r];
                (
                    r,
                    artists
                        .get(key)
                        .map_or_else(|| key.clone(), |artist| format!("artist {artist}")),
                )
            })
            .collect();
        let unknown = groups
            .iter()
            .filter(|(r, _)| !artists.contains_key(&self.keys[*r]))
            .count();
        if by_artist && unknown > 0 {
            tracing::warn!(
                unknown,
                "train clips without an artist in {METADATA_FILE}; they are split by key"
            );
        }
        let candidates: Vec<(usize, &str)> = groups.iter().map(|(r, g)| (*r, g.as_str())).collect();
        let (train, val) = hold_out(&candidates, val_fraction, seed, &self.name())?;
        Ok(Splits { train, val, test })
    }

    /// `sample_key` → `artist_id` from the metadata CSV.
    fn artists(&self) -> Result<HashMap<String, String>> {
        let path = self.root.join(METADATA_FILE);
        let csv_error = |source| Error::Csv {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut reader = csv::Reader::from_reader(file);
        let headers = reader.headers().map_err(csv_error)?.clone();
        let column = |name: &'static str| {
            let at = headers.iter().position(|h| h == name);
            at.ok_or_else(|| Error::MissingColumn {
                path: path.clone(),
                column: name,
            })
        };
        let (key_at, artist_at) = (column("sample_key")?, column("artist_id")?);
        let mut artists = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            if let (Some(key), Some(artist)) = (record.get(key_at), record.get(artist_at))
                && !artist.is_empty()
            {
                artists.insert(key.to_owned(), artist.to_owned());
            }
        }
        Ok(artists)
    }

    /// Observed relevances must be finite and in [0, 1].
    fn check_relevance(&self) -> Result<()> {
        let bad = self
            .y_true
            .iter()
            .zip(&self.y_mask)
            .position(|(&v, &m)| m && !(0.0..=1.0).contains(&v));
        let Some(at) = bad else { return Ok(()) };
        let (row, class) = (at / NUM_CLASSES, at % NUM_CLASSES);
        Err(Error::BadRelevance {
            path: self.npz.clone(),
            key: self.keys[row].clone(),
            row,
            class: Instrument::ALL[class].name(),
            value: self.y_true[at],
        })
    }

    /// `class-map.json`, when present, must map exactly the 20 names to their OpenMIC indices.
    fn check_class_map(&self) -> Result<()> {
        let path = self.root.join(CLASS_MAP_FILE);
        if !path.exists() {
            tracing::debug!("no {} to check", path.display());
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let map: HashMap<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|source| Error::Json {
                path: path.clone(),
                source,
            })?;
        for instrument in Instrument::ALL {
            let found = map
                .get(instrument.name())
                .and_then(serde_json::Value::as_i64);
            if found != i64::try_from(instrument.index()).ok() {
                return Err(Error::ClassMapMismatch {
                    path,
                    class: instrument.name(),
                    found,
                    expected: instrument.index(),
                });
            }
        }
        let mut extra: Vec<String> = map
            .into_keys()
            .filter(|k| k.parse::<Instrument>().map_or(true, |i| i.name() != k))
            .collect();
        if !extra.is_empty() {
            extra.sort();
            return Err(Error::ClassMapExtra { path, names: extra });
        }
        Ok(())
    }
}

impl Dataset for OpenMic {
    fn name(&self) -> String {
        self.npz.display().to_string()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, index: usize) -> Option<Item<'_>> {
        Some(Item {
            key: self.keys.get(index)?,
            input: Input::Features(self.features(index)?),
            labels: self.labels(index)?,
        })
    }
}
