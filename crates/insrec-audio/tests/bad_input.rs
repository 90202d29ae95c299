//! The bad-input corpus (`tests/data/bad`): every file is decoded or refused, quickly, with a clear
//! error, without a panic and without allocating what a header claims.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use insrec_audio::{AudioDecoder, AudioError, AudioSource, DecodeLimits};
use support::corpus;

/// Each corpus file must be handled within this time (a debug build on a loaded machine).
const MAX_TIME: Duration = Duration::from_secs(10);
/// Duration cap of these tests; the decompression bomb must stop there.
const CAP_S: f64 = 300.0;

#[test]
fn corpus_files_match_their_generator() {
    let dir = corpus::corpus_dir();
    let files = corpus::files();
    if std::env::var_os("INSREC_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).expect("create tests/data/bad");
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).expect("write corpus file");
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (INSREC_WRITE_CORPUS=1 writes it)", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(committed, names, "tests/data/bad is out of date");
    for (name, bytes) in &files {
        assert!(bytes.len() < 100_000, "{name}: {} bytes", bytes.len());
        let on_disk = std::fs::read(dir.join(name)).expect("read corpus file");
        assert!(on_disk == *bytes, "{name} differs from its generator");
    }
}

/// A substring the error for `name` must contain, beyond the file name.
fn expected_reason(name: &str) -> &'static str {
    match name {
        n if n.contains("truncated.mp3") || n.contains("truncated.wav") => "truncated",
        n if n.contains("claims_12h") => "43200",
        n if n.contains("claims_600h") || n.contains("bomb") => "exceeds the limit",
        n if n.contains("nan_inf") => "non-finite sample",
        n if n.contains("rate_") => "sample rate",
        n if n.contains("empty") => "empty",
        n if n.contains("bits_") => "bits per sample",
        _ => "",
    }
}

#[test]
fn every_corpus_file_is_decoded_or_refused_quickly_without_growing_memory() {
    let vm_before = support::vm_peak_kib();
    for (name, bytes) in corpus::files() {
        let path = corpus::corpus_dir().join(name);
        for source in [
            AudioSource::File(path.clone()),
            AudioSource::Bytes {
                name: name.to_string(),
                data: Arc::from(bytes.as_slice()),
            },
        ] {
            let start = Instant::now();
            let result = support::front_end(&source, support::capped(CAP_S));
            let took = start.elapsed();
            assert!(took < MAX_TIME, "{name}: took {took:?}");
            match result {
                Ok(decoded) => {
                    assert!(name.starts_with("ok_"), "{name}: decoded {decoded:?}");
                    assert!(decoded.samples > 0, "{name}: {decoded:?}");
                    assert_eq!(decoded.non_finite, 0, "{name}");
                }
                Err(e) => {
                    let message = e.to_string();
                    assert!(name.starts_with("err_"), "{name}: {message}");
                    assert!(e.is_bad_input(), "{message}");
                    assert!(message.contains(name), "must name the file: {message}");
                    assert!(message.contains(expected_reason(name)), "{message}");
                }
            }
        }
    }
    if let Some((before, after)) = vm_before.zip(support::vm_peak_kib()) {
        // A header-sized allocation (hundreds of MB to GB) would show here.
        assert!(
            after - before < 512 * 1024,
            "VmPeak grew {} KiB",
            after - before
        );
    }
}

#[test]
fn ok_files_decode_to_their_content() {
    let samples = |name: &str| {
        let bytes = std::fs::read(corpus::corpus_dir().join(name)).expect("corpus file");
        support::front_end_bytes(name, &bytes, support::capped(CAP_S))
            .unwrap_or_else(|e| panic!("{e}"))
            .samples
    };
    // 1.5 s tones whatever the name says; 0.04 s at 768 kHz; 100 samples at 524 289 Hz; 0.1 s
    // over 6 channels.
    assert_eq!(samples("ok_ogg_named.mp3"), 24_000);
    assert_eq!(samples("ok_mp3_without_extension"), 24_000);
    assert_eq!(samples("ok_id3_64k.mp3"), 24_000);
    assert_eq!(samples("ok_flac_named.wav"), 6_400);
    assert_eq!(samples("ok_rate_768khz.wav"), 640);
    assert_eq!(samples("ok_rate_524289hz.wav"), 3);
    assert_eq!(samples("ok_channels_6_extensible.wav"), 1_600);
}

#[test]
fn a_header_claiming_12_hours_is_refused_after_reading_the_1_s_there() {
    let path = corpus::corpus_dir().join("err_claims_12h.wav");
    let err = support::front_end(&AudioSource::File(path), Default::default())
        .expect_err("the header lies");
    let message = err.to_string();
    assert!(
        message.contains("truncated: decoded 1.00 s of the 43200.00 s"),
        "{message}"
    );
}

#[test]
fn a_50_mb_id3_tag_is_skipped() {
    let mut bytes = corpus::id3(50_000_000, None);
    bytes.extend_from_slice(&corpus::tone("tone.mp3"));
    let start = Instant::now();
    let decoded = support::front_end_bytes("id3_50mb.mp3", &bytes, support::capped(CAP_S))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decoded.samples, 24_000);
    assert!(start.elapsed() < MAX_TIME, "took {:?}", start.elapsed());
}

#[test]
fn a_decompression_bomb_stops_at_the_default_duration_limit() {
    // 28 KB that expand to 36 hours; the default cap is 24 hours.
    let bomb = corpus::flac_bomb(2000);
    let start = Instant::now();
    let mut decoder =
        AudioDecoder::from_bytes(Arc::from(bomb), "bomb.flac", DecodeLimits::default())
            .expect("the header is valid");
    let mut block = Vec::new();
    let err = loop {
        block.clear();
        match decoder.next_mono(&mut block) {
            Ok(true) => {}
            Ok(false) => panic!(
                "decoded {} frames without hitting the cap",
                decoder.frames_decoded()
            ),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, AudioError::LimitExceeded { .. }), "{err}");
    let seconds = decoder.frames_decoded() as f64 / 1000.0;
    assert!((86_400.0..86_500.0).contains(&seconds), "{seconds} s");
    assert!(start.elapsed() < MAX_TIME, "took {:?}", start.elapsed());
}
