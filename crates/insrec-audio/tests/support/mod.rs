//! Shared by the bad-input and fuzz tests.
#![allow(dead_code)]

pub mod corpus;

use std::sync::Arc;

use insrec_audio::{AudioError, AudioSource, AudioStream, DecodeLimits, StreamOptions};
use insrec_features::{Examples, LogMelFrontend};

/// What the full front end made of an input: 16 kHz samples and log-mel examples.
#[derive(Debug, Default)]
pub struct Decoded {
    pub samples: usize,
    pub examples: usize,
    pub non_finite: usize,
}

/// Target (1) of the fuzzing: bytes → decode → resample → log-mel.
pub fn front_end(source: &AudioSource, options: StreamOptions) -> Result<Decoded, AudioError> {
    let mut stream = AudioStream::open(source, options)?;
    let (mut frontend, mut examples) = (LogMelFrontend::new(), Examples::default());
    let (mut block, mut decoded) = (Vec::new(), Decoded::default());
    while stream.next_block(&mut block)? {
        decoded.samples += block.len();
        frontend.push(&block, &mut examples);
        decoded.examples += examples.count();
        decoded.non_finite += examples.data.iter().filter(|v| !v.is_finite()).count();
        examples.data.clear();
        block.clear();
    }
    Ok(decoded)
}

/// Options with a duration cap of `max_duration_s`.
pub fn capped(max_duration_s: f64) -> StreamOptions {
    StreamOptions {
        limits: DecodeLimits { max_duration_s },
        ..StreamOptions::default()
    }
}

/// `front_end` on bytes in memory, as the server sees an upload.
pub fn front_end_bytes(
    name: &str,
    bytes: &[u8],
    options: StreamOptions,
) -> Result<Decoded, AudioError> {
    let source = AudioSource::Bytes {
        name: name.to_string(),
        data: Arc::from(bytes),
    };
    front_end(&source, options)
}

/// Peak virtual memory of this process in KiB (Linux), to catch allocations sized by a header.
pub fn vm_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmPeak:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
