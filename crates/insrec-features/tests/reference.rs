//! The front end against the golden vectors in `shared/fixtures/vggish/`.

use insrec_features::{
    EXAMPLE_FRAMES, EXAMPLE_LEN, FFT_BINS, HALF_EXAMPLE_FRAMES, LogMelFrontend, MEL_BANDS,
    example_count, examples,
};
use insrec_testutil::{assert_close, read_npy_flat};

const SIGNALS: [&str; 4] = [
    "sine_1khz_2s",
    "chirp_100_7000hz_3s",
    "noise_seed0_1p5s",
    "sine_1khz_15600samples",
];

fn wav16k(name: &str) -> Vec<f64> {
    read_npy_flat::<f32>(format!("vggish/{name}.wav16k.f32.npy"))
        .0
        .into_iter()
        .map(f64::from)
        .collect()
}

/// All log-mel frames of a signal in f64, as the reference computes them.
fn log_mel_f64(samples: &[f64]) -> Vec<f64> {
    let mut frames = Vec::new();
    LogMelFrontend::new().push_frames(samples, |f| frames.extend_from_slice(f));
    frames
}

#[test]
fn log_mel_examples_match_reference_in_f64() {
    for name in SIGNALS {
        let (expected, shape) = read_npy_flat::<f64>(format!("vggish/{name}.examples.f64.npy"));
        let frames = log_mel_f64(&wav16k(name));
        let n = shape[0] * EXAMPLE_LEN;
        assert!(
            frames.len() >= n,
            "{name}: only {} log-mel values",
            frames.len()
        );
        assert_close(name, &frames[..n], &expected, 1e-6);
    }
}

#[test]
fn log_mel_examples_match_reference_in_f32() {
    for name in SIGNALS {
        let (expected, shape) = read_npy_flat::<f64>(format!("vggish/{name}.examples.f64.npy"));
        let out = examples(&wav16k(name));
        assert_eq!(out.count(), shape[0], "{name}: example count");
        let actual: Vec<f64> = out.data.iter().map(|&v| f64::from(v)).collect();
        assert_close(name, &actual, &expected, 2e-4);
    }
}

#[test]
fn openmic_waveform_examples_match_reference() {
    let (expected, shape) = read_npy_flat::<f64>("vggish/000046_3840.examples_openmic.f64.npy");
    assert_eq!(shape, [10, 96, 64]);
    let frames = log_mel_f64(&openmic_wav());
    assert_close(
        "000046_3840 f64",
        &frames[..expected.len()],
        &expected,
        1e-6,
    );
    let out = examples(&openmic_wav());
    assert_eq!(out.count(), 10);
    let actual: Vec<f64> = out.data.iter().map(|&v| f64::from(v)).collect();
    assert_close("000046_3840 f32", &actual, &expected, 2e-4);
}

#[test]
fn stft_magnitudes_match_reference() {
    // Reconstruct |rFFT| from the log-mel pipeline's pieces: window a frame, transform, compare.
    use realfft::RealFftPlanner;
    let window = insrec_features::periodic_hann(400);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(512);
    for name in SIGNALS {
        let (expected, shape) =
            read_npy_flat::<f64>(format!("vggish/{name}.stft_mag_first8.f64.npy"));
        assert_eq!(shape, [8, FFT_BINS]);
        let samples = wav16k(name);
        let mut actual = Vec::new();
        for f in 0..8 {
            let mut input = fft.make_input_vec();
            for n in 0..400 {
                input[n] = samples[f * 160 + n] * window[n];
            }
            let mut out = fft.make_output_vec();
            fft.process(&mut input, &mut out).expect("fft");
            actual.extend(out.iter().map(|c| c.norm()));
        }
        for (a, e) in actual.iter().zip(&expected) {
            assert!(
                (a - e).abs() <= 1e-9 * e.abs().max(1.0),
                "{name}: {a} vs {e}"
            );
        }
    }
}

#[test]
fn example_counts_follow_the_short_input_rules() {
    assert_eq!(example_count(15_599), 0);
    assert_eq!(example_count(15_600), 1);
    assert_eq!(example_count(239), 0);
    assert_eq!(example_count(0), 0);
    assert_eq!(example_count(160_000), 10);
    assert_eq!(example_count(240 + 15_360 * 3), 3);
    assert_eq!(example_count(240 + 15_360 * 3 - 1), 2);
    assert_eq!(examples(&vec![0.1; 15_599]).count(), 0);
    assert_eq!(examples(&vec![0.1; 15_600]).count(), 1);
    assert_eq!(MEL_BANDS, 64);
}

#[test]
fn streaming_in_chunks_equals_one_shot() {
    // A long synthetic signal (a minute of a swept tone plus noise-like harmonics).
    let samples: Vec<f64> = (0..16_000 * 60)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            0.3 * (2.0 * std::f64::consts::PI * (200.0 + 50.0 * t) * t).sin()
                + 0.05 * (((i as u64 * 7919) % 1000) as f64 / 500.0 - 1.0)
        })
        .collect();
    let one_shot = examples(&samples);
    assert_eq!(one_shot.count(), example_count(samples.len()));
    for chunk in [1, 159, 160, 4_096, 100_003] {
        let mut frontend = LogMelFrontend::new();
        let mut streamed = insrec_features::Examples::default();
        for piece in samples.chunks(chunk) {
            frontend.push(piece, &mut streamed);
        }
        assert_eq!(streamed, one_shot, "chunk size {chunk}");
    }
}

fn openmic_wav() -> Vec<f64> {
    read_npy_flat::<f32>("vggish/000046_3840.wav16k_openmic.f32.npy")
        .0
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn the_half_frame_view_is_the_grid_started_48_frames_later() {
    let samples: Vec<f64> = (0..16_000 * 12)
        .map(|i| (i as f64 * 0.013).sin() * (1.0 + (i / 7_000) as f64))
        .collect();
    let frames: Vec<f32> = {
        let mut all = Vec::new();
        LogMelFrontend::new().push_frames(&samples, |f| all.extend(f.iter().map(|&v| v as f32)));
        all
    };
    let (mut base, mut shifted) = (
        insrec_features::Examples::default(),
        insrec_features::Examples::default(),
    );
    let mut frontend = LogMelFrontend::new();
    for piece in samples.chunks(4_001) {
        frontend.push_views(piece, &mut base, &mut shifted);
    }
    assert_eq!(base, examples(&samples));
    // 1 198 frames: 12 examples, and 11 more starting at frame 48.
    let n_frames = frames.len() / MEL_BANDS;
    assert_eq!(n_frames, 1_198);
    assert_eq!(
        shifted.count(),
        (n_frames - HALF_EXAMPLE_FRAMES) / EXAMPLE_FRAMES
    );
    assert_eq!(shifted.count(), 11);
    for i in 0..shifted.count() {
        let start = (HALF_EXAMPLE_FRAMES + i * EXAMPLE_FRAMES) * MEL_BANDS;
        assert_eq!(
            shifted.example(i),
            &frames[start..start + EXAMPLE_LEN],
            "example {i}"
        );
    }
}
