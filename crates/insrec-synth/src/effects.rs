//! Mono audio effects applied to the 16 kHz mix: chorus, Freeverb-style reverb, shelving and
//! pass filters, a compressor, soft clipping and background noise.

use std::f64::consts::{PI, TAU};

use crate::rng::ClipRng;

/// A biquad filter (RBJ audio-EQ cookbook), direct form I.
#[derive(Debug, Clone, Copy)]
pub struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    fn normalised(b: [f64; 3], a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b: [b[0] / a0, b[1] / a0, b[2] / a0],
            a: [a1 / a0, a2 / a0],
        }
    }

    /// Second-order low-pass (Q = 0.707).
    pub fn lowpass(rate_hz: f64, cutoff_hz: f64) -> Self {
        let w = TAU * cutoff_hz / rate_hz;
        let alpha = w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let c = w.cos();
        Self::normalised(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// Second-order high-pass (Q = 0.707).
    pub fn highpass(rate_hz: f64, cutoff_hz: f64) -> Self {
        let w = TAU * cutoff_hz / rate_hz;
        let alpha = w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let c = w.cos();
        Self::normalised(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// High shelf with slope 1: `gain_db` above `corner_hz`.
    pub fn high_shelf(rate_hz: f64, corner_hz: f64, gain_db: f64) -> Self {
        let a = 10f64.powf(gain_db / 40.0);
        let w = TAU * corner_hz / rate_hz;
        let (s, c) = w.sin_cos();
        let alpha = s / 2.0 * 2f64.sqrt();
        let k = 2.0 * a.sqrt() * alpha;
        Self::normalised(
            [
                a * ((a + 1.0) + (a - 1.0) * c + k),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * c),
                a * ((a + 1.0) + (a - 1.0) * c - k),
            ],
            (a + 1.0) - (a - 1.0) * c + k,
            2.0 * ((a - 1.0) - (a + 1.0) * c),
            (a + 1.0) - (a - 1.0) * c - k,
        )
    }

    /// Filters in place.
    pub fn process(&self, x: &mut [f32]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for s in x {
            let x0 = f64::from(*s);
            let y0 =
                self.b[0] * x0 + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            *s = y0 as f32;
        }
    }
}

/// Mono Freeverb: eight damped comb filters in parallel, four all-passes in series.
pub fn reverb(x: &mut [f32], rate_hz: f64, room: f64, damp: f64, wet: f64) {
    const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
    const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
    let scale = rate_hz / 44_100.0;
    let feedback = (0.7 + 0.28 * room) as f32;
    let (damp, undamped) = (damp as f32, 1.0 - damp as f32);
    // The eight combs advance together, one sample at a time: their feedback loops are
    // independent chains that the CPU overlaps.
    let mut combs = COMBS.map(|len| vec![0.0f32; ((len as f64 * scale) as usize).max(1)]);
    let (mut index, mut store) = ([0usize; 8], [0.0f32; 8]);
    let mut wet_sum: Vec<f32> = x
        .iter()
        .map(|&s| {
            let inp = s * 0.015;
            let mut out = 0.0;
            for ((buf, i), st) in combs.iter_mut().zip(&mut index).zip(&mut store) {
                let y = buf[*i];
                *st = y * undamped + *st * damp;
                buf[*i] = inp + *st * feedback;
                out += y;
                *i = if *i + 1 == buf.len() { 0 } else { *i + 1 };
            }
            out
        })
        .collect();
    for len in ALLPASSES {
        let len = ((len as f64 * scale) as usize).max(1);
        let mut buf = vec![0.0f32; len];
        let mut i = 0;
        for s in wet_sum.iter_mut() {
            let b = buf[i];
            buf[i] = *s + b * 0.5;
            *s = b - *s;
            i = if i + 1 == len { 0 } else { i + 1 };
        }
    }
    let wet_gain = (wet * 3.0) as f32;
    let dry_gain = (1.0 - wet) as f32;
    for (s, w) in x.iter_mut().zip(&wet_sum) {
        *s = *s * dry_gain + w * wet_gain;
    }
}

/// Chorus: the signal plus a copy delayed by `delay_s ± depth_s`, the delay swept by a sine.
pub fn chorus(x: &mut [f32], rate_hz: f64, delay_s: f64, depth_s: f64, lfo_hz: f64, mix: f64) {
    let dry = x.to_vec();
    for (n, s) in x.iter_mut().enumerate() {
        let d = (delay_s + depth_s * (TAU * lfo_hz * n as f64 / rate_hz).sin()) * rate_hz;
        let pos = n as f64 - d;
        if pos < 0.0 {
            continue;
        }
        let i = pos as usize;
        let frac = (pos - i as f64) as f32;
        let delayed = dry[i] + (dry.get(i + 1).copied().unwrap_or(0.0) - dry[i]) * frac;
        *s = dry[n] * (1.0 - mix as f32 * 0.5) + delayed * mix as f32 * 0.5;
    }
}

/// Feed-forward compressor with an RMS detector (5 ms attack, 120 ms release).
pub fn compress(x: &mut [f32], rate_hz: f64, threshold_db: f64, ratio: f64) {
    let attack = (-1.0 / (0.005 * rate_hz)).exp();
    let release = (-1.0 / (0.12 * rate_hz)).exp();
    let mut env = 0.0f64;
    for s in x {
        let p = f64::from(*s) * f64::from(*s);
        let coef = if p > env { attack } else { release };
        env = coef * env + (1.0 - coef) * p;
        let level_db = 10.0 * env.max(1e-12).log10();
        if level_db > threshold_db {
            let reduction_db = (level_db - threshold_db) * (1.0 - 1.0 / ratio);
            *s *= 10f64.powf(-reduction_db / 20.0) as f32;
        }
    }
}

/// Soft clipping: `tanh(drive x) / tanh(drive)`.
pub fn soft_clip(x: &mut [f32], drive: f64) {
    let norm = drive.tanh();
    for s in x {
        *s = ((f64::from(*s) * drive).tanh() / norm) as f32;
    }
}

/// Adds white or pink noise at `level` RMS.
pub fn add_noise(x: &mut [f32], level: f64, pink: bool, rng: &mut ClipRng) {
    // Paul Kellet's economy pink filter.
    let (mut b0, mut b1, mut b2) = (0.0, 0.0, 0.0);
    let noise: Vec<f32> = (0..x.len())
        .map(|_| {
            let w = rng.unit() * 2.0 - 1.0;
            if pink {
                b0 = 0.99765 * b0 + w * 0.0990460;
                b1 = 0.96300 * b1 + w * 0.2965164;
                b2 = 0.57000 * b2 + w * 1.0526913;
                (b0 + b1 + b2 + w * 0.1848) as f32
            } else {
                w as f32
            }
        })
        .collect();
    let gain = (level / rms(&noise).max(1e-12)) as f32;
    for (s, n) in x.iter_mut().zip(noise) {
        *s += n * gain;
    }
}

/// Root mean square.
pub fn rms(x: &[f32]) -> f64 {
    (sum_of_squares(x) / x.len().max(1) as f64).sqrt()
}

/// Σ x², accumulated in f64 over eight interleaved lanes (so that it vectorises).
pub fn sum_of_squares(x: &[f32]) -> f64 {
    let chunks = x.chunks_exact(8);
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|&s| f64::from(s).powi(2))
        .sum();
    let lanes = chunks.fold([0.0f64; 8], |mut acc, c| {
        acc.iter_mut()
            .zip(c)
            .for_each(|(a, &s)| *a += f64::from(s) * f64::from(s));
        acc
    });
    lanes.iter().sum::<f64>() + tail
}

/// Largest absolute sample.
pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
}

