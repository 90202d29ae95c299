//! Forward time of the production-size models on one [64, 10, 128] batch (flex backend).
//!
//! `cargo bench -p insrec-zoo --bench forward`

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use insrec_zoo::{ModelKind, SequenceInput};

const BATCH: usize = 64;

fn forward(c: &mut Criterion) {
    let device = Device::flex();
    let input = Tensor::random([BATCH, 10, 128], Distribution::Uniform(0.0, 1.0), &device);
    let input = SequenceInput::new(input).expect("a [batch, 10, 128] input");
    let mut group = c.benchmark_group("forward_b64");
    group.sample_size(10);
    for &kind in ModelKind::ALL {
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

criterion_group!(benches, forward);
criterion_main!(benches);
