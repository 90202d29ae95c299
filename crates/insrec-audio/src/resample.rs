//! Stage 2: resampling to 16 kHz — a fast FFT resampler (rubato, the default) or resampy's legacy
//! `kaiser_best` (what OpenMIC's features were made with).

use insrec_core::SAMPLE_RATE_HZ;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, Fft, FixedAsync, FixedSync, Indexing, SincInterpolationParameters};

use crate::{AudioError, LegacyResampy, Result};

/// Input block of the FFT resampler, in input samples.
const FAST_CHUNK: usize = 4096;
/// Largest `from_hz / gcd(from_hz, 16000)` resampled by FFT. The FFT resampler's transform spans a
/// multiple of that many input samples, so an odd rate (44 101 Hz, or 524 289 Hz as a fuzzer
/// found: 0.7 s and 42 MB to set up for 100 samples) would make it huge; such rates go through
/// rubato's asynchronous sinc resampler instead. Every common rate is far below (44.1 kHz: 441,
/// 705.6 kHz: 7 056).
const MAX_FFT_UNIT: u32 = 8192;

/// Which resampling algorithm to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResamplerKind {
    /// rubato's synchronous FFT resampler: fast, high quality.
    #[default]
    Fast,
    /// resampy ≤ 0.2.2 `kaiser_best`, bit-compatible; about 40× slower.
    ResampyLegacy,
}

/// A streaming resampler to 16 kHz (identity when the input already is 16 kHz).
pub enum Resampler {
    Identity,
    Fast(Box<FastResampler>),
    Legacy(Box<LegacyResampy>),
}

impl Resampler {
    /// A resampler from `from_hz` to 16 kHz.
    pub fn new(kind: ResamplerKind, from_hz: u32) -> Result<Self> {
        Ok(match kind {
            _ if from_hz == SAMPLE_RATE_HZ => Self::Identity,
            ResamplerKind::Fast => Self::Fast(Box::new(FastResampler::new(from_hz)?)),
            ResamplerKind::ResampyLegacy => {
                Self::Legacy(Box::new(LegacyResampy::new(from_hz, SAMPLE_RATE_HZ)))
            }
        })
    }

    /// Feeds input samples, appending whatever output is ready.
    pub fn push(&mut self, input: &[f64], out: &mut Vec<f64>) -> Result<()> {
        match self {
            Self::Identity => out.extend_from_slice(input),
            Self::Fast(r) => r.push(input, out)?,
            Self::Legacy(r) => r.push(input.iter().copied(), out),
        }
        Ok(())
    }

    /// Flushes the tail at the end of the signal.
    pub fn finish(&mut self, out: &mut Vec<f64>) -> Result<()> {
        match self {
            Self::Identity => {}
            Self::Fast(r) => r.finish(out)?,
            Self::Legacy(r) => r.finish(out),
        }
        Ok(())
    }
}

/// rubato's FFT resampler (its sinc resampler for odd rates, see [`MAX_FFT_UNIT`]) wrapped for
/// streaming: trims the filter delay and emits exactly `floor(L · 16000 / from_hz)` samples in total.
pub struct FastResampler {
    inner: Box<dyn rubato::Resampler<f32>>,
    from_hz: u32,
    pending: Vec<f32>,
    output: Vec<f32>,
    delay_left: usize,
    consumed: u64,
    produced: u64,
}

impl FastResampler {
    /// A resampler from `from_hz` to 16 kHz.
    pub fn new(from_hz: u32) -> Result<Self> {
        let error = |e: rubato::ResamplerConstructionError| AudioError::Resample(e.to_string());
        let inner: Box<dyn rubato::Resampler<f32>> =
            if from_hz / gcd(from_hz, SAMPLE_RATE_HZ) <= MAX_FFT_UNIT {
                Box::new(
                    Fft::<f32>::new(
                        from_hz as usize,
                        SAMPLE_RATE_HZ as usize,
                        FAST_CHUNK,
                        1,
                        FixedSync::Input,
                    )
                    .map_err(error)?,
                )
            } else {
                Box::new(
                    Async::<f32>::new_sinc(
                        f64::from(SAMPLE_RATE_HZ) / f64::from(from_hz),
                        1.0,
                        &SincInterpolationParameters::default(),
                        FAST_CHUNK,
                        1,
                        FixedAsync::Input,
                    )
                    .map_err(error)?,
                )
            };
        let delay_left = inner.output_delay();
        let output = vec![0.0; inner.output_frames_max()];
        Ok(Self {
            inner,
            from_hz,
            pending: Vec::with_capacity(2 * FAST_CHUNK),
            output,
            delay_left,
            consumed: 0,
            produced: 0,
        })
    }

