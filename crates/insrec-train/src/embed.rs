//! Embedding clips of audio for the classifiers: the first 10 s of each file (zero-padded),
//! 16 kHz mono → 10 VGGish log-mel examples → a frame encoder → `[10, 128]`.
//!
//! Results are cached per file content: `<cache>/<encoder id>/<sha256 of the file>.f32` holds
//! the 1 280 little-endian floats, so re-running on the same audio with the same encoder costs a
//! hash per file, whatever the file is called or where it lives.

use std::fs;
use std::path::{Path, PathBuf};

use insrec_audio::{AudioSource, AudioStream, StreamOptions};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, SAMPLE_RATE_HZ};
use insrec_data::CLIP_FEATURES;
use insrec_pipeline::FrameEncoder;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::checkpoint::write_atomic;
use crate::error::{Result, TrainError};
use crate::progress;

/// Samples of one clip: 10 s at 16 kHz.
const CLIP_SAMPLES: usize = 10 * SAMPLE_RATE_HZ as usize;

/// A frame encoder with an identity for the cache (e.g. a hash of its weights) and the front
/// end its audio goes through.
pub struct Encoder {
    pub frame_encoder: Box<dyn FrameEncoder>,
    /// Names the cache folder; must change whenever the encoder's output would.
    pub id: String,
    /// Decoding, peak normalisation and resampling before the log-mel front end.
    pub stream: StreamOptions,
}

impl Encoder {
    /// Checks that the encoder makes 128-wide embeddings, as the classifiers read.
    pub fn new(frame_encoder: Box<dyn FrameEncoder>, id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if frame_encoder.dim() != EMBEDDING_DIM {
            return Err(TrainError::Embed {
                path: PathBuf::from(&id),
                reason: format!(
                    "the encoder makes {}-wide embeddings; the classifiers read {EMBEDDING_DIM}",
                    frame_encoder.dim()
                ),
            });
        }
        Ok(Self {
            frame_encoder,
            id,
            stream: StreamOptions::default(),
        })
    }

    /// Sets the audio front end (e.g. [`StreamOptions::openmic`] for OpenMIC-2018's features).
    pub fn with_stream(mut self, stream: StreamOptions) -> Self {
        self.stream = stream;
        self
    }

    /// The `[10, 128]` embeddings of the first 10 s of `path`.
    pub fn embed_file(&self, path: &Path) -> Result<Vec<f32>> {
        let embed_error = |reason: String| TrainError::Embed {
            path: path.to_owned(),
            reason,
        };
        let samples = first_clip(path, self.stream).map_err(embed_error)?;
        let examples = insrec_features::examples(&samples);
        debug_assert_eq!(examples.count(), FRAMES_PER_CLIP);
        let embeddings = self
            .frame_encoder
            .encode(&examples.data)
            .map_err(embed_error)?;
        if embeddings.len() != CLIP_FEATURES || embeddings.iter().any(|v| !v.is_finite()) {
            return Err(embed_error(format!(
                "the encoder returned {} values (expected {CLIP_FEATURES} finite ones)",
                embeddings.len()
            )));
        }
        Ok(embeddings)
    }
}

/// The first 10 s of `path` at 16 kHz mono (zero-padded when shorter), or why it could not be
/// read.
pub fn first_clip(path: &Path, options: StreamOptions) -> std::result::Result<Vec<f64>, String> {
    let source = AudioSource::File(path.to_owned());
    let mut stream = AudioStream::open(&source, options).map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(CLIP_SAMPLES + 16_384);
    while samples.len() < CLIP_SAMPLES
        && stream.next_block(&mut samples).map_err(|e| e.to_string())?
    {}
    samples.resize(CLIP_SAMPLES, 0.0);
    Ok(samples)
}

/// The folder of cached embeddings.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

impl EmbeddingCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn entry(&self, encoder: &Encoder, digest: &str) -> PathBuf {
        self.dir
            .join(sanitize(&encoder.id))
            .join(format!("{digest}.f32"))
    }

    fn read(path: &Path) -> Option<Vec<f32>> {
        let bytes = fs::read(path).ok()?;
        (bytes.len() == CLIP_FEATURES * 4).then(|| {
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
    }

    fn write(path: &Path, values: &[f32]) -> Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(TrainError::io(parent))?;
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_atomic(path, &bytes)
    }
}

/// Embeds every file (in parallel), `[N, 10, 128]` row-major in the order given, reading and
/// filling `cache` when there is one.
pub fn embed_files(
    paths: &[PathBuf],
    encoder: &Encoder,
    cache: Option<&EmbeddingCache>,
    show_progress: bool,
) -> Result<Vec<f32>> {
    let bar = progress::counter(show_progress, paths.len(), "embedding");
    let rows: Vec<Vec<f32>> = paths
        .par_iter()
        .map(|path| {
            let row = embed_cached(path, encoder, cache);
            bar.inc(1);
            row
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    Ok(rows.concat())
}

fn embed_cached(
    path: &Path,
    encoder: &Encoder,
    cache: Option<&EmbeddingCache>,
) -> Result<Vec<f32>> {
    let Some(cache) = cache else {
        return encoder.embed_file(path);
    };
    let bytes = fs::read(path).map_err(TrainError::io(path))?;
    let digest = hex(&Sha256::digest(&bytes));
    let entry = cache.entry(encoder, &digest);
    if let Some(hit) = EmbeddingCache::read(&entry) {
        return Ok(hit);
    }
    let row = encoder.embed_file(path)?;
    EmbeddingCache::write(&entry, &row)?;
    Ok(row)
}

/// A short content hash (first 16 hex digits of SHA-256 over the parts in order), e.g. to
/// identify an encoder by its config and weights.
pub fn content_id(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize()[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file-name-safe version of an encoder id.
fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sanitize_make_safe_names() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(sanitize("compact/v1:ab"), "compact_v1_ab");
        assert_eq!(content_id(&[b"a", b"bc"]).len(), 16);
        assert_ne!(content_id(&[b"a", b"bc"]), content_id(&[b"ab", b"c"]));
    }
}