/// Gain of a constant-power pan position (−1 left … 1 right) folded down to mono: 1 in the
/// centre, −3 dB at the sides.
pub fn pan_fold_down(pan: f64) -> f64 {
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * PI / 4.0;
    (theta.cos() + theta.sin()) / 2f64.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (TAU * hz * i as f64 / 16_000.0).sin() as f32)
            .collect()
    }

    #[test]
    fn filters_pass_and_stop_where_they_should() {
        let mut low = sine(100.0, 16_000);
        let mut high = sine(5_000.0, 16_000);
        Biquad::lowpass(16_000.0, 1_000.0).process(&mut low);
        Biquad::lowpass(16_000.0, 1_000.0).process(&mut high);
        assert!((rms(&low[4000..]) - 0.707).abs() < 0.02);
        assert!(rms(&high[4000..]) < 0.05);
        let mut shelf = sine(6_000.0, 16_000);
        Biquad::high_shelf(16_000.0, 1_000.0, 6.0).process(&mut shelf);
        let gain_db = 20.0 * (rms(&shelf[4000..]) / 0.707).log10();
        assert!((gain_db - 6.0).abs() < 0.7, "{gain_db}");
        let mut hp = sine(50.0, 16_000);
        Biquad::highpass(16_000.0, 400.0).process(&mut hp);
        assert!(rms(&hp[4000..]) < 0.02);
    }

    #[test]
    fn sum_of_squares_matches_the_plain_sum_at_every_length() {
        let x = sine(440.0, 1_000);
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 999, 1_000] {
            let plain: f64 = x[..n].iter().map(|&s| f64::from(s).powi(2)).sum();
            let lanes = sum_of_squares(&x[..n]);
            assert!(
                (lanes - plain).abs() <= 1e-12 * plain.max(1.0),
                "{n}: {lanes} vs {plain}"
            );
        }
        assert_eq!(sum_of_squares(&[3.0; 9]), 81.0);
    }

    #[test]
    fn reverb_adds_a_decaying_tail_and_compressor_limits() {
        let mut x = vec![0.0f32; 32_000];
        x[100] = 1.0;
        reverb(&mut x, 16_000.0, 0.8, 0.3, 0.3);
        let tail = rms(&x[2_000..6_000]);
        let late = rms(&x[28_000..]);
        assert!(tail > 1e-4 && late < tail, "{tail} {late}");
        let mut loud = sine(440.0, 16_000);
        compress(&mut loud, 16_000.0, -20.0, 4.0);
        let out_db = 20.0 * rms(&loud[8000..]).log10();
        // -3 dBFS in, 17 dB over the threshold: about 12.75 dB of reduction (the detector ripples).
        assert!((out_db - (-3.0 - 12.75)).abs() < 2.5, "{out_db}");
        assert!((pan_fold_down(0.0) - 1.0).abs() < 1e-12);
        assert!((pan_fold_down(1.0) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
    }

    #[test]
    fn noise_has_the_requested_level() {
        let mut rng = ClipRng::for_clip(0, 0);
        for pink in [false, true] {
            let mut x = vec![0.0f32; 64_000];
            add_noise(&mut x, 0.01, pink, &mut rng);
            let level = rms(&x);
            assert!((level / 0.01 - 1.0).abs() < 1e-3, "pink={pink}: {level}");
        }
        let mut c = vec![1.0f32, -1.0, 0.1];
        soft_clip(&mut c, 2.0);
        assert!(
            (c[0] - 1.0).abs() < 1e-6 && (c[1] + 1.0).abs() < 1e-6,
            "{c:?}"
        );
        assert!(c[2] > 0.15, "quiet samples are lifted: {c:?}");
    }
}
