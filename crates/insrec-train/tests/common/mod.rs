//! Shared helpers of the training integration tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use insrec_data::Subset;
use insrec_testutil::fixture;
use insrec_train::{
    FeatureOptions, LoadedData, RunInfo, SplitKind, SplitPlan, TrainData, TrainOptions, TrainSetup,
};
use insrec_zoo::ModelKind;

/// The tiny OpenMIC release (40 clips: 30 train, 10 test).
pub fn openmic() -> LoadedData {
    let spec = format!("openmic:{}", fixture("openmic/openmic-2018").display());
    LoadedData::load(&spec.parse().expect("spec"), &FeatureOptions::default())
        .expect("load the OpenMIC fixture")
}

/// The model at its parity-fixture size (tiny widths) with a short recipe.
pub fn tiny_setup(kind: ModelKind, epochs: usize) -> TrainSetup {
    let config = fixture(format!("pyomnits/{}/config.json", kind.name()));
    TrainSetup::new(kind)
        .with_file(&config)
        .and_then(|s| {
            s.with_overrides(&[
                format!("train.train_epochs={epochs}"),
                "train.batch_size=8".to_owned(),
            ])
        })
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

/// Trains on the train/validation sides of `data` under `split`.
pub fn train(
    setup: &TrainSetup,
    data: &LoadedData,
    split: SplitKind,
    out: &Path,
    resume: bool,
    stop_after: Option<usize>,
) -> insrec_train::Result<RunInfo> {
    let plan = SplitPlan::new(split, setup.recipe.seed);
    let splits = data.splits(&plan)?;
    let train = Subset::new(data.dataset(), splits.train)?;
    let val = Subset::new(data.dataset(), splits.val)?;
    let input = TrainData {
        train: &train,
        val: &val,
        data: data.spec.to_string(),
        split: plan,
    };
    let options = TrainOptions {
        out: out.to_owned(),
        resume,
        progress: false,
        stop_after,
        device: burn::tensor::Device::flex(),
    };
    insrec_train::train(setup, &input, &options)
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `dir/name` read fully.
pub fn read(dir: &Path, name: &str) -> Vec<u8> {
    let path: PathBuf = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
