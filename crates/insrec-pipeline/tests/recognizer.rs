//! The pipeline's plumbing with a transparent test model: a tone is "present" exactly while it plays.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use insrec_audio::{AudioSource, StreamOptions};
use insrec_core::{FRAME_SECONDS, Instrument, NUM_CLASSES};
use insrec_features::{EXAMPLE_LEN, MEL_BANDS};
use insrec_pipeline::{AnalyzeOptions, FrameEncoder, FrameHead, PipelineError, Recognizer};

/// Embedding = the example's mean log-mel per band (64 values).
struct MeanBands;

impl FrameEncoder for MeanBands {
    fn dim(&self) -> usize {
        MEL_BANDS
    }

    fn encode(&self, examples: &[f32]) -> Result<Vec<f32>, String> {
        Ok(examples
            .chunks(EXAMPLE_LEN)
            .flat_map(|ex| {
                (0..MEL_BANDS)
                    .map(move |b| ex.iter().skip(b).step_by(MEL_BANDS).sum::<f32>() / 96.0)
            })
            .collect())
    }
}

/// "Piano" probability = 1 when the loudest band is well above the log floor (−4.6), else 0.
struct LoudIsPiano;

impl FrameHead for LoudIsPiano {
    fn frame_probabilities(
        &self,
        embeddings: &[f32],
        dim: usize,
    ) -> Result<Vec<[f32; NUM_CLASSES]>, String> {
        Ok(embeddings
            .chunks(dim)
            .map(|e| {
                let mut p = [0.0; NUM_CLASSES];
                p[Instrument::Piano.index()] = if e.iter().copied().fold(f32::MIN, f32::max) > -2.0
                {
                    1.0
                } else {
                    0.0
                };
                p
            })
            .collect())
    }
}

fn recognizer() -> Recognizer {
    Recognizer {
        name: "test".into(),
        stream: StreamOptions::default(),
        encoder: Box::new(MeanBands),
        head: Box::new(LoudIsPiano),
        thresholds: [0.5; NUM_CLASSES],
        half_frame_view: false,
    }
}

/// 44.1 kHz stereo: a 1 kHz tone from 2 s to 6 s, silence elsewhere, 12 s in all.
fn write_tone_file(path: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    for i in 0..44_100 * 12 {
        let t = i as f64 / 44_100.0;
        let v = if (2.0..6.0).contains(&t) {
            (t * 1000.0 * std::f64::consts::TAU).sin() * 0.5
        } else {
            0.0
        };
        for _ in 0..2 {
            w.write_sample((v * 32_767.0) as i16).expect("write");
        }
    }
    w.finalize().expect("finalize");
}

#[test]
fn timeline_follows_the_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("tone.wav");
    write_tone_file(&wav);
    let report = recognizer()
        .analyze(&AudioSource::File(wav.clone()), &AnalyzeOptions::default())
        .expect("analyze");
    assert_eq!(report.path, wav.display().to_string());
    assert!((report.duration_s - 12.0).abs() < 1e-6);
    assert_eq!(
        report.frames.len(),
        12,
        "floor((12 s − 0.015 s) / 0.96 s) frames"
    );
    // The timeline is smoothed over 3 frames: a frame is all tone (all silence) when it and its
    // neighbours (the ends repeated) lie fully inside (outside) the tone.
    let last = report.frames.len() - 1;
    let start = |i: usize| i as f64 * FRAME_SECONDS;
    let fully_inside = |i: usize| start(i) >= 2.0 && start(i) + 0.975 <= 6.0;
    let outside = |i: usize| start(i) + 0.975 <= 2.0 || start(i) >= 6.0;
    let with_neighbours = |i: usize| [i.saturating_sub(1), i, (i + 1).min(last)];
    let (mut tone, mut silence) = (0, 0);
    for (i, frame) in report.frames.iter().enumerate() {
        assert!((frame.start_s - start(i)).abs() < 1e-9);
        let piano = frame.scores[Instrument::Piano.index()];
        if with_neighbours(i).into_iter().all(fully_inside) {
            assert_eq!(piano, 1.0, "frame {i} at {:.2} s", start(i));
            tone += 1;
        }
        if with_neighbours(i).into_iter().all(outside) {
            assert_eq!(piano, 0.0, "frame {i} at {:.2} s", start(i));
            silence += 1;
        }
    }
    assert_eq!(
        (tone, silence),
        (1, 5),
        "frame 4 tone; frames 0 and 8–11 silence"
    );
    assert_eq!(report.present, vec![Instrument::Piano]);
    assert_eq!(report.scores.get(Instrument::Piano), 1.0);
    assert_eq!(report.error, None);
}

