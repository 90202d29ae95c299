//! VGGish forward for a 3-minute file: 188 examples of [96, 64] → [188, 128].
//!
//! `cargo bench -p insrec-encoders --bench vggish`. Before criterion's statistics it prints the
//! minimum and median of a few plain runs, which are less sensitive to other jobs on the machine.

use std::time::{Duration, Instant};

use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use insrec_encoders::vggish::{VggishConfig, VggishEncoder};

/// As in the `insrec` binary (see its `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The figure for a 3-minute file (180 s gives 187 examples; 188 is 180.5 s).
const EXAMPLES: usize = 188;

fn input() -> Vec<f32> {
    // deterministic log-mel-like values in [-4.6, 2]
    (0..EXAMPLES * 96 * 64)
        .map(|i| ((i as f32 * 0.618_034).fract() * 6.6) - 4.6)
        .collect()
}

fn encoder(threads: usize) -> VggishEncoder {
    let device = Device::flex();
    VggishEncoder::new(VggishConfig::new().init(&device), device)
        .expect("fast path builds")
        .with_threads(threads)
}

fn plain_runs(threads: usize, x: &[f32]) {
    let encoder = encoder(threads);
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let out = encoder.embed(x).expect("embed");
            assert_eq!(out.len(), EXAMPLES * 128);
            started.elapsed()
        })
        .collect();
    times.sort();
    eprintln!(
        "vggish {EXAMPLES} examples, {threads} thread(s): min {:.3} s, median {:.3} s over 5 runs",
        times[0].as_secs_f64(),
        times[2].as_secs_f64()
    );
}

fn forward(c: &mut Criterion) {
    let x = input();
    for threads in [2, 1] {
        plain_runs(threads, &x);
    }
    let mut group = c.benchmark_group("vggish_forward");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for threads in [2, 1] {
        let encoder = encoder(threads);
        group.bench_function(format!("{EXAMPLES}_examples_{threads}_threads"), |b| {
            b.iter(|| encoder.embed(&x).expect("embed"))
        });
    }
    group.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
