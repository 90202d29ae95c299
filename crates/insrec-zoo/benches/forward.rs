//! Forward time of the production-size models on one [64, 10, 128] batch (flex backend), and of
//! Pyraformer on 18 clips, the batch of the seed's PyTorch CPU figure (36 ms, 2 threads).
//!
//! `cargo bench --workspace --bench forward -- [MODEL]`

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use insrec_zoo::{ModelKind, SequenceInput};

/// As in the `insrec` binary (see its `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 64;
/// Clips of the seed's Pyraformer timing.
const SEED_BATCH: usize = 18;

fn clips(batch: usize, device: &Device) -> SequenceInput {
    let input = Tensor::random([batch, 10, 128], Distribution::Uniform(0.0, 1.0), device);
    SequenceInput::new(input).expect("a [batch, 10, 128] input")
}

fn bench_models(c: &mut Criterion, batch: usize, kinds: &[ModelKind]) {
    let device = Device::flex();
    let input = clips(batch, &device);
    let mut group = c.benchmark_group(format!("forward_b{batch}"));
    group.sample_size(10);
    for &kind in kinds {
        let model = kind
            .production_config()
            .init(&device)
            .unwrap_or_else(|e| panic!("building {kind}: {e}"));
        group.bench_function(kind.name(), |b| {
            b.iter(|| model.forward(&input).into_data())
        });
    }
    group.finish();
}

fn forward(c: &mut Criterion) {
    bench_models(c, BATCH, ModelKind::ALL);
    bench_models(c, SEED_BATCH, &[ModelKind::Pyraformer]);
}

criterion_group!(benches, forward);
criterion_main!(benches);
