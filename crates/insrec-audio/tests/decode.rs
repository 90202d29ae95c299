//! Decoding every supported format, the error cases, and the resamplers against resampy.

use std::path::{Path, PathBuf};

use insrec_audio::{
    AudioDecoder, AudioError, AudioSource, AudioStream, DecodeLimits, LegacyResampy, StreamOptions,
};
use insrec_testutil::{assert_close, read_npy_flat};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn decode_16k(path: &Path) -> Vec<f64> {
    AudioStream::open(
        &AudioSource::File(path.to_path_buf()),
        StreamOptions::default(),
    )
    .and_then(AudioStream::read_all)
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Amplitude of the `hz` component (single-bin DFT), of a 16 kHz signal.
fn tone_amplitude(x: &[f64], hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, v) in x.iter().enumerate() {
        let phase = 2.0 * std::f64::consts::PI * hz * n as f64 / 16_000.0;
        re += v * phase.cos();
        im += v * phase.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

#[test]
fn decodes_every_format_to_16k_mono() {
    // The files hold 440 Hz (left) and 660 Hz (right) at 0.5: the mono mean has both at 0.25.
    for (file, seconds, rate) in [
        ("tone.mp3", 1.5, 44_100),
        ("tone.ogg", 1.5, 44_100),
        ("tone.m4a", 1.5, 44_100),
        ("tone.opus", 1.5, 48_000),
        ("tone.webm", 1.5, 48_000),
        ("tone.flac", 0.4, 22_050),
        ("tone_alac.m4a", 0.4, 22_050),
        ("tone.aiff", 0.4, 22_050),
    ] {
        let path = data(file);
        let decoder = AudioDecoder::open(&path, DecodeLimits::default()).expect(file);
        assert_eq!(decoder.info().channels, 2, "{file}");
        assert_eq!(decoder.info().sample_rate, rate, "{file}");
        let mono = decode_16k(&path);
        let expected = seconds * 16_000.0;
        assert!(
            (mono.len() as f64 - expected).abs() < 0.06 * expected,
            "{file}: {} samples",
            mono.len()
        );
        let middle = &mono[mono.len() / 8..mono.len() * 7 / 8];
        for hz in [440.0, 660.0] {
            let a = tone_amplitude(middle, hz);
            assert!((a - 0.25).abs() < 0.03, "{file}: {hz} Hz amplitude {a}");
        }
        assert!(
            tone_amplitude(middle, 1000.0) < 0.02,
            "{file}: spurious 1 kHz"
        );
    }
}

fn write_wav(path: &Path, spec: hound::WavSpec, frames: &[[f64; 2]]) {
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for frame in frames {
        for &v in frame {
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32),
                (_, 8) => w.write_sample((v * 127.0).round() as i8),
                (_, 16) => w.write_sample((v * 32_767.0).round() as i16),
                (_, bits) => w.write_sample((v * ((1i64 << (bits - 1)) - 1) as f64).round() as i32),
            }
            .expect("write sample");
        }
    }
    w.finalize().expect("finalize wav");
}

#[test]
fn decodes_wav_pcm_of_every_depth_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames: Vec<[f64; 2]> = (0..16_000)
        .map(|i| [((i % 200) as f64 / 100.0 - 1.0) * 0.9, -0.3])
        .collect();
    for (bits, format, tol) in [
        (8, hound::SampleFormat::Int, 1.0 / 64.0),
        (16, hound::SampleFormat::Int, 1e-4),
        (24, hound::SampleFormat::Int, 1e-6),
        (32, hound::SampleFormat::Int, 1e-6),
        (32, hound::SampleFormat::Float, 1e-7),
    ] {
        let path = dir.path().join(format!("pcm{bits}{format:?}.wav"));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: bits,
            sample_format: format,
        };
        write_wav(&path, spec, &frames);
        let mono = decode_16k(&path);
        let expected: Vec<f64> = frames.iter().map(|f| (f[0] + f[1]) / 2.0).collect();
        assert_close(&format!("{bits}-bit {format:?}"), &mono, &expected, tol);
    }
}

fn open_err(path: &Path) -> AudioError {
    match AudioStream::open(
        &AudioSource::File(path.to_path_buf()),
        StreamOptions::default(),
    )
    .and_then(AudioStream::read_all)
    {
        Ok(samples) => panic!(
            "{}: expected an error, decoded {} samples",
            path.display(),
            samples.len()
        ),
        Err(e) => e,
    }
}

