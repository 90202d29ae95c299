//! Stage 1: container probing and packet decoding with symphonia (plus [`crate::opus`] for Opus),
//! producing mono `f32` samples packet by packet.

use std::fs::File;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use symphonia::core::codecs::audio::{AudioDecoder as SymphoniaDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::{AudioError, Result};

/// Consecutive undecodable packets after which a stream is declared corrupt.
const MAX_CONSECUTIVE_DECODE_ERRORS: usize = 64;
/// Sample rates outside this range are refused before anything is allocated.
const SAMPLE_RATE_RANGE_HZ: std::ops::RangeInclusive<u32> = 1_000..=768_000;
/// Channel counts above this are refused.
const MAX_CHANNELS: usize = 256;

/// Bounds applied while decoding; exceeding one is an error, not a truncation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeLimits {
    /// Longest accepted duration in seconds (checked against the header, then while decoding).
    pub max_duration_s: f64,
}

impl Default for DecodeLimits {
    /// 24 hours: far above any song, low enough to stop a hostile header from running forever.
    fn default() -> Self {
        Self {
            max_duration_s: 24.0 * 3600.0,
        }
    }
}

/// What the container says about the audio track.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: usize,
    /// Frames per channel, when the container declares it.
    pub frames: Option<u64>,
    /// Short codec name, e.g. `vorbis`.
    pub codec: String,
}

impl AudioInfo {
    /// Declared duration in seconds, when known.
    pub fn duration_s(&self) -> Option<f64> {
        self.frames.map(|f| f as f64 / f64::from(self.sample_rate))
    }
}

/// A streaming decoder: `next_mono` appends one packet's worth of mono samples at a time.
pub struct AudioDecoder {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn SymphoniaDecoder>,
    track_id: u32,
    info: AudioInfo,
    limits: DecodeLimits,
    interleaved: Vec<f32>,
    frames_decoded: u64,
    skipped_packets: usize,
}

fn codecs() -> &'static CodecRegistry {
    static CODECS: OnceLock<CodecRegistry> = OnceLock::new();
    CODECS.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_audio_decoder::<crate::opus::OpusDecoder>();
        registry
    })
}

impl AudioDecoder {
    /// Opens a file; the extension is only a hint, the content decides.
    pub fn open(path: impl AsRef<Path>, limits: DecodeLimits) -> Result<Self> {
        let path = path.as_ref();
        let io_err = |source| AudioError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Err(AudioError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        if meta.len() == 0 {
            return Err(AudioError::Empty {
                path: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(io_err)?;
        let hint = path.extension().and_then(|e| e.to_str());
        Self::from_source(Box::new(file), path, hint, limits)
    }

    /// Decodes an in-memory file (an upload); `name` is used in messages and as a format hint.
    pub fn from_bytes(bytes: Arc<[u8]>, name: &str, limits: DecodeLimits) -> Result<Self> {
        let path = PathBuf::from(name);
        if bytes.is_empty() {
            return Err(AudioError::Empty { path });
        }
        let hint = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
        Self::from_source(Box::new(Cursor::new(bytes)), &path, hint.as_deref(), limits)
    }

    fn from_source(
        source: Box<dyn MediaSource>,
        path: &Path,
        extension: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<Self> {
        catch_unwind(AssertUnwindSafe(|| {
            Self::probe(source, path, extension, limits)
        }))
        .unwrap_or_else(|panic| Err(decoder_panicked(path, panic)))
    }

    fn probe(
        source: Box<dyn MediaSource>,
        path: &Path,
        extension: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<Self> {
        let path = path.to_path_buf();
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let stream = MediaSourceStream::new(source, Default::default());
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Unsupported {
                        path: path.clone(),
                        reason: "no known audio container found".into(),
                    }
                }
                other => classify(&path, other),
            })?;
        let track =
            format
                .default_track(TrackType::Audio)
                .ok_or_else(|| AudioError::Unsupported {
                    path: path.clone(),
                    reason: "the container has no audio track".into(),
                })?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| AudioError::Unsupported {
                path: path.clone(),
                reason: "no audio codec parameters".into(),
            })?;
        let decoder = codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| AudioError::Unsupported {
                path: path.clone(),
                reason: format!("codec: {e}"),
            })?;
        let sample_rate = params.sample_rate.ok_or_else(|| AudioError::Unsupported {
            path: path.clone(),
            reason: "sample rate not declared".into(),
        })?;
        if !SAMPLE_RATE_RANGE_HZ.contains(&sample_rate) {
            return Err(AudioError::Unsupported {
                path,
                reason: format!(
                    "sample rate {sample_rate} Hz is outside {}..={} Hz",
                    SAMPLE_RATE_RANGE_HZ.start(),
                    SAMPLE_RATE_RANGE_HZ.end()
                ),
            });
        }
        let channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(1);
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(AudioError::Unsupported {
                path,
                reason: format!("{channels} channels (1..={MAX_CHANNELS} supported)"),
            });
        }
        let info = AudioInfo {
            sample_rate,
            channels,
            frames: track.num_frames,
            codec: codecs()
                .get_audio_decoder(params.codec)
                .map(|d| d.codec.info.short_name.to_string())
                .unwrap_or_else(|| "unknown".into()),
        };
        if let Some(duration) = info.duration_s()
            && duration > limits.max_duration_s
        {
            return Err(limit_error(&path, duration, limits));
        }
        let track_id = track.id;
        Ok(Self {
            path,
            format,
            decoder,
            track_id,
            info,
            limits,
            interleaved: Vec::new(),
            frames_decoded: 0,
            skipped_packets: 0,
        })
    }

