//! The corpus on disk, and a reader for training code.
//!
//! ```text
//! <out>/manifest.json        arguments, sources, label rule, statistics
//! <out>/labels.csv           clip_id,split,soundfont,<20 OpenMIC classes as 0/1>
//! <out>/frame_labels.npy     uint8 [n_clips, 10, 20]; row i ↔ line i of labels.csv
//! <out>/clips/<id>.wav       10 s, 16 kHz mono, 16-bit PCM
//! <out>/clips/<id>.json      everything about one clip (parts, roles, mix), written last
//! ```
//!
//! Frame `e` of a clip covers samples `[15360 e, 15360 e + 15600)`, the VGGish example grid, so
//! frame labels line up with the 10 embeddings of a clip.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use insrec_core::{FRAMES_PER_CLIP, Instrument, NUM_CLASSES, SAMPLE_RATE_HZ};
use ndarray::Array3;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use serde::{Deserialize, Serialize};

use crate::labels::FrameLabels;
use crate::mix::MixSettings;
use crate::{Result, SynthError};

/// Name of the clip folder.
pub const CLIPS_DIR: &str = "clips";
/// Name of the label table.
pub const LABELS_CSV: &str = "labels.csv";
/// Name of the frame-label array.
pub const FRAME_LABELS_NPY: &str = "frame_labels.npy";
/// Name of the manifest.
pub const MANIFEST_JSON: &str = "manifest.json";

/// Which part of the corpus a clip belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    /// Rendered only from the held-out sources.
    Test,
}

impl Split {
    /// All splits.
    pub const ALL: [Split; 3] = [Self::Train, Self::Valid, Self::Test];

    /// Lower-case name used in `labels.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Valid => "valid",
            Self::Test => "test",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// One part of a clip, as stored in the clip's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRecord {
    /// Preset or kit name, e.g. `Alto Sax` or `FluidR3_GM:kit0`.
    pub instrument: String,
    /// Source file (without extension).
    pub source: String,
    /// `[bank, program]` of a SoundFont preset.
    pub preset: Option<[u16; 2]>,
    /// The classes the part can be labelled with (empty for distractors).
    pub classes: Vec<String>,
    pub role: String,
    /// Seconds the part enters and leaves at (`None`: plays from the start / to the end).
    pub enter_s: Option<f64>,
    pub exit_s: Option<f64>,
    /// Notes or drum hits that start inside the clip.
    pub events: usize,
}

/// Everything about one clip; written after its WAV, so its presence marks a finished clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipRecord {
    pub id: String,
    pub index: u64,
    pub split: Split,
    /// Distinct source names, sorted.
    pub sources: Vec<String>,
    /// Classes audible anywhere in the clip.
    pub labels: Vec<String>,
    /// `[frame][class]` 0/1, 10 × 20.
    pub frame_labels: Vec<Vec<u8>>,
    pub style: String,
    pub tempo_bpm: f64,
    pub meter: String,
    pub key: String,
    pub parts: Vec<PartRecord>,
    pub mix: MixSettings,
}

impl ClipRecord {
    /// Frame labels as booleans; errors when the stored array has the wrong shape.
    pub fn frames(&self) -> Option<FrameLabels> {
        if self.frame_labels.len() != FRAMES_PER_CLIP
            || self.frame_labels.iter().any(|f| f.len() != NUM_CLASSES)
        {
            return None;
        }
        Some(std::array::from_fn(|e| {
            std::array::from_fn(|c| self.frame_labels[e][c] != 0)
        }))
    }

    /// Clip labels as a row in OpenMIC order.
    pub fn label_row(&self) -> [bool; NUM_CLASSES] {
        std::array::from_fn(|c| self.labels.iter().any(|l| l == Instrument::ALL[c].name()))
    }
}

/// The identifier of clip `index`.
pub fn clip_id(index: u64) -> String {
    format!("{index:06}")
}

