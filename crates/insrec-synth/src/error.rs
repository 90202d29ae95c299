//! Errors of the corpus generator and reader.

use std::path::PathBuf;

/// What went wrong, named so that the caller knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or folder could not be read or written.
    #[error("synth: {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A SoundFont is missing, truncated or not a SoundFont 2 file (`.sf3` is not supported).
    #[error("synth: cannot load SoundFont {path}: {reason}")]
    BadSoundFont { path: PathBuf, reason: String },
    /// A drum kit folder or file could not be used.
    #[error("synth: cannot load drum kit {path}: {reason}")]
    BadDrumKit { path: PathBuf, reason: String },
    /// A drum sample could not be decoded (the message names the file).
    #[error("synth: drum sample: {0}")]
    DrumSample(#[source] insrec_audio::AudioError),
    /// The arguments cannot produce a corpus (e.g. no SoundFont, zero clips).
    #[error("synth: {0}")]
    InvalidConfig(&'static str),
    /// The output folder holds a corpus made with other arguments.
    #[error(
        "synth: {path} holds a corpus made with different arguments ({field} differs); \
         choose another --out or delete it"
    )]
    ArgumentsChanged { path: PathBuf, field: String },
    /// Resampling the rendered mix failed.
    #[error("synth: resampling: {0}")]
    Resample(#[source] insrec_audio::AudioError),
    /// A WAV file could not be written or read.
    #[error("synth: {path}: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    /// A corpus file is not in the documented format.
    #[error("synth: {path}: {reason}")]
    BadCorpus { path: PathBuf, reason: String },
    /// A JSON file could not be parsed or written.
    #[error("synth: {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The frame-label array could not be written or read.
    #[error("synth: {path}: {reason}")]
    Npy { path: PathBuf, reason: String },
}

/// Result of this crate.
pub type Result<T, E = SynthError> = std::result::Result<T, E>;

impl SynthError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