    /// The track's declared properties.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The file name used in messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames per channel decoded so far.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// Appends the next packet's samples, mixed to mono (channel mean), to `out`.
    /// Returns `Ok(false)` at the end of the stream.
    pub fn next_mono(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        catch_unwind(AssertUnwindSafe(|| self.decode_packet(out)))
            .unwrap_or_else(|panic| Err(decoder_panicked(&self.path, panic)))
    }

    fn decode_packet(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        let mut consecutive_errors = 0;
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.finish(),
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return self.finish();
                }
                Err(SymphoniaError::ResetRequired) => return self.finish(),
                Err(e) => return Err(classify(&self.path, e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buffer = match self.decoder.decode(&packet) {
                Ok(buffer) => buffer,
                Err(SymphoniaError::DecodeError(reason)) => {
                    self.skipped_packets += 1;
                    consecutive_errors += 1;
                    tracing::debug!(path = %self.path.display(), reason, "skipping undecodable packet");
                    if consecutive_errors >= MAX_CONSECUTIVE_DECODE_ERRORS {
                        return Err(AudioError::Corrupt {
                            path: self.path.clone(),
                            reason: format!(
                                "{consecutive_errors} consecutive undecodable packets ({reason})"
                            ),
                        });
                    }
                    continue;
                }
                Err(e) => return Err(classify(&self.path, e)),
            };
            let channels = buffer.num_planes().max(1);
            let frames = buffer.frames();
            if frames == 0 {
                continue;
            }
            let start = out.len();
            self.interleaved.resize(frames * channels, 0.0);
            buffer.copy_to_slice_interleaved::<f32, _>(&mut self.interleaved[..]);
            if channels == 1 {
                out.extend_from_slice(&self.interleaved);
            } else {
                let scale = 1.0 / channels as f32;
                out.extend(
                    self.interleaved
                        .chunks_exact(channels)
                        .map(|f| f.iter().sum::<f32>() * scale),
                );
            }
            if let Some(i) = out[start..].iter().position(|x| !x.is_finite()) {
                return Err(AudioError::Corrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "non-finite sample (NaN or infinity) at {:.3} s",
                        (self.frames_decoded + i as u64) as f64 / f64::from(self.info.sample_rate)
                    ),
                });
            }
            self.frames_decoded += frames as u64;
            let seconds = self.frames_decoded as f64 / f64::from(self.info.sample_rate);
            if seconds > self.limits.max_duration_s {
                return Err(limit_error(&self.path, seconds, self.limits));
            }
            return Ok(true);
        }
    }

    fn finish(&mut self) -> Result<bool> {
        let rate = f64::from(self.info.sample_rate);
        if let Some(declared) = self.info.frames.filter(|&f| f > 0) {
            // Allow for codec priming/padding differences; a real truncation loses far more.
            let slack = u64::from(self.info.sample_rate) / 2;
            if self.frames_decoded == 0 || self.frames_decoded + slack < declared {
                return Err(AudioError::Corrupt {
                    path: self.path.clone(),
                    reason: format!(
                        "truncated: decoded {:.2} s of the {:.2} s the header declares",
                        self.frames_decoded as f64 / rate,
                        declared as f64 / rate
                    ),
                });
            }
        }
        if self.frames_decoded == 0 {
            return Err(if self.skipped_packets > 0 {
                AudioError::Corrupt {
                    path: self.path.clone(),
                    reason: "no packet could be decoded".into(),
                }
            } else {
                AudioError::NoAudio {
                    path: self.path.clone(),
                }
            });
        }
        if self.skipped_packets > 0 {
            tracing::warn!(path = %self.path.display(), skipped = self.skipped_packets, "skipped undecodable packets");
        }
        Ok(false)
    }
}

/// symphonia parses untrusted bytes; a panic in it (a bug, or an overflow check in a debug build) is
/// reported as corrupt input rather than taking down a batch or a server worker.
fn decoder_panicked(path: &Path, panic: Box<dyn std::any::Any + Send>) -> AudioError {
    let message = insrec_core::panic_message(&*panic);
    tracing::warn!(path = %path.display(), message, "the decoder panicked on malformed data");
    AudioError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("the decoder failed on malformed data ({message})"),
    }
}

fn limit_error(path: &Path, seconds: f64, limits: DecodeLimits) -> AudioError {
    AudioError::LimitExceeded {
        path: path.to_path_buf(),
        what: format!("duration {seconds:.1} s"),
        limit: format!("{:.0} s", limits.max_duration_s),
    }
}

fn classify(path: &Path, error: SymphoniaError) -> AudioError {
    let path = path.to_path_buf();
    match error {
        SymphoniaError::IoError(source) => AudioError::Corrupt {
            path,
            reason: format!("read error: {source}"),
        },
        SymphoniaError::DecodeError(reason) => AudioError::Corrupt {
            path,
            reason: reason.into(),
        },
        SymphoniaError::Unsupported(reason) => AudioError::Unsupported {
            path,
            reason: reason.into(),
        },
        SymphoniaError::LimitError(reason) => AudioError::LimitExceeded {
            path,
            what: reason.into(),
            limit: "the decoder's safety limit".into(),
        },
        other => AudioError::Corrupt {
            path,
            reason: other.to_string(),
        },
    }
}
