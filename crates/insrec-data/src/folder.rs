//! A folder of the user's own recordings with a label CSV.
//!
//! ```text
//! my-recordings/
//!   labels.csv        path,accordion,banjo,...,voice   (header; any column order, extra columns ignored)
//!                     songs/a.wav,0,,1,...              (1 = present, 0 = absent, empty = unknown)
//!   songs/a.wav
//! ```
//!
//! The path column is named `path`, `file`, `filename` or `key`; paths are relative to the CSV's
//! folder. All 20 class columns are required (names as in `class-map.json`, case-insensitive, `-` or
//! space for `_`). A value may also be a relevance in [0, 1] (`>= 0.5` is positive).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use insrec_core::{Instrument, NUM_CLASSES};

use crate::dataset::{Dataset, FeatureSet, Input, Item};
use crate::error::{Error, Result};
use crate::labels::Labels;

/// Label file looked for when a folder is given.
pub const LABELS_FILE: &str = "labels.csv";
/// Names accepted for the path column.
const PATH_COLUMNS: [&str; 4] = ["path", "file", "filename", "key"];
/// Audio extensions reported when a file in the folder has no label row.
const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "flac", "mp3", "ogg", "oga", "opus", "m4a", "aac", "aiff",
];

/// Labelled audio files.
#[derive(Debug, Clone)]
pub struct LabelledFolder {
    csv: PathBuf,
    keys: Vec<String>,
    paths: Vec<PathBuf>,
    labels: Vec<Labels>,
}

impl LabelledFolder {
    /// Loads `<folder>/labels.csv`, or the given CSV file. Every listed audio file must exist.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let csv_path = if path.is_dir() {
            path.join(LABELS_FILE)
        } else {
            path.to_owned()
        };
        let base = csv_path.parent().map_or_else(PathBuf::new, Path::to_owned);
        let csv_error = |source| Error::Csv {
            path: csv_path.clone(),
            source,
        };
        let file = std::fs::File::open(&csv_path).map_err(|source| Error::Io {
            path: csv_path.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file);
        let columns = Columns::from_header(reader.headers().map_err(csv_error)?, &csv_path)?;
        let mut folder = Self {
            csv: csv_path.clone(),
            keys: Vec::new(),
            paths: Vec::new(),
            labels: Vec::new(),
        };
        let mut seen = HashSet::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, csv::Position::line);
            let key = record.get(columns.path).unwrap_or_default().to_owned();
            if key.is_empty() {
                continue;
            }
            if !seen.insert(key.clone()) {
                return Err(Error::DuplicateClip {
                    path: csv_path,
                    line,
                    key,
                });
            }
            let audio = base.join(&key);
            if !audio.is_file() {
                return Err(Error::MissingAudio {
                    path: csv_path,
                    line,
                    audio,
                });
            }
            folder
                .labels
                .push(columns.labels(&record, &csv_path, line)?);
            folder.keys.push(key);
            folder.paths.push(audio);
        }
        if folder.keys.is_empty() {
            return Err(Error::Empty {
                path: csv_path,
                what: "the CSV lists no audio files",
            });
        }
        folder.report_unlabelled(&base);
        tracing::info!(
            clips = folder.keys.len(),
            "loaded labelled folder {}",
            folder.csv.display()
        );
        Ok(folder)
    }

    /// The label CSV.
    pub fn csv_path(&self) -> &Path {
        &self.csv
    }

    /// Keys (the path column as written), in CSV order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Resolved audio paths, in CSV order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Labels, in CSV order.
    pub fn labels(&self) -> &[Labels] {
        &self.labels
    }

    /// Pairs the clips with their computed features (`[N, 10, 128]` row-major, CSV order).
    pub fn with_features(&self, features: Vec<f32>) -> Result<FeatureSet> {
        FeatureSet::new(
            self.name(),
            self.keys.clone(),
            features,
            self.labels.clone(),
        )
    }

    /// Logs audio files under the folder that have no label row.
    fn report_unlabelled(&self, base: &Path) {
        let listed: HashSet<&Path> = self.paths.iter().map(PathBuf::as_path).collect();
        let mut unlabelled = Vec::new();
        list_audio(base, &mut unlabelled);
        unlabelled.retain(|p| !listed.contains(p.as_path()));
        if let Some(first) = unlabelled.first() {
            tracing::warn!(
                count = unlabelled.len(),
                "audio files without a label row in {}, e.g. {}",
                self.csv.display(),
                first.display()
            );
        }
    }
}

impl Dataset for LabelledFolder {
    fn name(&self) -> String {
        self.csv.display().to_string()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn get(&self, index: usize) -> Option<Item<'_>> {
        Some(Item {
            key: self.keys.get(index)?,
            input: Input::Audio(self.paths.get(index)?),
            labels: *self.labels.get(index)?,
        })
    }
}

/// Column positions of the CSV.
struct Columns {
    path: usize,
    classes: [usize; NUM_CLASSES],
}

impl Columns {
    fn from_header(header: &csv::StringRecord, csv_path: &Path) -> Result<Self> {
        let mut path = None;
        let mut classes = [None; NUM_CLASSES];
        for (at, name) in header.iter().enumerate() {
            if PATH_COLUMNS.contains(&name.to_ascii_lowercase().as_str()) && path.is_none() {
                path = Some(at);
            } else if let Ok(instrument) = name.parse::<Instrument>() {
                if classes[instrument.index()].replace(at).is_some() {
                    return Err(Error::DuplicateColumn {
                        path: csv_path.to_owned(),
                        column: name.to_owned(),
                    });
                }
            } else {
                tracing::debug!("ignoring column {name:?} of {}", csv_path.display());
            }
        }
        let path = path.ok_or_else(|| Error::MissingPathColumn {
            path: csv_path.to_owned(),
        })?;
        let missing: Vec<&'static str> = Instrument::ALL
            .iter()
            .filter(|i| classes[i.index()].is_none())
            .map(|i| i.name())
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingClassColumns {
                path: csv_path.to_owned(),
                missing,
            });
        }
        Ok(Self {
            path,
            classes: classes.map(|c| c.unwrap_or_default()),
        })
    }

    fn labels(&self, record: &csv::StringRecord, csv_path: &Path, line: u64) -> Result<Labels> {
        let mut labels = Labels {
            relevance: [0.0; NUM_CLASSES],
            mask: [false; NUM_CLASSES],
        };
        for (instrument, &at) in Instrument::ALL.iter().zip(&self.classes) {
            let value = record.get(at).unwrap_or_default();
            if value.is_empty() {
                continue;
            }
            let relevance = value
                .parse::<f32>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r));
            let relevance = relevance.ok_or_else(|| Error::BadLabel {
                path: csv_path.to_owned(),
                line,
                column: instrument.name(),
                value: value.to_owned(),
            })?;
            labels.relevance[instrument.index()] = relevance;
            labels.mask[instrument.index()] = true;
        }
        Ok(labels)
    }
}

/// Audio files under `dir`, recursively (symlinks are not followed).
fn list_audio(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_audio(&path, out),
            Ok(t) if t.is_file() && is_audio(&path) => out.push(path),
            _ => {}
        }
    }
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