#[test]
fn bad_inputs_give_clear_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").expect("write");
    let garbage = dir.path().join("noise.wav");
    std::fs::write(
        &garbage,
        (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write");
    let truncated = dir.path().join("truncated.flac");
    let flac = std::fs::read(data("tone.flac")).expect("read");
    std::fs::write(&truncated, &flac[..flac.len() / 3]).expect("write");
    let header_only = dir.path().join("header_only.ogg");
    let ogg = std::fs::read(data("tone.ogg")).expect("read");
    std::fs::write(&header_only, &ogg[..200]).expect("write");

    let cases: [(&Path, &str); 6] = [
        (&empty, "empty"),
        (&garbage, "unsupported"),
        (&truncated, "truncated"),
        (&header_only, ""),
        (&data("video_only.mkv"), "no audio track"),
        (dir.path(), "directory"),
    ];
    for (path, needle) in cases {
        let err = open_err(path);
        let message = err.to_string();
        assert!(
            message.contains(&*path.display().to_string()),
            "message must name the file: {message}"
        );
        assert!(message.contains(needle), "{}: {message}", path.display());
        assert!(err.is_bad_input(), "{message}");
    }
    let missing = dir.path().join("missing.ogg");
    let message = open_err(&missing).to_string();
    assert!(
        message.contains("missing.ogg") && message.contains("No such file"),
        "{message}"
    );
}

/// All 16 kHz samples and the decoded seconds, block by block.
fn drain(mut stream: AudioStream) -> Result<(Vec<f64>, f64), AudioError> {
    let mut out = Vec::new();
    while stream.next_block(&mut out)? {}
    Ok((out, stream.decoded_seconds()))
}

#[test]
fn decoding_ahead_on_a_thread_gives_the_same_stream_and_errors() {
    let open = |path: &Path| {
        AudioStream::open(
            &AudioSource::File(path.to_path_buf()),
            StreamOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    // Several 16 384-sample blocks each.
    for file in ["tone.mp3", "tone.ogg", "tone.opus", "tone.m4a"] {
        let path = data(file);
        let inline = drain(open(&path)).expect(file);
        let ahead = drain(open(&path).decode_ahead()).expect(file);
        assert!(
            inline.0.len() > 3 * 16_384 / 3,
            "{file}: {}",
            inline.0.len()
        );
        assert_eq!(ahead, inline, "{file}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let truncated = dir.path().join("truncated.flac");
    let flac = std::fs::read(data("tone.flac")).expect("read");
    std::fs::write(&truncated, &flac[..flac.len() / 3]).expect("write");
    let inline = drain(open(&truncated)).expect_err("truncated").to_string();
    let ahead = drain(open(&truncated).decode_ahead())
        .expect_err("truncated")
        .to_string();
    assert_eq!(ahead, inline);
    assert!(ahead.contains("truncated"), "{ahead}");
}

#[test]
fn duration_limit_is_checked_against_the_header_first() {
    let limits = DecodeLimits {
        max_duration_s: 1.0,
    };
    let err = AudioDecoder::open(data("tone.ogg"), limits)
        .err()
        .expect("limit must trigger");
    assert!(matches!(err, AudioError::LimitExceeded { .. }), "{err}");
}

fn resample_chunk_input() -> Vec<f64> {
    let (decoded, shape) = read_npy_flat::<f32>("vggish/000046_3840.decoded44k_first22050.f32.npy");
    assert_eq!(shape, [22_050, 2]);
    decoded
        .chunks(2)
        .map(|lr| (f64::from(lr[0]) + f64::from(lr[1])) / 2.0 / 0.7752559781074524)
        .collect()
}

#[test]
fn legacy_resampler_matches_resampy_022() {
    let input = resample_chunk_input();
    assert!((input.iter().sum::<f64>() - -1.1666040176721995).abs() < 1e-12);
    let (expected, _) =
        read_npy_flat::<f64>("vggish/resample_chunk_out16k_resampy022_kaiser_best.f64.npy");
    let mut resampler = LegacyResampy::new(44_100, 16_000);
    let mut out = Vec::new();
    for chunk in input.chunks(1000) {
        resampler.push(chunk.iter().copied(), &mut out);
    }
    resampler.finish(&mut out);
    assert_eq!(out.len(), 8000);
    assert_close("resampy 0.2.2 chunk", &out, &expected, 1e-9);
}

fn openmic_frames(options: StreamOptions) -> (Vec<f64>, Vec<f32>) {
    let ogg = insrec_testutil::fixture("vggish/000046_3840.ogg");
    let mut stream = AudioStream::open(&AudioSource::File(ogg), options).expect("open ogg");
    let (mut frames, mut examples) = (Vec::new(), insrec_features::Examples::default());
    let (mut f64_frontend, mut f32_frontend) = (
        insrec_features::LogMelFrontend::new(),
        insrec_features::LogMelFrontend::new(),
    );
    let mut block = Vec::new();
    while stream.next_block(&mut block).expect("decode") {
        f64_frontend.push_frames(&block, |f| frames.extend_from_slice(f));
        f32_frontend.push(&block, &mut examples);
        block.clear();
    }
    (frames, examples.data)
}

#[test]
fn ogg_end_to_end_matches_openmic_examples() {
    let (expected, _) = read_npy_flat::<f64>("vggish/000046_3840.examples_openmic.f64.npy");
    let (frames, examples) = openmic_frames(StreamOptions::openmic());
    assert_close(
        "openmic path, f64",
        &frames[..expected.len()],
        &expected,
        2e-4,
    );
    assert_eq!(examples.len(), expected.len(), "10 examples");
    let examples: Vec<f64> = examples.iter().map(|&v| f64::from(v)).collect();
    assert_close("openmic path, f32", &examples, &expected, 3e-4);
}

#[test]
fn ogg_end_to_end_without_normalisation_matches_torchvggish_path() {
    let (expected, _) =
        read_npy_flat::<f32>("vggish/000046_3840.examples_no_normalize_resampy022.f32.npy");
    let expected: Vec<f64> = expected.into_iter().map(f64::from).collect();
    let options = StreamOptions {
        peak_normalize: false,
        ..StreamOptions::openmic()
    };
    let (frames, _) = openmic_frames(options);
    assert_close(
        "no normalisation",
        &frames[..expected.len()],
        &expected,
        2e-4,
    );
}
