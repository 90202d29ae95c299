//! Epoch time of zoo classifiers at their production config on random clips.
//!
//! ```text
//! cargo bench -p insrec-train --bench epoch_speed -- [MODEL ...]
//! ```
//!
//! Trains one epoch (the seed's recipe: batch 128, Adam, clipping) on `INSREC_BENCH_CLIPS`
//! (default 15 000) random `[10, 128]` clips with random partial labels, validates on a tenth as
//! many, and prints the time of the training pass and of validation. Models default to DLinear
//! and Transformer.

use std::time::Instant;

use insrec_core::NUM_CLASSES;
use insrec_data::{CLIP_FEATURES, FeatureSet, Labels};
use insrec_train::trainer::{EpochRecord, LOG_JSONL};
use insrec_train::{SplitKind, SplitPlan, TrainData, TrainOptions, TrainSetup};
use insrec_zoo::ModelKind;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// As in the `insrec` binary (see its `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let names = if names.is_empty() {
        vec!["DLinear".to_owned(), "Transformer".to_owned()]
    } else {
        names
    };
    let clips: usize = std::env::var("INSREC_BENCH_CLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15_000);
    let started = Instant::now();
    let train = random_clips("train", clips, 1);
    let val = random_clips("val", clips / 10, 2);
    println!(
        "{clips} training and {} validation clips of [10, 128] made in {:.1} s; {} threads",
        clips / 10,
        started.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    for name in names {
        let kind = match ModelKind::from_name(&name) {
            Ok(kind) => kind,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let setup = TrainSetup::new(kind)
            .with_overrides(&["train.train_epochs=1"])
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let data = TrainData {
            train: &train,
            val: &val,
            data: "random".to_owned(),
            split: SplitPlan::new(SplitKind::Official, setup.recipe.seed),
        };
        let options = TrainOptions {
            out: dir.path().to_owned(),
            resume: false,
            progress: true,
            stop_after: None,
            device: burn::tensor::Device::flex(),
        };
        let info =
            insrec_train::train(&setup, &data, &options).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let log = std::fs::read_to_string(dir.path().join(LOG_JSONL))
            .unwrap_or_else(|e| panic!("log: {e}"));
        let Some(record) = log
            .lines()
            .filter_map(|l| serde_json::from_str::<EpochRecord>(l).ok())
            .next()
        else {
            panic!("{kind}: no epoch logged")
        };
        let steps = clips.div_ceil(setup.recipe.batch_size);
        let pass = record.seconds - record.val_seconds;
        println!(
            "{kind}: {} parameters; epoch {:.1} s = training pass {:.1} s ({steps} steps of {}, {:.0} ms/step) + validation {:.1} s ({} clips)",
            info.params,
            record.seconds,
            pass,
            setup.recipe.batch_size,
            pass * 1e3 / steps as f64,
            record.val_seconds,
            clips / 10
        );
    }
}

/// `n` clips with uniform features in [0, 1) and 1–4 observed labels each.
fn random_clips(name: &str, n: usize, seed: u64) -> FeatureSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut unit = move || (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    let features: Vec<f32> = (0..n * CLIP_FEATURES).map(|_| unit()).collect();
    let labels = (0..n)
        .map(|_| {
            let mut labels = Labels {
                relevance: [0.5; NUM_CLASSES],
                mask: [false; NUM_CLASSES],
            };
            let observed = 1 + (unit() * 4.0) as usize;
            for _ in 0..observed {
                let class = ((unit() * NUM_CLASSES as f32) as usize).min(NUM_CLASSES - 1);
                labels.mask[class] = true;
                labels.relevance[class] = if unit() < 0.5 { 0.0 } else { 1.0 };
            }
            labels
        })
        .collect();
    let keys = (0..n).map(|i| format!("{name}{i:05}")).collect();
    FeatureSet::new(name, keys, features, labels).unwrap_or_else(|e| panic!("{e}"))
}
