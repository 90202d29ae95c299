//! The streaming log-mel front end.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::{
    EXAMPLE_FRAMES, EXAMPLE_LEN, FFT_BINS, FFT_SIZE, HALF_EXAMPLE_FRAMES, HOP_SAMPLES, LOG_OFFSET,
    MEL_BANDS, MelFilterbank, WINDOW_SAMPLES, periodic_hann,
};

/// Consumed input kept before the buffer is compacted.
const COMPACT_AFTER: usize = 1 << 16;

/// Log-mel examples `[count, 96, 64]`, row-major `f32` (what the encoders consume).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Examples {
    pub data: Vec<f32>,
}

impl Examples {
    /// Number of 96 × 64 examples.
    pub fn count(&self) -> usize {
        self.data.len() / EXAMPLE_LEN
    }

    /// Example `i` as 96 × 64 values.
    pub fn example(&self, i: usize) -> &[f32] {
        &self.data[i * EXAMPLE_LEN..(i + 1) * EXAMPLE_LEN]
    }
}

/// Number of examples VGGish makes of `samples` 16 kHz samples:
/// `1 + floor((floor((L − 400)/160) + 1 − 96) / 96)`, and 0 when that is negative.
pub fn example_count(samples: usize) -> usize {
    if samples < WINDOW_SAMPLES {
        return 0;
    }
    let frames = (samples - WINDOW_SAMPLES) / HOP_SAMPLES + 1;
    if frames < EXAMPLE_FRAMES {
        0
    } else {
        (frames - EXAMPLE_FRAMES) / EXAMPLE_FRAMES + 1
    }
}

/// Streaming VGGish front end: push 16 kHz samples in any chunking, get log-mel frames (f64) or
/// complete examples (f32) as soon as they are complete. Results do not depend on the chunking.
pub struct LogMelFrontend {
    window: Vec<f64>,
    mel: MelFilterbank,
    fft: Arc<dyn RealToComplex<f64>>,
    fft_in: Vec<f64>,
    fft_out: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    magnitudes: Vec<f64>,
    frame: Vec<f64>,
    pending: Vec<f64>,
    /// Index in `pending` of the next frame's first sample.
    position: usize,
    /// The examples being assembled.
    grid: ExampleGrid,
    /// The half-frame view's examples being assembled.
    shifted: ExampleGrid,
}

/// Groups a stream of log-mel frames into examples, starting `skip` frames in.
#[derive(Debug, Default)]
struct ExampleGrid {
    skip: usize,
    example: Vec<f32>,
}

impl ExampleGrid {
    fn starting_at(skip: usize) -> Self {
        Self {
            skip,
            example: Vec::with_capacity(EXAMPLE_LEN),
        }
    }

    fn push(&mut self, frame: &[f64], out: &mut Examples) {
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        self.example.extend(frame.iter().map(|&v| v as f32));
        if self.example.len() == EXAMPLE_LEN {
            out.data.extend_from_slice(&self.example);
            self.example.clear();
        }
    }
}

impl Default for LogMelFrontend {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMelFrontend {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(FFT_SIZE);
        Self {
            window: periodic_hann(WINDOW_SAMPLES),
            mel: MelFilterbank::new(),
            fft_in: fft.make_input_vec(),
            fft_out: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            magnitudes: vec![0.0; FFT_BINS],
            frame: vec![0.0; MEL_BANDS],
            pending: Vec::new(),
            position: 0,
            grid: ExampleGrid::starting_at(0),
            shifted: ExampleGrid::starting_at(HALF_EXAMPLE_FRAMES),
        }
    }

    /// Feeds samples; calls `on_frame` with each completed log-mel frame (64 values, f64).
    pub fn push_frames(&mut self, samples: &[f64], mut on_frame: impl FnMut(&[f64])) {
        self.pending.extend_from_slice(samples);
        while self.position + WINDOW_SAMPLES <= self.pending.len() {
            self.compute_frame();
            on_frame(&self.frame);
            self.position += HOP_SAMPLES;
        }
        if self.position >= COMPACT_AFTER {
            self.pending.drain(..self.position);
            self.position = 0;
        }
    }

    /// Feeds samples; appends each completed 96 × 64 example to `out`. Trailing frames that do not
    /// fill an example are kept for the next call and dropped at the end of the stream.
    pub fn push(&mut self, samples: &[f64], out: &mut Examples) {
        let mut grid = std::mem::take(&mut self.grid);
        self.push_frames(samples, |frame| grid.push(frame, out));
        self.grid = grid;
    }

    /// As [`push`](Self::push), and also appends to `shifted` the examples of the half-frame
    /// view: the same grid started [`HALF_EXAMPLE_FRAMES`] frames (0.48 s) later.
    pub fn push_views(&mut self, samples: &[f64], out: &mut Examples, shifted: &mut Examples) {
        let (mut grid, mut shifted_grid) = (
            std::mem::take(&mut self.grid),
            std::mem::take(&mut self.shifted),
        );
        self.push_frames(samples, |frame| {
            grid.push(frame, out);
            shifted_grid.push(frame, shifted);
        });
        (self.grid, self.shifted) = (grid, shifted_grid);
    }

    fn compute_frame(&mut self) {
        let input = &self.pending[self.position..self.position + WINDOW_SAMPLES];
        for ((dst, &x), &w) in self.fft_in.iter_mut().zip(input).zip(&self.window) {
            *dst = x * w;
        }
        self.fft_in[WINDOW_SAMPLES..].fill(0.0);
        // Lengths are fixed at construction, so the transform cannot fail.
        if self
            .fft
            .process_with_scratch(&mut self.fft_in, &mut self.fft_out, &mut self.scratch)
            .is_err()
        {
            unreachable!("FFT buffers are sized by the planner");
        }
        // `sqrt(re² + im²)`: within an ulp of NumPy's `hypot` for these magnitudes (no overflow
        // or underflow to guard against), and several times faster than libm's `hypot`.
        for (m, c) in self.magnitudes.iter_mut().zip(&self.fft_out) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
        self.mel.apply(&self.magnitudes, &mut self.frame);
        for v in &mut self.frame {
            *v = (*v + LOG_OFFSET).ln();
        }
    }
}

/// One-shot convenience: the examples of a whole 16 kHz signal.
pub fn examples(samples: &[f64]) -> Examples {
    let mut out = Examples::default();
    LogMelFrontend::new().push(samples, &mut out);
    out
}
