//! Front-end speed: decode + resample + log-mel of a 3-minute 44.1 kHz stereo MP3.
//!
//! `scripts/bench-frontend.sh` makes the MP3 (Debian's ffmpeg) and runs this; or set
//! `INSREC_BENCH_MP3` to any file.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use insrec_audio::{AudioSource, AudioStream, ResamplerKind, StreamOptions};
use insrec_features::{Examples, LogMelFrontend};

/// As in the `insrec` binary (see its `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn front_end(source: &AudioSource, resampler: ResamplerKind) -> usize {
    let options = StreamOptions {
        resampler,
        ..StreamOptions::default()
    };
    let mut stream = AudioStream::open(source, options).expect("open bench audio");
    let (mut frontend, mut block, mut examples) =
        (LogMelFrontend::new(), Vec::new(), Examples::default());
    while stream.next_block(&mut block).expect("decode") {
        frontend.push(&block, &mut examples);
        block.clear();
    }
    examples.count()
}

fn source_path(source: &AudioSource) -> &std::path::Path {
    match source {
        AudioSource::File(path) => path,
        AudioSource::Bytes { .. } => unreachable!("the bench reads a file"),
    }
}

fn bench(c: &mut Criterion) {
    let path = std::env::var_os("INSREC_BENCH_MP3").map(PathBuf::from).unwrap_or_else(|| {
        panic!("set INSREC_BENCH_MP3 to a 3-minute 44.1 kHz stereo MP3 (scripts/bench-frontend.sh makes one)")
    });
    let source = AudioSource::File(path);
    let mut group = c.benchmark_group("frontend_3min_mp3");
    group.sample_size(10);
    group.bench_function("decode+fast_resample+logmel", |b| {
        b.iter(|| black_box(front_end(&source, ResamplerKind::Fast)))
    });
    group.bench_function("decode+legacy_resample+logmel", |b| {
        b.iter(|| black_box(front_end(&source, ResamplerKind::ResampyLegacy)))
    });
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            let mut decoder =
                insrec_audio::AudioDecoder::open(source_path(&source), Default::default())
                    .expect("open");
            let mut mono = Vec::new();
            while decoder.next_mono(&mut mono).expect("decode") {
                mono.clear();
            }
            black_box(decoder.frames_decoded())
        })
    });
    group.finish();

    let input_44k: Vec<f64> = (0..44_100 * 180)
        .map(|i| ((i as f64) * 0.0123).sin() * 0.4)
        .collect();
    c.bench_function("fast_resample_only_3min_44k", |b| {
        b.iter(|| {
            let mut r =
                insrec_audio::Resampler::new(ResamplerKind::Fast, 44_100).expect("resampler");
            let mut out = Vec::new();
            for chunk in input_44k.chunks(16_384) {
                r.push(chunk, &mut out).expect("push");
            }
            r.finish(&mut out).expect("finish");
            black_box(out.len())
        })
    });

    let samples: Vec<f64> = (0..16_000 * 180)
        .map(|i| ((i as f64) * 0.0123).sin() * 0.4)
        .collect();
    c.bench_function("logmel_only_3min_16k", |b| {
        b.iter(|| {
            let mut out = Examples::default();
            LogMelFrontend::new().push(black_box(&samples), &mut out);
            out.count()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
