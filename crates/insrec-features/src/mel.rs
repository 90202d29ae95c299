//! The periodic Hann window and the HTK mel filterbank of VGGish (`vggish.md` §3–4).

use crate::{FFT_BINS, MEL_BANDS};

const LOWER_EDGE_HZ: f64 = 125.0;
const UPPER_EDGE_HZ: f64 = 7500.0;
const NYQUIST_HZ: f64 = 8000.0;

/// `w[n] = 0.5 − 0.5 cos(2πn/N)` for n = 0..N (periodic, not symmetric).
pub fn periodic_hann(len: usize) -> Vec<f64> {
    (0..len)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / len as f64).cos())
        .collect()
}

/// HTK mel scale: `1127 ln(1 + f/700)`.
fn hz_to_mel(hz: f64) -> f64 {
    1127.0 * (1.0 + hz / 700.0).ln()
}

/// NumPy's `linspace(start, stop, num)`: `start + i·step`, last point exactly `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

/// The 257 × 64 triangular filterbank, stored sparsely: for each band, its first non-zero bin and weights.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    bands: Vec<(usize, Vec<f64>)>,
}

impl Default for MelFilterbank {
    fn default() -> Self {
        Self::new()
    }
}

impl MelFilterbank {
    /// The VGGish filterbank: 64 bands between 125 and 7500 Hz over 257 bins, DC bin zeroed.
    pub fn new() -> Self {
        let bin_mel: Vec<f64> = linspace(0.0, NYQUIST_HZ, FFT_BINS)
            .into_iter()
            .map(hz_to_mel)
            .collect();
        let edges = linspace(
            hz_to_mel(LOWER_EDGE_HZ),
            hz_to_mel(UPPER_EDGE_HZ),
            MEL_BANDS + 2,
        );
        let bands = (0..MEL_BANDS)
            .map(|m| {
                let (lower, center, upper) = (edges[m], edges[m + 1], edges[m + 2]);
                let weights: Vec<f64> = bin_mel
                    .iter()
                    .enumerate()
                    .map(|(k, &mel)| {
                        if k == 0 {
                            return 0.0; // HTK excludes the DC bin.
                        }
                        let rising = (mel - lower) / (center - lower);
                        let falling = (upper - mel) / (upper - center);
                        rising.min(falling).max(0.0)
                    })
                    .collect();
                let first = weights.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                (first, weights[first..=last].to_vec())
            })
            .collect();
        Self { bands }
    }

    /// The dense matrix `W[k, m]`, row-major `[257, 64]`.
    pub fn matrix(&self) -> Vec<f64> {
        let mut w = vec![0.0; FFT_BINS * MEL_BANDS];
        for (m, (first, weights)) in self.bands.iter().enumerate() {
            for (j, &value) in weights.iter().enumerate() {
                w[(first + j) * MEL_BANDS + m] = value;
            }
        }
        w
    }

    /// `out[m] = Σ_k magnitudes[k] · W[k, m]`.
    pub fn apply(&self, magnitudes: &[f64], out: &mut [f64]) {
        for ((first, weights), o) in self.bands.iter().zip(out.iter_mut()) {
            *o = magnitudes[*first..*first + weights.len()]
                .iter()
                .zip(weights)
                .map(|(a, b)| a * b)
                .sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insrec_testutil::{assert_close, read_npy_flat};

    #[test]
    fn mel_matrix_matches_reference() {
        let (expected, shape) = read_npy_flat::<f64>("vggish/mel_matrix_257x64.f64.npy");
        assert_eq!(shape, [FFT_BINS, MEL_BANDS]);
        assert_close(
            "mel matrix",
            &MelFilterbank::new().matrix(),
            &expected,
            1e-12,
        );
    }

    #[test]
    fn periodic_hann_matches_reference() {
        let (expected, _) = read_npy_flat::<f64>("vggish/periodic_hann_400.f64.npy");
        let window = periodic_hann(crate::WINDOW_SAMPLES);
        assert_close("hann", &window, &expected, 1e-15);
        assert_eq!(window[0], 0.0);
        assert_eq!(window[200], 1.0);
    }
}
