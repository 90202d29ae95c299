//! What a run of the compact trainer learns from: labelled audio clips, split into train,
//! validation and test.
//!
//! - `synth:DIR`: the corpus's clips (16 kHz mono WAV) with frame labels; the corpus's own split
//!   (`official`) or the seed's row-order split.
//! - `folder:DIR`: the first 10 s of each audio file (zero-padded), with the CSV's clip labels
//!   (unknown labels masked); a key-hash split as for the classifiers.
//! - `openmic:DIR`: the release's `audio/` clips with `Y_true`/`Y_mask`; `split01` with its train
//!   side divided by key hash, as for the classifiers.

use std::path::PathBuf;
use std::sync::Arc;

use insrec_core::{FRAMES_PER_CLIP, NUM_CLASSES};
use insrec_data::{
    Dataset, FeatureScale, FeatureSource, LabelledFolder, Labels, OpenMic, OpenMicOptions, Splits,
};
use insrec_synth::{Split, SynthCorpus};

use super::error::{Result, TrainError};
use crate::source::{DataKind, DataSpec, SplitPlan};

/// Per-frame labels of one clip (every label known).
pub type FrameLabels = [[bool; NUM_CLASSES]; FRAMES_PER_CLIP];

/// Where the audio of a set of clips is.
#[derive(Clone)]
pub enum ClipAudio {
    /// Clips `indices` of a synthesized corpus.
    Corpus {
        corpus: Arc<SynthCorpus>,
        indices: Vec<usize>,
    },
    /// Audio files in any supported format; the first 10 s of each is used.
    Files(Vec<PathBuf>),
}

/// The labels of a set of clips.
#[derive(Clone)]
pub enum ClipLabels {
    /// Per 0.96 s frame (a synthesized corpus).
    Frames(Vec<FrameLabels>),
    /// Per clip, unknown labels masked (a labelled folder, OpenMIC-2018).
    Clips(Vec<Labels>),
}

/// Clips with their labels.
#[derive(Clone)]
pub struct ClipSet {
    pub audio: ClipAudio,
    pub labels: ClipLabels,
}

impl ClipSet {
    /// Number of clips.
    pub fn len(&self) -> usize {
        match &self.labels {
            ClipLabels::Frames(l) => l.len(),
            ClipLabels::Clips(l) => l.len(),
        }
    }

    /// Whether the set holds no clip.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `n` clips.
    pub fn truncate(&mut self, n: usize) {
        match &mut self.audio {
            ClipAudio::Corpus { indices, .. } => indices.truncate(n),
            ClipAudio::Files(paths) => paths.truncate(n),
        }
        match &mut self.labels {
            ClipLabels::Frames(l) => l.truncate(n),
            ClipLabels::Clips(l) => l.truncate(n),
        }
    }

    /// The clips `rows`, in that order.
    fn select(&self, rows: &[usize]) -> Self {
        Self {
            audio: match &self.audio {
                ClipAudio::Corpus { corpus, indices } => ClipAudio::Corpus {
                    corpus: corpus.clone(),
                    indices: pick(indices, rows),
                },
                ClipAudio::Files(paths) => ClipAudio::Files(pick(paths, rows)),
            },
            labels: match &self.labels {
                ClipLabels::Frames(frames) => ClipLabels::Frames(pick(frames, rows)),
                ClipLabels::Clips(clips) => ClipLabels::Clips(pick(clips, rows)),
            },
        }
    }

    /// The number of parts (instruments and distractors) of each clip of a synthesized corpus,
    /// from the clips' records; `None` for other datasets.
    pub fn part_counts(&self) -> Option<Result<Vec<usize>>> {
        match &self.audio {
            ClipAudio::Corpus { corpus, indices } => Some(
                indices
                    .iter()
                    .map(|&i| Ok(corpus.record(i)?.parts.len()))
                    .collect(),
            ),
            ClipAudio::Files(_) => None,
        }
    }

    /// Where clip `i`'s audio is.
    pub fn path(&self, i: usize) -> PathBuf {
        match &self.audio {
            ClipAudio::Corpus { corpus, indices } => corpus.wav_path(indices[i]),
            ClipAudio::Files(paths) => paths[i].clone(),
        }
    }
}

/// `values[r]` for each of `rows`.
fn pick<T: Clone>(values: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&r| values[r].clone()).collect()
}

/// A dataset's clips, split three ways.
pub struct AudioClips {
    /// `KIND:PATH` of the dataset.
    pub name: String,
    pub train: ClipSet,
    pub valid: ClipSet,
    /// May be empty.
    pub test: ClipSet,
    /// How the sides were chosen.
    pub split: SplitPlan,
}

