//! A tiny synthesized corpus (rendered with TimGM6mb, as insrec-synth's tests do) trains and
//! evaluates end to end through an encoder, and its embeddings are cached by content.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::Device;
use insrec_features::{EXAMPLE_FRAMES, EXAMPLE_LEN, MEL_BANDS};
use insrec_pipeline::FrameEncoder;
use insrec_synth::{CorpusArgs, Generator, SourcePaths};
use insrec_testutil::timgm6mb;
use insrec_train::embed::{EmbeddingCache, Encoder};
use insrec_train::{
    EvalSide, FeatureOptions, LoadedData, SplitKind, SplitPlan, TrainSetup, TrainedModel, evaluate,
};
use insrec_zoo::ModelKind;

/// Mean and spread of each mel band over an example: 128 values, counting calls.
struct BandStats(Arc<AtomicUsize>);

impl FrameEncoder for BandStats {
    fn dim(&self) -> usize {
        2 * MEL_BANDS
    }

    fn encode(&self, examples: &[f32]) -> Result<Vec<f32>, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut out = Vec::new();
        for example in examples.chunks_exact(EXAMPLE_LEN) {
            let frames = EXAMPLE_FRAMES as f32;
            let mean: Vec<f32> = (0..MEL_BANDS)
                .map(|b| {
                    (0..EXAMPLE_FRAMES)
                        .map(|t| example[t * MEL_BANDS + b])
                        .sum::<f32>()
                        / frames
                })
                .collect();
            let spread = (0..MEL_BANDS).map(|b| {
                let var = (0..EXAMPLE_FRAMES)
                    .map(|t| (example[t * MEL_BANDS + b] - mean[b]).powi(2))
                    .sum::<f32>()
                    / frames;
                var.sqrt()
            });
            out.extend(mean.iter().map(|m| m / 10.0));
            out.extend(spread);
        }
        Ok(out)
    }
}

#[test]
fn synthesized_corpus_trains_through_an_encoder_with_a_cache() {
    let corpus = common::tempdir();
    let args = CorpusArgs {
        sources: SourcePaths {
            soundfonts: vec![timgm6mb()],
            ..SourcePaths::default()
        },
        clips: 8,
        seed: 5,
        valid_fraction: 0.25,
        test_fraction: 0.0,
    };
    let summary = Generator::new(args, corpus.path())
        .expect("generator")
        .run(2, &|| {})
        .expect("render");
    assert_eq!(summary.rendered, 8);

    let calls = Arc::new(AtomicUsize::new(0));
    let encoder =
        Encoder::new(Box::new(BandStats(Arc::clone(&calls))), "band-stats").expect("encoder");
    let cache = common::tempdir();
    let options = FeatureOptions {
        encoder: Some(&encoder),
        cache: Some(EmbeddingCache::new(cache.path())),
        ..FeatureOptions::default()
    };
    let spec = format!("synth:{}", corpus.path().display())
        .parse()
        .expect("spec");
    let data = LoadedData::load(&spec, &options).expect("embed the corpus");
    assert_eq!((data.dataset().len(), calls.load(Ordering::SeqCst)), (8, 8));
    let cached = std::fs::read_dir(cache.path().join("band-stats"))
        .expect("cache")
        .count();
    assert_eq!(cached, 8, "one cache entry per clip");
    let again = LoadedData::load(&spec, &options).expect("reload");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        8,
        "the second load reads the cache"
    );
    let same = (0..8).all(|i| again.dataset().get(i) == data.dataset().get(i));
    assert!(same, "cached embeddings equal computed ones");

    let splits = data
        .splits(&SplitPlan::new(SplitKind::Official, 1))
        .expect("corpus split");
    assert!(!splits.val.is_empty() && splits.train.len() + splits.val.len() == 8);
    let out = common::tempdir();
    let setup = TrainSetup::new(ModelKind::DLinear)
        .with_overrides(&["train.train_epochs=2", "train.batch_size=4"])
        .expect("setup");
    let info = common::train(&setup, &data, SplitKind::Official, out.path(), false, None)
        .expect("train on the corpus");
    assert_eq!(info.epochs_done, 2);
    let device = Device::flex();
    let model = TrainedModel::load(out.path(), &device).expect("load");
    let report = evaluate(
        &model,
        &data,
        &model.split_plan(),
        EvalSide::All,
        false,
        &device,
    )
    .expect("eval");
    assert_eq!(report.clips, 8);
    assert!(
        report.official.per_class.iter().all(|c| c.observed == 8),
        "synth labels are all known"
    );
    for (side, clips) in [
        (EvalSide::Valid, splits.val.len()),
        (EvalSide::Train, splits.train.len()),
    ] {
        let report = evaluate(&model, &data, &model.split_plan(), side, false, &device)
            .expect("eval a side");
        assert_eq!(report.clips, clips, "{side:?}");
        assert!(report.dataset.contains(side.name()), "{}", report.dataset);
    }
}

#[test]
fn audio_without_an_encoder_is_refused_with_advice() {
    let folder = common::tempdir();
    let header: Vec<&str> = insrec_core::Instrument::ALL
        .iter()
        .map(|i| i.name())
        .collect();
    let row = vec!["1"; header.len()];
    let csv = format!("path,{}\nx.wav,{}\n", header.join(","), row.join(","));
    std::fs::write(folder.path().join("labels.csv"), csv).expect("write csv");
    std::fs::write(folder.path().join("x.wav"), b"not decoded").expect("write wav");
    let spec = format!("folder:{}", folder.path().display())
        .parse()
        .expect("spec");
    let err = LoadedData::load(&spec, &FeatureOptions::default()).expect_err("no encoder");
    let message = err.to_string();
    assert!(
        message.contains("--encoder") && message.contains("--embeddings"),
        "{message}"
    );
}