/// Writes a file through a temporary sibling and a rename, so a reader (or a resumed run after a
/// kill) never sees half a file. No fsync: it made rendering IO-bound on a busy disk (100 clips
/// took 498 s instead of 14 s), and only a power cut could lose the last clips.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        write(&mut w)?;
        w.into_inner().map(drop).map_err(|e| e.into_error())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SynthError::Io {
            path: path.to_path_buf(),
            source: e,
        });
    }
    std::fs::rename(&tmp, path).map_err(SynthError::io(path))
}

/// `name.ext` → `name.ext.tmp`.
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes 16 kHz mono 16-bit PCM atomically.
pub(crate) fn write_wav(path: &Path, samples: &[f32]) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_atomic(path, |w| {
        let mut wav = hound::WavWriter::new(w, spec).map_err(std::io::Error::other)?;
        for &s in samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            wav.write_sample(v).map_err(std::io::Error::other)?;
        }
        wav.finalize().map_err(std::io::Error::other)
    })
}

/// Writes any serialisable value as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|source| SynthError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())
            .and_then(|_| w.write_all(b"\n"))
    })
}

/// Reads a JSON file.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(SynthError::io(path))?;
    serde_json::from_str(&text).map_err(|source| SynthError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// The header of `labels.csv`.
fn csv_header() -> String {
    let mut h = String::from("clip_id,split,soundfont");
    for name in Instrument::names() {
        h.push(',');
        h.push_str(name);
    }
    h
}

/// Writes `labels.csv` and `frame_labels.npy` from finished clip records (in index order).
pub(crate) fn write_tables(dir: &Path, records: &[ClipRecord]) -> Result<()> {
    write_atomic(&dir.join(LABELS_CSV), |w| {
        writeln!(w, "{}", csv_header())?;
        for r in records {
            let row = r.label_row();
            write!(w, "{},{},{}", r.id, r.split.name(), r.sources.join("+"))?;
            for on in row {
                write!(w, ",{}", u8::from(on))?;
            }
            writeln!(w)?;
        }
        Ok(())
    })?;
    let mut frames = Array3::<u8>::zeros((records.len(), FRAMES_PER_CLIP, NUM_CLASSES));
    for (i, r) in records.iter().enumerate() {
        let f = r.frames().ok_or_else(|| SynthError::BadCorpus {
            path: dir.join(CLIPS_DIR).join(format!("{}.json", r.id)),
            reason: "frame_labels is not 10 × 20".into(),
        })?;
        for (e, row) in f.iter().enumerate() {
            for (c, &on) in row.iter().enumerate() {
                frames[[i, e, c]] = u8::from(on);
            }
        }
    }
    let path = dir.join(FRAME_LABELS_NPY);
    write_atomic(&path, |w| {
        frames.write_npy(w).map_err(std::io::Error::other)
    })
}

/// One clip as listed in `labels.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusClip {
    pub id: String,
    pub split: Split,
    /// Source names joined by `+`.
    pub sources: String,
    /// Clip labels in OpenMIC order.
    pub labels: [bool; NUM_CLASSES],
}

/// A rendered corpus opened for reading.
#[derive(Debug, Clone)]
pub struct SynthCorpus {
    root: PathBuf,
    clips: Vec<CorpusClip>,
    frames: Array3<u8>,
}

