//! Decode → mono → optional peak normalisation → resample, as one streaming source of 16 kHz blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::{AudioDecoder, AudioInfo, DecodeLimits, Resampler, ResamplerKind, Result};

/// Input samples gathered before each resampler call.
const BLOCK_INPUT_SAMPLES: usize = 16_384;
/// Mono blocks a decoding thread may run ahead of the consumer ([`AudioStream::decode_ahead`]).
const DECODE_AHEAD_BLOCKS: usize = 4;

/// Where the audio comes from: a file, or bytes already in memory (an upload).
#[derive(Debug, Clone)]
pub enum AudioSource {
    File(PathBuf),
    Bytes { name: String, data: Arc<[u8]> },
}

impl AudioSource {
    /// The name used in messages and reports.
    pub fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Bytes { name, .. } => name.clone(),
        }
    }

    fn open(&self, limits: DecodeLimits) -> Result<AudioDecoder> {
        match self {
            Self::File(path) => AudioDecoder::open(path, limits),
            Self::Bytes { name, data } => AudioDecoder::from_bytes(Arc::clone(data), name, limits),
        }
    }
}

impl From<&Path> for AudioSource {
    fn from(path: &Path) -> Self {
        Self::File(path.to_path_buf())
    }
}

/// How to turn the decoded audio into 16 kHz mono.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StreamOptions {
    pub resampler: ResamplerKind,
    /// Divide by the peak |sample| of the mono signal first, as OpenMIC's feature extractor did
    /// (costs a second decoding pass).
    pub peak_normalize: bool,
    pub limits: DecodeLimits,
}

impl StreamOptions {
    /// The path that reproduces OpenMIC-2018's features: legacy resampy and peak normalisation.
    pub fn openmic() -> Self {
        Self {
            resampler: ResamplerKind::ResampyLegacy,
            peak_normalize: true,
            limits: DecodeLimits::default(),
        }
    }
}

/// Where mono blocks come from: the decoder itself, or a thread running it ahead.
enum MonoSource {
    Inline(Box<AudioDecoder>),
    /// Blocks from the decoding thread (an error ends the stream), and the decoder's frame count
    /// after the last block received.
    Thread {
        blocks: Receiver<Result<MonoBlock>>,
        frames_decoded: u64,
    },
}

/// A block of mono samples from the decoding thread.
struct MonoBlock {
    samples: Vec<f32>,
    /// The decoder's frame count after this block.
    frames_decoded: u64,
    /// Whether more blocks follow.
    more: bool,
}

/// Gathers at least [`BLOCK_INPUT_SAMPLES`] mono samples into `mono`; `Ok(false)` at the end.
fn decode_block(decoder: &mut AudioDecoder, mono: &mut Vec<f32>) -> Result<bool> {
    let mut more = true;
    while more && mono.len() < BLOCK_INPUT_SAMPLES {
        more = decoder.next_mono(mono)?;
    }
    Ok(more)
}

/// 16 kHz mono audio, produced block by block; memory stays flat whatever the file's length.
pub struct AudioStream {
    source: MonoSource,
    info: AudioInfo,
    resampler: Resampler,
    gain: f64,
    mono: Vec<f32>,
    input: Vec<f64>,
    done: bool,
}

impl AudioStream {
    /// Opens `source`; with peak normalisation this decodes the whole file once to find the peak.
    pub fn open(source: &AudioSource, options: StreamOptions) -> Result<Self> {
        let gain = if options.peak_normalize {
            1.0 / peak(source.open(options.limits)?)?
        } else {
            1.0
        };
        let decoder = source.open(options.limits)?;
        let resampler = Resampler::new(options.resampler, decoder.info().sample_rate)?;
        Ok(Self {
            info: decoder.info().clone(),
            source: MonoSource::Inline(Box::new(decoder)),
            resampler,
            gain,
            mono: Vec::new(),
            input: Vec::new(),
            done: false,
        })
    }

    /// Moves decoding to a thread of its own, up to [`DECODE_AHEAD_BLOCKS`] blocks ahead, so that
    /// it overlaps resampling and whatever consumes the blocks. The thread stops at the end of the
    /// stream, at the first error (delivered in order) or when the stream is dropped.
    pub fn decode_ahead(mut self) -> Self {
        let MonoSource::Inline(mut decoder) = self.source else {
            return self;
        };
        let (blocks, received) = sync_channel(DECODE_AHEAD_BLOCKS);
        std::thread::spawn(move || {
            loop {
                let mut samples = Vec::with_capacity(2 * BLOCK_INPUT_SAMPLES);
                let outcome = decode_block(&mut decoder, &mut samples);
                let more = matches!(outcome, Ok(true));
                let block = outcome.map(|more| MonoBlock {
                    samples,
                    frames_decoded: decoder.frames_decoded(),
                    more,
                });
                // A closed channel means the stream was dropped: stop decoding.
                if blocks.send(block).is_err() || !more {
                    break;
                }
            }
        });
        self.source = MonoSource::Thread {
            blocks: received,
            frames_decoded: 0,
        };
        self
    }

    /// The source's declared properties.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Seconds of input audio decoded so far.
    pub fn decoded_seconds(&self) -> f64 {
        let frames = match &self.source {
            MonoSource::Inline(decoder) => decoder.frames_decoded(),
            MonoSource::Thread { frames_decoded, .. } => *frames_decoded,
        };
        frames as f64 / f64::from(self.info.sample_rate)
    }

    /// Appends the next block of 16 kHz samples to `out`; `Ok(false)` once everything was delivered.
    pub fn next_block(&mut self, out: &mut Vec<f64>) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        self.mono.clear();
        let more = match &mut self.source {
            MonoSource::Inline(decoder) => decode_block(decoder, &mut self.mono)?,
            // The thread only ends after sending its last block or an error.
            MonoSource::Thread {
                blocks,
                frames_decoded,
            } => match blocks.recv() {
                Ok(block) => {
                    let block = block?;
                    *frames_decoded = block.frames_decoded;
                    self.mono = block.samples;
                    block.more
                }
                Err(_) => false,
            },
        };
        self.input.clear();
        self.input
            .extend(self.mono.iter().map(|&x| f64::from(x) * self.gain));
        self.resampler.push(&self.input, out)?;
        if !more {
            self.resampler.finish(out)?;
            self.done = true;
        }
        Ok(true)
    }

    /// Reads the whole stream into memory (for short clips and tests).
    pub fn read_all(mut self) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        while self.next_block(&mut out)? {}
        Ok(out)
    }
}

/// The largest |mono sample|; 1 when the signal is (numerically) silent, as OpenMIC does.
fn peak(mut decoder: AudioDecoder) -> Result<f64> {
    let mut block = Vec::new();
    let mut max = 0.0f64;
    while decoder.next_mono(&mut block)? {
        max = block.iter().fold(max, |m, &x| m.max(f64::from(x).abs()));
        block.clear();
    }
    Ok(if max < f64::MIN_POSITIVE { 1.0 } else { max })
}
