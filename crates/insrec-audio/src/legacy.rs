//! resampy's legacy `kaiser_best` band-limited interpolation (resampy ≤ 0.2.2), the resampler that
//! made OpenMIC-2018's features, as a streaming filter. Spec: `shared/reference/vggish.md` §2.3.

/// Zero crossings of the windowed sinc (one wing).
const ZEROS: usize = 64;
/// Table samples per zero crossing.
const NUM_TABLE: usize = 512;
const KAISER_BETA: f64 = 14.769656459379492;
const ROLLOFF: f64 = 0.9475937167399596;

/// Streaming resampy-legacy resampler; bit-compatible with resampy 0.2.2 (f64 throughout).
pub struct LegacyResampy {
    ratio: f64,
    increment: f64,
    scale: f64,
    step: usize,
    window: Vec<f64>,
    delta: Vec<f64>,
    /// Input samples from absolute index `base` on.
    input: Vec<f64>,
    base: usize,
    /// Total input samples pushed so far.
    pushed: usize,
    /// Output time register in input samples (accumulated by repeated addition, as resampy does).
    time: f64,
    produced: usize,
    /// Longest wing in input samples; outputs wait until this much right context is buffered.
    wing: usize,
}

impl LegacyResampy {
    /// A resampler from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Self {
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        let mut window = kaiser_best_table();
        if ratio < 1.0 {
            window.iter_mut().for_each(|h| *h *= ratio);
        }
        let mut delta: Vec<f64> = window.windows(2).map(|w| w[1] - w[0]).collect();
        delta.push(0.0);
        let scale = ratio.min(1.0);
        let step = (scale * NUM_TABLE as f64) as usize;
        let wing = window.len() / step + 2;
        Self {
            ratio,
            increment: 1.0 / ratio,
            scale,
            step,
            window,
            delta,
            input: Vec::new(),
            base: 0,
            pushed: 0,
            time: 0.0,
            produced: 0,
            wing,
        }
    }

    /// Feeds input samples and appends every output that no longer depends on future input.
    pub fn push(&mut self, samples: impl IntoIterator<Item = f64>, out: &mut Vec<f64>) {
        let before = self.input.len();
        self.input.extend(samples);
        self.pushed += self.input.len() - before;
        // Output t needs input up to floor(T_t) + wing, and t < floor(len * ratio) for any final length.
        let ready_len = (self.pushed as f64 * self.ratio) as usize;
        while self.produced < ready_len && (self.time as usize) + self.wing < self.pushed {
            self.emit(usize::MAX, out);
        }
        self.discard_consumed();
    }

    /// Flushes the outputs near the end of the signal; the total output length is `floor(L * ratio)`.
    pub fn finish(&mut self, out: &mut Vec<f64>) {
        let total = (self.pushed as f64 * self.ratio) as usize;
        while self.produced < total {
            self.emit(self.pushed, out);
        }
    }

    /// Computes output `produced` with the signal length known to be at most `len`.
    fn emit(&mut self, len: usize, out: &mut Vec<f64>) {
        let n = self.time as usize;
        let x = |i: usize| self.input[i - self.base];
        let table_len = self.window.len();
        let mut y = 0.0;

        let frac = self.scale * (self.time - n as f64);
        let position = frac * NUM_TABLE as f64;
        let offset = position as usize;
        let eta = position - offset as f64;
        let left = (n + 1).min((table_len - offset) / self.step);
        for i in 0..left {
            let j = offset + i * self.step;
            y += (self.window[j] + eta * self.delta[j]) * x(n - i);
        }

        let frac = self.scale - frac;
        let position = frac * NUM_TABLE as f64;
        let offset = position as usize;
        let eta = position - offset as f64;
        let right = len
            .saturating_sub(n + 1)
            .min((table_len - offset) / self.step);
        for k in 0..right {
            let j = offset + k * self.step;
            y += (self.window[j] + eta * self.delta[j]) * x(n + k + 1);
        }

        out.push(y);
        self.produced += 1;
        self.time += self.increment;
    }

    fn discard_consumed(&mut self) {
        let keep_from = (self.time as usize).saturating_sub(self.wing);
        if keep_from > self.base + 65_536 {
            self.input.drain(..keep_from - self.base);
            self.base = keep_from;
        }
    }
}

/// The right half (`n + 1` values) of the windowed-sinc interpolation table.
fn kaiser_best_table() -> Vec<f64> {
    let n = ZEROS * NUM_TABLE;
    let i0_beta = bessel_i0(KAISER_BETA);
    (0..=n)
        .map(|j| {
            let t = j as f64 * (ZEROS as f64 / n as f64);
            let arg = ROLLOFF * t;
            let sinc = if arg == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
            };
            let ratio = j as f64 / n as f64;
            let taper = bessel_i0(KAISER_BETA * (1.0 - ratio * ratio).max(0.0).sqrt()) / i0_beta;
            taper * ROLLOFF * sinc
        })
        .collect()
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for |x| < 30).
fn bessel_i0(x: f64) -> f64 {
    let quarter_x2 = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..200 {
        term *= quarter_x2 / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-18 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.2660658777520082).abs() < 1e-14);
        assert!((bessel_i0(5.0) - 27.239871823604442).abs() < 1e-11);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let signal: Vec<f64> = (0..50_000)
            .map(|i| ((i as f64) * 0.01).sin() * 0.5)
            .collect();
        let mut one_shot = LegacyResampy::new(44_100, 16_000);
        let mut expected = Vec::new();
        one_shot.push(signal.iter().copied(), &mut expected);
        one_shot.finish(&mut expected);
        let mut streamed = LegacyResampy::new(44_100, 16_000);
        let mut actual = Vec::new();
        for chunk in signal.chunks(777) {
            streamed.push(chunk.iter().copied(), &mut actual);
        }
        streamed.finish(&mut actual);
        assert_eq!(expected.len(), (50_000.0 * (16_000.0 / 44_100.0)) as usize);
        assert_eq!(actual, expected);
    }
}
