//! The corpus generator: renders clips in parallel, resumes an interrupted run, and writes the
//! label tables and the manifest once every clip is done.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use insrec_core::{Instrument, NUM_CLASSES};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compose::{PartSource, compose};
use crate::corpus::{
    CLIPS_DIR, ClipRecord, MANIFEST_JSON, PartRecord, Split, clip_id, read_json, write_json,
    write_tables, write_wav,
};
use crate::labels::{self, clip_labels, frame_labels};
use crate::mix::{MixSettings, mix};
use crate::render::{Window, render_score};
use crate::rng::ClipRng;
use crate::song::CLIP_SECONDS;
use crate::sources::{KitVoice, Library, SourcePaths};
use crate::theory::Mode;
use crate::{Result, SynthError};

/// Version of the corpus format, stored in the manifest.
pub const FORMAT: &str = "insrec-synth/1";
const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// The arguments that determine a corpus; the same arguments give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusArgs {
    pub sources: SourcePaths,
    pub clips: u64,
    pub seed: u64,
    /// Share of clips in the validation split (training sources).
    pub valid_fraction: f64,
    /// Share of clips in the test split (held-out sources only; 0 without them).
    pub test_fraction: f64,
}

/// Label rule parameters, stored in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRule {
    pub block_ms: f64,
    pub floor_db: f64,
    pub masked_db: f64,
    pub min_audible_blocks: usize,
    pub frame_hop_samples: usize,
    pub frame_samples: usize,
}

/// Counts of one split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitStats {
    pub clips: usize,
    /// Clips in which each class is labelled, in OpenMIC order.
    pub clips_per_class: Vec<(String, usize)>,
    /// Labelled frames per class.
    pub frames_per_class: Vec<(String, usize)>,
    pub mean_labels_per_clip: f64,
    pub clips_without_labels: usize,
    pub distractor_parts: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub args: CorpusArgs,
    pub label_rule: LabelRule,
    /// Finished clips when the tables were last written.
    pub finished_clips: usize,
    pub statistics: Vec<(Split, SplitStats)>,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &std::path::Path) -> Result<Self> {
        read_json(&dir.join(MANIFEST_JSON))
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub rendered: usize,
    /// Clips already finished by an earlier run.
    pub skipped: usize,
    /// Clips that failed, with the reason.
    pub failed: Vec<(u64, String)>,
    /// Wall time of the rendering.
    pub elapsed: Duration,
}

