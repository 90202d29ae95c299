//! The bad-input corpus: small hostile audio files built from the tone files in `tests/data` and from
//! hand-written headers. `ok_*` files must decode to the audio they hold; `err_*` files must be refused
//! with an error that names them. The files are committed under `tests/data/bad`; the `bad_input` test
//! checks that they match this generator (`INSREC_WRITE_CORPUS=1` rewrites them).

use std::path::{Path, PathBuf};

/// The tone files the corpus is cut from.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Where the corpus lives in the repository.
pub fn corpus_dir() -> PathBuf {
    data_dir().join("bad")
}

pub fn tone(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// WAVE_FORMAT_PCM and WAVE_FORMAT_IEEE_FLOAT.
const PCM: u16 = 1;
const FLOAT: u16 = 3;

/// A RIFF/WAVE file with a 16-byte `fmt ` chunk whose `data` chunk claims `data_len` bytes.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, data_len: u32, data: &[u8]) -> Vec<u8> {
    let block_align = channels.wrapping_mul(bits / 8);
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&36u32.saturating_add(data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// A WAVE_FORMAT_EXTENSIBLE 16-bit PCM WAV with `channels` channels and the given speaker mask.
fn extensible(channels: u16, mask: u32, rate: u32, frames: usize) -> Vec<u8> {
    let data = pcm16_data(channels, rate, frames);
    let mut out = wav(0xfffe, channels, rate, 16, data.len() as u32, &data);
    let mut fmt = 40u32.to_le_bytes().to_vec();
    fmt.extend_from_slice(&out[20..36]);
    fmt.extend_from_slice(&22u16.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    fmt.extend_from_slice(&mask.to_le_bytes());
    fmt.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
    ]);
    out.splice(16..36, fmt);
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    out
}

/// A 16-bit PCM WAV of `frames` frames of a 440 Hz tone at 0.5 on every channel, honestly sized.
fn pcm16(channels: u16, rate: u32, frames: usize) -> Vec<u8> {
    let data = pcm16_data(channels, rate, frames);
    wav(PCM, channels, rate, 16, data.len() as u32, &data)
}

fn pcm16_data(channels: u16, rate: u32, frames: usize) -> Vec<u8> {
    (0..frames)
        .flat_map(|i| {
            let t = i as f64 / f64::from(rate);
            let v = (0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin() * 32_767.0) as i16;
            std::iter::repeat_n(v.to_le_bytes(), usize::from(channels)).flatten()
        })
        .collect()
}

/// Deterministic noise (SplitMix64).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = insrec_testutil::fuzz::Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// An ID3v2.3 tag of `size` bytes (header excluded) holding one TXXX frame; `claimed` overrides the
/// size written in the header.
pub fn id3(size: u32, claimed: Option<u32>) -> Vec<u8> {
    let syncsafe = |n: u32| {
        [
            (n >> 21) as u8 & 0x7f,
            (n >> 14) as u8 & 0x7f,
            (n >> 7) as u8 & 0x7f,
            n as u8 & 0x7f,
        ]
    };
    let body = size - 10;
    let mut out = b"ID3\x03\x00\x00".to_vec();
    out.extend_from_slice(&syncsafe(claimed.unwrap_or(size)));
    out.extend_from_slice(b"TXXX");
    out.extend_from_slice(&body.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0]); // flags, then ISO-8859-1 encoding
    out.extend(std::iter::repeat_n(b'x', body as usize - 1));
    out
}

/// CRC-8 (polynomial 0x07) and CRC-16 (polynomial 0x8005) as FLAC frames use them.
fn crc(bytes: &[u8], width: u32, poly: u32) -> u32 {
    let top = 1 << (width - 1);
    let mask = (1u32 << width) - 1;
    bytes.iter().fold(0, |mut crc, &b| {
        crc ^= u32::from(b) << (width - 8);
        for _ in 0..8 {
            crc = if crc & top != 0 {
                (crc << 1) ^ poly
            } else {
                crc << 1
            } & mask;
        }
        crc
    })
}

