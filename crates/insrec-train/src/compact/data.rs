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

use insrec_core::{FRAMES_PER_CLIP, Instrument, NUM_CLASSES};
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

    /// Which presets play in each frame of each clip of a synthesized corpus (from the clips'
    /// records), and with `roles` which parts' roles; `None` for other datasets.
    pub fn preset_labels(&self, roles: bool) -> Option<Result<PresetLabels>> {
        match &self.audio {
            ClipAudio::Corpus { corpus, indices } => {
                Some(PresetLabels::read(corpus, indices, roles))
            }
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

/// Which SoundFont presets (drum kits aside) play in each frame of a corpus's clips: a target
/// finer than the 20 classes (an electric and an acoustic piano, a harpsichord that is no piano).
#[derive(Debug, Clone, PartialEq)]
pub struct PresetLabels {
    /// Preset names (e.g. `Electric Piano 1`), sorted; the same name in two SoundFonts is one preset.
    /// With roles, also `role:` and each part role (`role:melody`, `role:pad`, …).
    pub names: Vec<String>,
    /// Per clip: (index into `names`, frames it plays in as a 10-bit mask).
    pub clips: Vec<Vec<(usize, u16)>>,
    /// Per class (OpenMIC order), the indices into `names` of the presets labelled that class.
    pub members: Vec<Vec<usize>>,
}

/// Least overlap of a part's span with a frame for the part to count in it, s.
const MIN_SPAN_OVERLAP_S: f64 = 0.2;

impl PresetLabels {
    fn read(corpus: &SynthCorpus, indices: &[usize], roles: bool) -> Result<Self> {
        let records: Vec<_> = indices
            .iter()
            .map(|&i| corpus.record(i))
            .collect::<std::result::Result<_, _>>()?;
        let mut names: Vec<String> = records
            .iter()
            .flat_map(|r| r.parts.iter().flat_map(|p| part_targets(p, roles)))
            .collect();
        names.sort();
        names.dedup();
        let mut members = vec![Vec::new(); NUM_CLASSES];
        for part in records.iter().flat_map(|r| &r.parts) {
            if let Ok(preset) = names.binary_search(&part.instrument) {
                for class in part_classes(part) {
                    members[class.index()].push(preset);
                }
            }
        }
        for presets in &mut members {
            presets.sort_unstable();
            presets.dedup();
        }
        let clips = records
            .iter()
            .map(|record| {
                let frames = record.frames();
                record
                    .parts
                    .iter()
                    .flat_map(|part| {
                        let mask = frame_mask(part, frames.as_ref());
                        let targets = if mask == 0 {
                            Vec::new()
                        } else {
                            part_targets(part, roles)
                        };
                        targets
                            .into_iter()
                            .filter_map(|name| names.binary_search(&name).ok())
                            .map(move |target| (target, mask))
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            names,
            clips,
            members,
        })
    }

    /// Targets `[10, names.len()]` of a training item made of `clips` (one, or two mixed: the
    /// presets of either), row-major, appended to `out`.
    pub fn extend_targets(&self, clips: impl IntoIterator<Item = usize>, out: &mut Vec<f32>) {
        let k = self.names.len();
        let start = out.len();
        out.resize(start + FRAMES_PER_CLIP * k, 0.0);
        for clip in clips {
            for &(preset, mask) in &self.clips[clip] {
                for f in (0..FRAMES_PER_CLIP).filter(|f| mask & (1 << f) != 0) {
                    out[start + f * k + preset] = 1.0;
                }
            }
        }
    }
}

/// The target names of a part: its preset and, with `roles`, `role:` and its role; none for a
/// drum kit.
fn part_targets(part: &insrec_synth::PartRecord, roles: bool) -> Vec<String> {
    if part_classes(part).any(|c| matches!(c, Instrument::Drums | Instrument::Cymbals)) {
        return Vec::new();
    }
    let mut names = vec![part.instrument.clone()];
    if roles {
        names.push(format!("role:{}", part.role));
    }
    names
}

/// The frames a part plays in: its span covers at least [`MIN_SPAN_OVERLAP_S`] of the frame and,
/// for a labelled part, one of its classes is labelled there (so a buried part is left out).
fn frame_mask(part: &insrec_synth::PartRecord, frames: Option<&FrameLabels>) -> u16 {
    let enter = part.enter_s.unwrap_or(0.0);
    let exit = part.exit_s.unwrap_or(f64::INFINITY);
    let classes: Vec<usize> = part_classes(part).map(Instrument::index).collect();
    let mut mask = 0u16;
    for f in 0..FRAMES_PER_CLIP {
        let start = f as f64 * 0.96;
        let overlap = exit.min(start + 0.975) - enter.max(start);
        let audible = classes.is_empty()
            || frames.is_some_and(|labels| classes.iter().any(|&c| labels[f][c]));
        if overlap >= MIN_SPAN_OVERLAP_S && audible {
            mask |= 1 << f;
        }
    }
    mask
}

/// The classes a part can be labelled with.
fn part_classes(part: &insrec_synth::PartRecord) -> impl Iterator<Item = Instrument> + '_ {
    part.classes.iter().filter_map(|c| c.parse().ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn part(
        classes: &[&str],
        enter_s: Option<f64>,
        exit_s: Option<f64>,
    ) -> insrec_synth::PartRecord {
        insrec_synth::PartRecord {
            instrument: "Electric Piano 1".into(),
            source: "FluidR3_GM".into(),
            preset: Some([0, 4]),
            classes: classes.iter().map(|c| (*c).to_owned()).collect(),
            role: "comp".into(),
            enter_s,
            exit_s,
            events: 10,
        }
    }

    #[test]
    fn a_preset_plays_where_its_span_covers_the_frame_and_its_class_is_labelled() {
        let mut frames = [[false; NUM_CLASSES]; FRAMES_PER_CLIP];
        let piano = Instrument::Piano.index();
        for f in [2, 3, 4, 8] {
            frames[f][piano] = true;
        }
        // 2.5–4.1 s: 0.395 s of frame 2 ([1.92, 2.895) s), 0.26 s of frame 4; frame 8 is
        // labelled (another piano) but outside the span.
        let labelled = part(&["piano"], Some(2.5), Some(4.1));
        assert_eq!(frame_mask(&labelled, Some(&frames)), 0b1_1100);
        // A distractor has no class to check: its span alone counts; 0.115 s of frame 4 is too little.
        let distractor = part(&[], Some(4.7), None);
        assert_eq!(frame_mask(&distractor, None), 0b11_1110_0000);
        assert_eq!(frame_mask(&labelled, None), 0, "no labels: never audible");
    }

    #[test]
    fn a_part_targets_its_preset_and_with_roles_its_role_and_a_kit_nothing() {
        let piano = part(&["piano"], None, None);
        assert_eq!(part_targets(&piano, false), ["Electric Piano 1"]);
        assert_eq!(
            part_targets(&piano, true),
            ["Electric Piano 1", "role:comp"]
        );
        let kit = part(&["drums", "cymbals"], None, None);
        assert!(part_targets(&kit, true).is_empty());
    }

    #[test]
    fn preset_targets_are_one_hot_rows_per_frame() {
        let labels = PresetLabels {
            names: vec!["Banjo".into(), "Electric Piano 1".into()],
            clips: vec![vec![(1, 0b101)], vec![]],
            members: vec![Vec::new(); NUM_CLASSES],
        };
        let mut out = vec![7.0];
        labels.extend_targets([0], &mut out);
        labels.extend_targets([1], &mut out);
        assert_eq!(out.len(), 1 + 2 * FRAMES_PER_CLIP * 2);
        assert_eq!(&out[1..7], &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(out[1..].iter().sum::<f32>(), 2.0);
        // A mix of clip 1 (no preset) and clip 0 has clip 0's presets.
        let mut mixed = Vec::new();
        labels.extend_targets([1, 0], &mut mixed);
        assert_eq!(mixed, out[1..1 + FRAMES_PER_CLIP * 2]);
    }
}