impl SynthCorpus {
    /// Opens `dir`, reading `labels.csv` and `frame_labels.npy` and checking that they agree.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let root = dir.as_ref().to_path_buf();
        let csv_path = root.join(LABELS_CSV);
        let bad = |path: &Path, reason: String| SynthError::BadCorpus {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(&csv_path).map_err(SynthError::io(&csv_path))?;
        let mut lines = BufReader::new(file).lines();
        let header = lines
            .next()
            .transpose()
            .map_err(SynthError::io(&csv_path))?
            .unwrap_or_default();
        if header.trim_end() != csv_header() {
            return Err(bad(&csv_path, format!("unexpected header {header:?}")));
        }
        let mut clips = Vec::new();
        for (n, line) in lines.enumerate() {
            let line = line.map_err(SynthError::io(&csv_path))?;
            let fields: Vec<&str> = line.trim_end().split(',').collect();
            let line_bad = |what: &str| bad(&csv_path, format!("line {}: {what}", n + 2));
            if fields.len() != 3 + NUM_CLASSES {
                return Err(line_bad("wrong number of fields"));
            }
            let split = Split::parse(fields[1]).ok_or_else(|| line_bad("unknown split"))?;
            let mut labels = [false; NUM_CLASSES];
            for (c, f) in fields[3..].iter().enumerate() {
                labels[c] = match *f {
                    "0" => false,
                    "1" => true,
                    _ => return Err(line_bad("labels must be 0 or 1")),
                };
            }
            clips.push(CorpusClip {
                id: fields[0].to_owned(),
                split,
                sources: fields[2].to_owned(),
                labels,
            });
        }
        let npy_path = root.join(FRAME_LABELS_NPY);
        let file = File::open(&npy_path).map_err(SynthError::io(&npy_path))?;
        let frames = Array3::<u8>::read_npy(BufReader::new(file)).map_err(|e| SynthError::Npy {
            path: npy_path.clone(),
            reason: e.to_string(),
        })?;
        if frames.dim() != (clips.len(), FRAMES_PER_CLIP, NUM_CLASSES) {
            return Err(bad(
                &npy_path,
                format!(
                    "shape {:?} does not match {} clips × 10 × 20",
                    frames.dim(),
                    clips.len()
                ),
            ));
        }
        Ok(Self {
            root,
            clips,
            frames,
        })
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.clips.len()
    }

    /// Whether the corpus has no clip.
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// All clips in corpus order.
    pub fn clips(&self) -> &[CorpusClip] {
        &self.clips
    }

    /// Indices of the clips of a split.
    pub fn indices(&self, split: Split) -> Vec<usize> {
        (0..self.clips.len())
            .filter(|&i| self.clips[i].split == split)
            .collect()
    }

    /// Path of a clip's WAV file.
    pub fn wav_path(&self, index: usize) -> PathBuf {
        self.root
            .join(CLIPS_DIR)
            .join(format!("{}.wav", self.clips[index].id))
    }

    /// Path of a clip's JSON record.
    pub fn record_path(&self, index: usize) -> PathBuf {
        self.root
            .join(CLIPS_DIR)
            .join(format!("{}.json", self.clips[index].id))
    }

    /// Per-frame labels `[frame][class]` of a clip.
    pub fn frame_labels(&self, index: usize) -> FrameLabels {
        std::array::from_fn(|e| std::array::from_fn(|c| self.frames[[index, e, c]] != 0))
    }

    /// The clip's audio: 160 000 samples at 16 kHz in `[-1, 1]`.
    pub fn read_audio(&self, index: usize) -> Result<Vec<f32>> {
        let path = self.wav_path(index);
        let wav_err = |source| SynthError::Wav {
            path: path.clone(),
            source,
        };
        let reader = hound::WavReader::open(&path).map_err(wav_err)?;
        let spec = reader.spec();
        if spec.channels != 1 || spec.sample_rate != SAMPLE_RATE_HZ || spec.bits_per_sample != 16 {
            return Err(SynthError::BadCorpus {
                path: path.clone(),
                reason: "not 16 kHz mono 16-bit PCM".into(),
            });
        }
        // The data chunk in one read (hound's sample iterator reads two bytes at a time).
        let mut bytes = vec![0u8; reader.len() as usize * 2];
        reader
            .into_inner()
            .read_exact(&mut bytes)
            .map_err(|e| wav_err(hound::Error::IoError(e)))?;
        Ok(bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect())
    }

    /// The full record of a clip (parts, roles, mix).
    pub fn record(&self, index: usize) -> Result<ClipRecord> {
        read_json(&self.record_path(index))
    }
}