/// A "decompression bomb": a FLAC stream of `frames` constant (silent) frames of 65535 samples at
/// 1 kHz, about 16 bytes each, that declares no length: `frames` × 65.5 s of audio from a few KB.
pub fn flac_bomb(frames: u32) -> Vec<u8> {
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0x80, 0, 0, 34]); // last metadata block: STREAMINFO
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0]); // block sizes, frame sizes
    // 1000 Hz (20 bits), mono (3 bits: 0), 16 bits (5 bits: 15), 0 samples (36 bits), no MD5.
    out.extend_from_slice(&[0x00, 0x3e, 0x80, 0xf0, 0, 0, 0, 0]);
    out.extend_from_slice(&[0; 16]);
    for n in 0..frames {
        // Fixed block size, size from the 16-bit field below, rate and depth from STREAMINFO.
        let mut frame = vec![0xff, 0xf8, 0x70, 0x00];
        let mut number = [0; 4];
        frame.extend_from_slice(
            char::from_u32(n)
                .unwrap_or('\0')
                .encode_utf8(&mut number)
                .as_bytes(),
        );
        frame.extend_from_slice(&65_534u16.to_be_bytes());
        frame.push(crc(&frame, 8, 0x07) as u8);
        frame.extend_from_slice(&[0x00, 0x00, 0x00]); // CONSTANT subframe of value 0
        frame.extend_from_slice(&(crc(&frame, 16, 0x8005) as u16).to_be_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

/// Offset of the `n`th (0-based) occurrence of `needle`.
fn nth_offset(haystack: &[u8], needle: &[u8], n: usize) -> usize {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no occurrence {n} of {needle:?}"))
}

/// Every corpus file, by name.
pub fn files() -> Vec<(&'static str, Vec<u8>)> {
    let cut = |bytes: Vec<u8>, end: usize| bytes[..end].to_vec();
    let third = |name: &str| {
        let bytes = tone(name);
        let len = bytes.len() / 3;
        cut(bytes, len)
    };
    let mp3 = tone("tone.mp3");
    let mp3_first_frame = nth_offset(&mp3, &[0xff, 0xfb], 0);
    let ogg = tone("tone.ogg");
    let ogg_audio = nth_offset(&ogg, b"OggS", 2);
    let one_second = pcm16(1, 44_100, 44_100);
    let twelve_hours = 12 * 3600 * 44_100 * 2;
    let nan_inf: Vec<u8> = (0..20_000)
        .flat_map(|i| {
            let v = match i % 100 {
                7 => f32::NAN,
                8 => f32::INFINITY,
                9 => f32::NEG_INFINITY,
                _ => (i as f32 * 0.1).sin() * 0.5,
            };
            v.to_le_bytes()
        })
        .collect();
    let mut id3_large = id3(64 * 1024, None);
    id3_large.extend_from_slice(&mp3);
    let mut id3_claims_256mb = id3(1024, Some(0x0fff_ffff));
    id3_claims_256mb.extend_from_slice(&mp3);
    let mut flac_picture = cut(tone("tone.flac"), 42);
    flac_picture[4] = 0; // STREAMINFO is no longer the last block
    flac_picture.extend_from_slice(&[0x86, 0xff, 0xff, 0xff]); // last block: PICTURE of 16 MiB
    flac_picture.extend_from_slice(&noise(512, 5));

    vec![
        ("err_empty.wav", Vec::new()),
        ("err_garbage.mp3", noise(4096, 1)),
        (
            "err_garbage_riff.wav",
            [b"RIFF".as_slice(), &noise(2048, 2)].concat(),
        ),
        ("err_truncated.mp3", third("tone.mp3")),
        ("err_truncated.ogg", third("tone.ogg")),
        ("err_truncated.flac", third("tone.flac")),
        ("err_truncated.m4a", third("tone.m4a")),
        ("err_truncated.opus", third("tone.opus")),
        (
            "err_truncated.wav",
            cut(one_second.clone(), one_second.len() / 3),
        ),
        ("err_header_only.wav", cut(one_second.clone(), 44)),
        ("err_header_only.flac", cut(tone("tone.flac"), 42)),
        ("err_header_only.ogg", cut(ogg.clone(), ogg_audio)),
        ("err_header_only.mp3", cut(mp3.clone(), mp3_first_frame + 4)),
        ("ok_ogg_named.mp3", ogg),
        ("ok_flac_named.wav", tone("tone.flac")),
        ("ok_mp3_without_extension", mp3),
        ("err_rate_0hz.wav", pcm16(1, 0, 100)),
        ("err_rate_1hz.wav", pcm16(1, 1, 100)),
        ("err_rate_4ghz.wav", pcm16(1, u32::MAX, 100)),
        // Found by fuzzing: a rate sharing no factor with 16 kHz once cost 0.7 s and 42 MB.
        ("ok_rate_524289hz.wav", pcm16(1, 524_289, 100)),
        ("ok_rate_768khz.wav", pcm16(1, 768_000, 30_720)),
        ("err_channels_255.wav", pcm16(255, 16_000, 160)),
        (
            "err_channels_255_extensible.wav",
            extensible(255, 0, 16_000, 160),
        ),
        (
            "ok_channels_6_extensible.wav",
            extensible(6, 0x3f, 16_000, 1600),
        ),
        (
            "ok_channels_mask_mismatch.wav",
            extensible(2, 0x3ffff, 16_000, 160),
        ),
        ("err_channels_0.wav", pcm16(0, 16_000, 160)),
        (
            "err_bits_0.wav",
            wav(PCM, 1, 16_000, 0, 320, &noise(320, 3)),
        ),
        (
            "err_bits_255.wav",
            wav(PCM, 1, 16_000, 255, 320, &noise(320, 4)),
        ),
        (
            "err_nan_inf.wav",
            wav(FLOAT, 1, 16_000, 32, nan_inf.len() as u32, &nan_inf),
        ),
        (
            "err_claims_12h.wav",
            wav(PCM, 1, 44_100, 16, twelve_hours, &one_second[44..]),
        ),
        (
            "err_claims_600h.wav",
            wav(PCM, 1, 1_000, 16, 0xffff_fff0, &pcm16_data(1, 1_000, 1_000)),
        ),
        ("ok_id3_64k.mp3", id3_large),
        ("err_id3_claims_256mb.mp3", id3_claims_256mb),
        ("err_flac_picture_claims_16mb.flac", flac_picture),
        ("err_flac_bomb_36h.flac", flac_bomb(2000)),
    ]
}