impl AudioClips {
    /// Reads the labels of the dataset `spec` and splits it by `plan`. Fails when the train or
    /// validation side is empty, or (OpenMIC) when a clip's audio is missing.
    pub fn open(spec: &DataSpec, plan: &SplitPlan) -> Result<Self> {
        let (all, basis) = read(spec)?;
        let splits = basis.split(plan, &spec.to_string())?;
        let clips = Self {
            train: all.select(&splits.train),
            valid: all.select(&splits.val),
            test: all.select(&splits.test),
            name: spec.to_string(),
            split: plan.clone(),
        };
        if clips.train.is_empty() {
            return Err(TrainError::EmptySplit("train"));
        }
        if clips.valid.is_empty() {
            return Err(TrainError::EmptySplit("valid"));
        }
        Ok(clips)
    }

    /// Every clip of the dataset `spec`, unsplit (or, OpenMIC, when a clip's audio is missing, an
    /// error).
    pub fn all(spec: &DataSpec) -> Result<ClipSet> {
        Ok(read(spec)?.0)
    }
}

/// What a dataset's split into train, validation and test is computed from.
enum SplitBasis {
    /// The side a synthesized corpus gave each clip.
    Sides(Vec<Split>),
    /// A labelled folder's keys.
    Keys(Vec<String>),
    /// OpenMIC-2018's split files.
    OpenMic(Box<OpenMic>),
}

impl SplitBasis {
    fn split(&self, plan: &SplitPlan, dataset: &str) -> Result<Splits> {
        Ok(match self {
            Self::Sides(sides) => plan.corpus(sides),
            Self::Keys(keys) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                plan.keyed(&keys, dataset)?
            }
            Self::OpenMic(openmic) => openmic
                .splits(plan.openmic_rule())
                .map_err(crate::error::TrainError::from)?,
        })
    }
}

/// The clips of the dataset `spec`, and what their split is computed from.
fn read(spec: &DataSpec) -> Result<(ClipSet, SplitBasis)> {
    let name = spec.to_string();
    let bad = |reason: String| crate::error::TrainError::BadDataSpec {
        spec: name.clone(),
        reason,
    };
    let (basis, all) = match spec.kind {
        DataKind::Synth => {
            let corpus = Arc::new(SynthCorpus::open(&spec.path)?);
            let sides: Vec<Split> = corpus.clips().iter().map(|c| c.split).collect();
            let all = ClipSet {
                labels: ClipLabels::Frames(
                    (0..corpus.len()).map(|i| corpus.frame_labels(i)).collect(),
                ),
                audio: ClipAudio::Corpus {
                    indices: (0..corpus.len()).collect(),
                    corpus,
                },
            };
            (SplitBasis::Sides(sides), all)
        }
        DataKind::Folder => {
            let folder =
                LabelledFolder::load(&spec.path).map_err(crate::error::TrainError::from)?;
            let all = ClipSet {
                audio: ClipAudio::Files(folder.paths().to_vec()),
                labels: ClipLabels::Clips(folder.labels().to_vec()),
            };
            (SplitBasis::Keys(folder.keys().to_vec()), all)
        }
        DataKind::OpenMic => {
            let openmic = OpenMic::load(
                &spec.path,
                &OpenMicOptions {
                    features: FeatureSource::ReleaseX,
                    scale: FeatureScale::Unit,
                },
            )
            .map_err(crate::error::TrainError::from)?;
            let paths: Vec<PathBuf> = openmic
                .keys()
                .iter()
                .map(|k| openmic.audio_path(k))
                .collect();
            let missing: Vec<&PathBuf> = paths.iter().filter(|p| !p.is_file()).collect();
            if let Some(first) = missing.first() {
                return Err(bad(format!(
                    "{} of {} clips have no audio (first: {}); learning an encoder needs \
                         the release's audio/ folder",
                    missing.len(),
                    paths.len(),
                    first.display()
                ))
                .into());
            }
            let labels: Vec<Labels> = (0..openmic.len())
                .map(|r| {
                    openmic
                        .labels(r)
                        .ok_or_else(|| bad(format!("row {r} has no labels")))
                })
                .collect::<std::result::Result<_, _>>()?;
            let all = ClipSet {
                audio: ClipAudio::Files(paths),
                labels: ClipLabels::Clips(labels),
            };
            (SplitBasis::OpenMic(Box::new(openmic)), all)
        }
    };
    Ok((all, basis))
}