/// [`MeanBands`], counting the examples it encodes.
struct Counting(Arc<AtomicUsize>);

impl FrameEncoder for Counting {
    fn dim(&self) -> usize {
        MEL_BANDS
    }

    fn encode(&self, examples: &[f32]) -> Result<Vec<f32>, String> {
        self.0
            .fetch_add(examples.len() / EXAMPLE_LEN, Ordering::Relaxed);
        MeanBands.encode(examples)
    }
}

#[test]
fn the_half_frame_view_is_encoded_and_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("tone.wav");
    write_tone_file(&wav);
    let encoded = Arc::new(AtomicUsize::new(0));
    let report = Recognizer {
        encoder: Box::new(Counting(encoded.clone())),
        half_frame_view: true,
        ..recognizer()
    }
    .analyze(&AudioSource::File(wav), &AnalyzeOptions::default())
    .expect("analyze");
    // 1 198 log-mel frames: 12 examples, and 11 of the grid started 48 frames later.
    assert_eq!(encoded.load(Ordering::Relaxed), 12 + 11);
    assert_eq!(report.frames.len(), 12);
    let piano: Vec<f32> = report
        .frames
        .iter()
        .map(|f| f.scores[Instrument::Piano.index()])
        .collect();
    // Frames 8–11, their neighbours and the shifted examples overlapping them are silence
    // (from 6.72 s); frames 3 and 4's are tone (2–6 s).
    for i in 8..12 {
        assert_eq!(piano[i], 0.0, "frame {i}: {piano:?}");
    }
    assert!(
        piano[3..5].iter().all(|p| (p - 1.0).abs() < 1e-6),
        "{piano:?}"
    );
    // The shifted view moves the edges: without it every score is a multiple of 1/3.
    assert!(
        piano
            .iter()
            .any(|p| ((p * 3.0).round() - p * 3.0).abs() > 1e-3),
        "{piano:?}"
    );
}

#[test]
fn uploads_in_memory_give_the_same_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("tone.wav");
    write_tone_file(&wav);
    let from_file = recognizer()
        .analyze(&AudioSource::File(wav.clone()), &AnalyzeOptions::default())
        .expect("file");
    let bytes = std::fs::read(&wav).expect("read");
    let upload = AudioSource::Bytes {
        name: "tone.wav".into(),
        data: bytes.into(),
    };
    let from_bytes = recognizer()
        .analyze(&upload, &AnalyzeOptions::default())
        .expect("bytes");
    assert_eq!(from_bytes.frames, from_file.frames);
    assert_eq!(from_bytes.path, "tone.wav");
}

#[test]
fn short_cancelled_and_corrupt_inputs_are_errors() {
    let short = AudioSource::Bytes {
        name: "short.wav".into(),
        data: tiny_wav(0.5).into(),
    };
    let err = recognizer()
        .analyze(&short, &AnalyzeOptions::default())
        .expect_err("too short");
    assert!(
        matches!(err, PipelineError::TooShort { .. }) && err.is_bad_input(),
        "{err}"
    );
    assert!(err.to_string().contains("short.wav"), "{err}");

    let cancel = AtomicBool::new(true);
    let ok = AudioSource::Bytes {
        name: "ok.wav".into(),
        data: tiny_wav(3.0).into(),
    };
    let err = recognizer()
        .analyze(
            &ok,
            &AnalyzeOptions {
                cancel: Some(&cancel),
            },
        )
        .expect_err("cancelled");
    assert!(
        matches!(err, PipelineError::Cancelled { .. }) && !err.is_bad_input(),
        "{err}"
    );

    let corrupt = AudioSource::Bytes {
        name: "x.mp3".into(),
        data: vec![7u8; 1000].into(),
    };
    let err = recognizer()
        .analyze(&corrupt, &AnalyzeOptions::default())
        .expect_err("corrupt");
    assert!(
        err.is_bad_input() && err.to_string().contains("x.mp3"),
        "{err}"
    );
}

fn tiny_wav(seconds: f64) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cursor, spec).expect("writer");
    for i in 0..(seconds * 16_000.0) as usize {
        w.write_sample(((i as f32 * 0.2).sin() * 8000.0) as i16)
            .expect("write");
    }
    w.finalize().expect("finalize");
    cursor.into_inner()
}
