// InsRec spectrogram worker: mono samples in, a mel-scaled RGBA image out, off the page's main thread.
// Message in:  { samples: Float32Array, sampleRate: number, maxColumns: number }
// Messages out: { type: "progress", done, total } ... then
//               { type: "done", width, height, pixels: Uint8ClampedArray (RGBA, row 0 = highest band), secondsPerColumn }
"use strict";

const FFT_SIZE = 512;
const ROWS = 128;
const RANGE_DB = 80;

self.onmessage = (event) => {
  const { samples, sampleRate, maxColumns } = event.data;
  try {
    const image = spectrogram(samples, sampleRate, maxColumns);
    self.postMessage(image, [image.pixels.buffer]);
  } catch (err) {
    self.postMessage({ type: "error", message: String(err && err.message || err) });
  }
};

function spectrogram(samples, sampleRate, maxColumns) {
  // 10 ms hop, or coarser so a long file stays within maxColumns.
  const hop = Math.max(Math.round(sampleRate / 100), Math.ceil(samples.length / maxColumns));
  const width = Math.max(1, Math.ceil(samples.length / hop));
  const fft = makeFft(FFT_SIZE);
  const window = new Float32Array(FFT_SIZE);
  for (let i = 0; i < FFT_SIZE; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FFT_SIZE);
  const bands = melBands(FFT_SIZE, sampleRate, ROWS);
  const db = new Float32Array(width * ROWS);
  const re = new Float32Array(FFT_SIZE);
  const im = new Float32Array(FFT_SIZE);
  const power = new Float32Array(FFT_SIZE / 2 + 1);
  let peak = -Infinity;
  const step = Math.max(1, Math.floor(width / 50));
  for (let col = 0; col < width; col++) {
    const start = col * hop - FFT_SIZE / 2;
    for (let i = 0; i < FFT_SIZE; i++) {
      const j = start + i;
      re[i] = j >= 0 && j < samples.length ? samples[j] * window[i] : 0;
      im[i] = 0;
    }
    fft(re, im);
    for (let k = 0; k <= FFT_SIZE / 2; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let r = 0; r < ROWS; r++) {
      const [lo, hi] = bands[r];
      let sum = 0;
      for (let k = lo; k <= hi; k++) sum += power[k];
      const value = 10 * Math.log10(sum / (hi - lo + 1) + 1e-12);
      db[col * ROWS + r] = value;
      if (value > peak) peak = value;
    }
    if (col % step === 0) self.postMessage({ type: "progress", done: col, total: width });
  }
  const lut = colormap();
  const pixels = new Uint8ClampedArray(width * ROWS * 4);
  const floor = peak - RANGE_DB;
  for (let col = 0; col < width; col++) {
    for (let r = 0; r < ROWS; r++) {
      const level = Math.max(0, Math.min(255, Math.round(((db[col * ROWS + r] - floor) / RANGE_DB) * 255)));
      const o = ((ROWS - 1 - r) * width + col) * 4;
      pixels[o] = lut[level * 3];
      pixels[o + 1] = lut[level * 3 + 1];
      pixels[o + 2] = lut[level * 3 + 2];
      pixels[o + 3] = 255;
    }
  }
  return { type: "done", width, height: ROWS, pixels, secondsPerColumn: hop / sampleRate };
}

// In-place iterative radix-2 FFT of size n (a power of two).
function makeFft(n) {
  const levels = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let x = i, y = 0;
    for (let b = 0; b < levels; b++) { y = (y << 1) | (x & 1); x >>= 1; }
    rev[i] = y;
  }
  const cos = new Float32Array(n / 2), sin = new Float32Array(n / 2);
  for (let i = 0; i < n / 2; i++) { cos[i] = Math.cos((2 * Math.PI * i) / n); sin[i] = -Math.sin((2 * Math.PI * i) / n); }
  return (re, im) => {
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) { let t = re[i]; re[i] = re[j]; re[j] = t; t = im[i]; im[i] = im[j]; im[j] = t; }
    }
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2, stride = n / size;
      for (let s = 0; s < n; s += size) {
        for (let k = 0; k < half; k++) {
          const a = s + k, b = a + half, w = k * stride;
          const tr = re[b] * cos[w] - im[b] * sin[w];
          const ti = re[b] * sin[w] + im[b] * cos[w];
          re[b] = re[a] - tr; im[b] = im[a] - ti;
          re[a] += tr; im[a] += ti;
        }
      }
    }
  };
}

// For each of `rows` mel bands from 0 Hz to Nyquist, the inclusive FFT-bin range it averages.
function melBands(n, sampleRate, rows) {
  const mel = (hz) => 1127 * Math.log(1 + hz / 700);
  const hz = (m) => 700 * (Math.exp(m / 1127) - 1);
  const top = mel(sampleRate / 2), bins = n / 2, bands = [];
  for (let r = 0; r < rows; r++) {
    const lo = Math.floor((hz((top * r) / rows) / (sampleRate / 2)) * bins);
    const hi = Math.floor((hz((top * (r + 1)) / rows) / (sampleRate / 2)) * bins);
    bands.push([Math.min(lo, bins), Math.min(Math.max(hi, lo), bins)]);
  }
  return bands;
}

// 256-entry RGB lookup table interpolating an "inferno"-like ramp.
function colormap() {
  const stops = [
    [0, 0, 0, 4], [0.15, 31, 12, 72], [0.3, 85, 15, 109], [0.45, 136, 34, 106],
    [0.6, 186, 54, 85], [0.75, 227, 89, 51], [0.88, 249, 140, 10], [1, 252, 255, 164],
  ];
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let s = 1;
    while (s < stops.length - 1 && stops[s][0] < t) s++;
    const [t0, ...c0] = stops[s - 1], [t1, ...c1] = stops[s];
    const f = (t - t0) / (t1 - t0 || 1);
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = c0[c] + (c1[c] - c0[c]) * f;
  }
  return lut;
}