impl RunSummary {
    /// Seconds of audio rendered per wall-clock second.
    pub fn real_time_factor(&self) -> f64 {
        self.rendered as f64 * CLIP_SECONDS / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A corpus generator for one output folder.
#[derive(Debug)]
pub struct Generator {
    args: CorpusArgs,
    out: PathBuf,
    library: Library,
}

fn label_rule() -> LabelRule {
    LabelRule {
        block_ms: crate::render::BLOCK_S * 1000.0,
        floor_db: labels::FLOOR_DB,
        masked_db: labels::MASKED_DB,
        min_audible_blocks: labels::MIN_AUDIBLE_BLOCKS,
        frame_hop_samples: 15_360,
        frame_samples: 15_600,
    }
}

impl Generator {
    /// Loads the sources and prepares `out` (creating it, or checking that an existing corpus there
    /// was made with the same arguments).
    pub fn new(args: CorpusArgs, out: impl Into<PathBuf>) -> Result<Self> {
        if args.clips == 0 {
            return Err(SynthError::InvalidConfig("--clips must be at least 1"));
        }
        let fractions = args.valid_fraction + args.test_fraction;
        if !(0.0..=1.0).contains(&args.valid_fraction)
            || !(0.0..=1.0).contains(&args.test_fraction)
            || fractions >= 1.0
        {
            return Err(SynthError::InvalidConfig(
                "the validation and test fractions must be in [0, 1) and sum below 1",
            ));
        }
        let out = out.into();
        let manifest_path = out.join(MANIFEST_JSON);
        if manifest_path.exists() {
            let old: Manifest = read_json(&manifest_path)?;
            if old.format != FORMAT {
                return Err(SynthError::ArgumentsChanged {
                    path: out,
                    field: "format".into(),
                });
            }
            if let Some(field) = first_difference(&old.args, &args) {
                return Err(SynthError::ArgumentsChanged { path: out, field });
            }
        }
        let library = Library::load(&args.sources)?;
        let has_holdout = library.holdout.is_some();
        if has_holdout && args.test_fraction <= 0.0 {
            return Err(SynthError::InvalidConfig(
                "held-out sources need a test fraction above 0",
            ));
        }
        if !has_holdout && args.test_fraction > 0.0 {
            return Err(SynthError::InvalidConfig(
                "a test split needs --holdout-soundfont or --holdout-drumkit",
            ));
        }
        let clips_dir = out.join(CLIPS_DIR);
        std::fs::create_dir_all(&clips_dir).map_err(SynthError::io(&clips_dir))?;
        if !manifest_path.exists() {
            let manifest = Manifest {
                format: FORMAT.into(),
                args: args.clone(),
                label_rule: label_rule(),
                finished_clips: 0,
                statistics: Vec::new(),
            };
            write_json(&manifest_path, &manifest)?;
        }
        Ok(Self { args, out, library })
    }

    /// The loaded sources.
    pub fn library(&self) -> &Library {
        &self.library
    }

    fn record_path(&self, index: u64) -> PathBuf {
        self.out
            .join(CLIPS_DIR)
            .join(format!("{}.json", clip_id(index)))
    }

    /// Clips not finished yet.
    pub fn pending(&self) -> Vec<u64> {
        (0..self.args.clips)
            .filter(|&i| !self.record_path(i).exists())
            .collect()
    }

    /// Renders every pending clip with `jobs` threads, calling `progress` after each, then writes
    /// the tables and the manifest. A failing clip is reported and the others go on.
    pub fn run(&self, jobs: usize, progress: &(dyn Fn() + Sync)) -> Result<RunSummary> {
        let pending = self.pending();
        let skipped = (self.args.clips as usize).saturating_sub(pending.len());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
            .map_err(|_| SynthError::InvalidConfig("cannot start the worker threads"))?;
        let start = Instant::now();
        let results: Vec<(u64, Result<()>)> = pool.install(|| {
            pending
                .par_iter()
                .map(|&index| {
                    let result = self.render_and_write(index);
                    progress();
                    (index, result)
                })
                .collect()
        });
        let elapsed = start.elapsed();
        let mut failed = Vec::new();
        for (index, result) in results {
            if let Err(e) = result {
                tracing::error!("clip {}: {e}", clip_id(index));
                failed.push((index, e.to_string()));
            }
        }
        self.write_tables()?;
        Ok(RunSummary {
            rendered: pending.len() - failed.len(),
            skipped,
            failed,
            elapsed,
        })
    }

    fn render_and_write(&self, index: u64) -> Result<()> {
        let (record, audio) = self.render_clip(index)?;
        let dir = self.out.join(CLIPS_DIR);
        write_wav(&dir.join(format!("{}.wav", record.id)), &audio)?;
        write_json(&self.record_path(index), &record)
    }

    /// The split of a clip: drawn from its own random stream.
    fn split(&self, rng: &mut ClipRng) -> Split {
        let u = rng.unit();
        if self.library.holdout.is_some() && u < self.args.test_fraction {
            Split::Test
        } else if u < self.args.test_fraction + self.args.valid_fraction {
            Split::Valid
        } else {
            Split::Train
        }
    }

    /// Composes, renders and mixes one clip.
    pub fn render_clip(&self, index: u64) -> Result<(ClipRecord, Vec<f32>)> {
        let mut rng = ClipRng::for_clip(self.args.seed, index);
        let split = self.split(&mut rng);
        let palette = match (split, &self.library.holdout) {
            (Split::Test, Some(holdout)) => holdout,
            _ => &self.library.train,
        };
        let score = compose(palette, &self.library.kits, &mut rng.fork()).ok_or(
            SynthError::InvalidConfig("the sources offer no instrument to compose with"),
        )?;
        let roles: Vec<_> = score.parts.iter().map(|p| p.role).collect();
        let settings = MixSettings::draw(&roles, &mut rng.fork());
        let earliest = score
            .parts
            .iter()
            .flat_map(|p| {
                p.notes
                    .iter()
                    .map(|n| n.start_s)
                    .chain(p.hits.iter().map(|h| h.time_s))
            })
            .fold(score.song.start_s, f64::min);
        let window = Window::new(settings.render_rate_hz, earliest.max(-3.0));
        let mut stems = render_score(&score, &self.library, &window, &mut rng.fork())?;
        let mixed = mix(&mut stems, &settings, &window, &mut rng.fork())?;
        let stem_labels: Vec<_> = stems.iter().map(|s| s.label).collect();
        let frames = frame_labels(&stem_labels, &mixed.activity);
        let clip = clip_labels(&frames);

        let mut sources = BTreeSet::new();
        let parts = score
            .parts
            .iter()
            .map(|p| {
                let events = p.notes.iter().filter(|n| n.start_s >= 0.0).count()
                    + p.hits.iter().filter(|h| h.time_s >= 0.0).count();
                let span = |t: f64| t.is_finite().then_some((t * 1000.0).round() / 1000.0);
                let (instrument, source, preset, classes) = match p.source {
                    PartSource::Melodic(v) => {
                        let font = &self.library.fonts[v.font];
                        let classes = v
                            .timbre
                            .class()
                            .map(|c| vec![c.name().to_owned()])
                            .unwrap_or_default();
                        (
                            v.timbre.name.to_owned(),
                            font.name.clone(),
                            Some([v.timbre.bank, u16::from(v.timbre.program)]),
                            classes,
                        )
                    }
                    PartSource::Kit(k) => {
                        let kit = &self.library.kits[k];
                        let (source, preset) = match &kit.voice {
                            KitVoice::Font {
                                font,
                                bank,
                                program,
                            } => (
                                self.library.fonts[*font].name.clone(),
                                Some([*bank, u16::from(*program)]),
                            ),
                            KitVoice::Hydrogen(_) => (kit.name.clone(), None),
                        };
                        let classes: BTreeSet<Instrument> = p
                            .hits
                            .iter()
                            .filter_map(|h| kit.resolve(h.piece).and_then(|x| x.class()))
                            .collect();
                        (
                            kit.name.clone(),
                            source,
                            preset,
                            classes.into_iter().map(|c| c.name().to_owned()).collect(),
                        )
                    }
                };
                sources.insert(source.clone());
                PartRecord {
                    instrument,
                    source,
                    preset,
                    classes,
                    role: p.role.name().into(),
                    enter_s: span(p.enter_s),
                    exit_s: span(p.exit_s),
                    events,
                }
            })
            .collect();
        let key = format!(
            "{} {}",
            NOTE_NAMES[usize::from(score.song.key.tonic % 12)],
            match score.song.key.mode {
                Mode::Major => "major",
                Mode::Minor => "minor",
                Mode::Dorian => "dorian",
                Mode::Mixolydian => "mixolydian",
            }
        );
        let record = ClipRecord {
            id: clip_id(index),
            index,
            split,
            sources: sources.into_iter().collect(),
            labels: labels::classes(&clip)
                .iter()
                .map(|c| c.name().to_owned())
                .collect(),
            frame_labels: frames
                .iter()
                .map(|f| f.iter().map(|&x| u8::from(x)).collect())
                .collect(),
            style: score.song.style.name().into(),
            tempo_bpm: score.song.tempo_bpm,
            meter: score.song.meter.name().into(),
            key,
            parts,
            mix: settings,
        };
        Ok((record, mixed.audio))
    }

    /// Rewrites `labels.csv`, `frame_labels.npy` and the manifest from the finished clips.
    pub fn write_tables(&self) -> Result<()> {
        let mut records = Vec::new();
        for index in 0..self.args.clips {
            let path = self.record_path(index);
            if path.exists() {
                records.push(read_json::<ClipRecord>(&path)?);
            }
        }
        write_tables(&self.out, &records)?;
        let manifest = Manifest {
            format: FORMAT.into(),
            args: self.args.clone(),
            label_rule: label_rule(),
            finished_clips: records.len(),
            statistics: statistics(&records),
        };
        write_json(&self.out.join(MANIFEST_JSON), &manifest)?;
        // Temporary files of an interrupted earlier run.
        if let Ok(entries) = std::fs::read_dir(self.out.join(CLIPS_DIR)) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "tmp") {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        Ok(())
    }
}

/// Per-split label statistics.
pub fn statistics(records: &[ClipRecord]) -> Vec<(Split, SplitStats)> {
    Split::ALL
        .into_iter()
        .filter_map(|split| {
            let rs: Vec<&ClipRecord> = records.iter().filter(|r| r.split == split).collect();
            if rs.is_empty() {
                return None;
            }
            let mut clips = [0usize; NUM_CLASSES];
            let mut frames = [0usize; NUM_CLASSES];
            for r in &rs {
                for (c, on) in r.label_row().iter().enumerate() {
                    clips[c] += usize::from(*on);
                }
                for f in &r.frame_labels {
                    for (c, &on) in f.iter().enumerate().take(NUM_CLASSES) {
                        frames[c] += usize::from(on);
                    }
                }
            }
            let named = |counts: [usize; NUM_CLASSES]| {
                Instrument::ALL
                    .iter()
                    .map(|c| (c.name().to_owned(), counts[c.index()]))
                    .collect()
            };
            Some((
                split,
                SplitStats {
                    clips: rs.len(),
                    clips_per_class: named(clips),
                    frames_per_class: named(frames),
                    mean_labels_per_clip: clips.iter().sum::<usize>() as f64 / rs.len() as f64,
                    clips_without_labels: rs.iter().filter(|r| r.labels.is_empty()).count(),
                    distractor_parts: rs
                        .iter()
                        .flat_map(|r| &r.parts)
                        .filter(|p| p.classes.is_empty())
                        .count(),
                },
            ))
        })
        .collect()
}

/// The first argument that differs, by name. `--clips` may change: clip `i` depends only on the
/// seed and `i`, so a corpus can be extended.
fn first_difference(old: &CorpusArgs, new: &CorpusArgs) -> Option<String> {
    let fields = [
        (
            "--soundfont",
            old.sources.soundfonts != new.sources.soundfonts,
        ),
        ("--drumkit", old.sources.drumkits != new.sources.drumkits),
        (
            "--holdout-soundfont",
            old.sources.holdout_soundfonts != new.sources.holdout_soundfonts,
        ),
        (
            "--holdout-drumkit",
            old.sources.holdout_drumkits != new.sources.holdout_drumkits,
        ),
        ("--seed", old.seed != new.seed),
        ("--valid-fraction", old.valid_fraction != new.valid_fraction),
        ("--test-fraction", old.test_fraction != new.test_fraction),
    ];
    fields.into_iter().find(|f| f.1).map(|f| f.0.to_owned())
}