    fn push(&mut self, input: &[f64], out: &mut Vec<f64>) -> Result<()> {
        self.pending.extend(input.iter().map(|&x| x as f32));
        let need = self.inner.input_frames_next();
        let mut start = 0;
        while self.pending.len() - start >= need {
            self.process(start, None, out)?;
            start += need;
        }
        self.pending.drain(..start);
        self.consumed += start as u64;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<f64>) -> Result<()> {
        let total_in = self.consumed + self.pending.len() as u64;
        let target = total_in * u64::from(SAMPLE_RATE_HZ) / u64::from(self.from_hz);
        let need = self.inner.input_frames_next();
        let partial = self.pending.len();
        self.pending.resize(need, 0.0);
        self.process(0, Some(partial), out)?;
        self.pending.clear();
        while self.produced < target {
            self.pending.resize(need, 0.0);
            self.process(0, Some(0), out)?;
        }
        out.truncate(out.len() - (self.produced - target) as usize);
        self.produced = target;
        Ok(())
    }

    fn process(&mut self, start: usize, partial: Option<usize>, out: &mut Vec<f64>) -> Result<()> {
        let need = self.inner.input_frames_next();
        let input = InterleavedSlice::new(&self.pending[start..start + need], 1, need)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let frames_out = self.output.len();
        let mut output = InterleavedSlice::new_mut(&mut self.output[..], 1, frames_out)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, written) = self
            .inner
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let skip = self.delay_left.min(written);
        self.delay_left -= skip;
        out.extend(self.output[skip..written].iter().map(|&x| f64::from(x)));
        self.produced += (written - skip) as u64;
        Ok(())
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Resamples a whole mono buffer to 16 kHz with the fast resampler (for short, in-memory audio).
pub fn resample_to_16k(samples: &[f32], from_hz: u32) -> Result<Vec<f32>> {
    let mut resampler = Resampler::new(ResamplerKind::Fast, from_hz)?;
    let input: Vec<f64> = samples.iter().map(|&x| f64::from(x)).collect();
    let mut out =
        Vec::with_capacity(samples.len() * SAMPLE_RATE_HZ as usize / from_hz.max(1) as usize + 1);
    resampler.push(&input, &mut out)?;
    resampler.finish(&mut out)?;
    Ok(out.into_iter().map(|x| x as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f64, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn odd_rates_take_the_sinc_path_with_small_blocks() {
        // 524 289 Hz shares no factor with 16 kHz: the FFT resampler would wait for (and
        // transform) blocks of 524 289 samples; the sinc resampler takes ordinary ones.
        let resampler = FastResampler::new(524_289).expect("resampler");
        assert!(resampler.inner.input_frames_next() <= 2 * FAST_CHUNK);
        let out = resample_to_16k(&[0.25; 100], 524_289).expect("resample");
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn fast_resampler_keeps_length_timing_and_level() {
        // 44 101 Hz takes the sinc path (see MAX_FFT_UNIT).
        for rate in [8_000, 22_050, 44_100, 44_101, 48_000, 96_000] {
            let input = sine(rate, 100.0, 1.3);
            let out = resample_to_16k(&input, rate).expect("resample");
            assert_eq!(
                out.len() as u64,
                input.len() as u64 * 16_000 / u64::from(rate),
                "rate {rate}"
            );
            // Away from the edges it is the same sine, aligned within half an output sample (the
            // sinc path of odd rates within one: rubato reports its delay in whole samples).
            let tolerance = if rate == 44_101 { 0.04 } else { 0.02 };
            let reference = sine(16_000, 100.0, 1.3);
            let err = out[2000..18000]
                .iter()
                .zip(&reference[2000..18000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < tolerance, "rate {rate}: max error {err}");
            // A 3 kHz tone keeps its level; a 7.9 kHz tone is near the cut-off, 12 kHz must vanish.
            let loud = resample_to_16k(&sine(rate, 3000.0, 1.0), rate).expect("resample");
            let level = rms(&loud[2000..14000]) / std::f32::consts::FRAC_1_SQRT_2;
            assert!(
                (level - 1.0).abs() < 0.01,
                "rate {rate}: 3 kHz level {level}"
            );
            if rate > 24_000 {
                let alias = resample_to_16k(&sine(rate, 12_000.0, 1.0), rate).expect("resample");
                assert!(
                    rms(&alias[2000..14000]) < 1e-3,
                    "rate {rate}: 12 kHz leaks through"
                );
            }
        }
    }

    #[test]
    fn fast_resampler_streaming_equals_one_shot() {
        let input = sine(44_100, 1000.0, 2.0);
        let one_shot = resample_to_16k(&input, 44_100).expect("resample");
        let mut streamed = Vec::new();
        let mut r = Resampler::new(ResamplerKind::Fast, 44_100).expect("resampler");
        for chunk in input.chunks(1153) {
            let chunk: Vec<f64> = chunk.iter().map(|&x| f64::from(x)).collect();
            r.push(&chunk, &mut streamed).expect("push");
        }
        r.finish(&mut streamed).expect("finish");
        let streamed: Vec<f32> = streamed.into_iter().map(|x| x as f32).collect();
        assert_eq!(streamed, one_shot);
    }
}
