//! A run stopped after some epochs and resumed ends with exactly the weights, optimiser state and
//! log of an uninterrupted run (Transformer with dropout, so the random streams matter too).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use insrec_train::optim::adam;
use insrec_train::trainer::{CHECKPOINT_DIR, EpochRecord, LOG_JSONL, MODEL_FILE, RunStatus};
use insrec_train::{Checkpoints, SplitKind, TrainSetup};
use insrec_zoo::{Classifier, ModelKind};

/// The weights of the last checkpoint, as zoo safetensors bytes (no parameter ids).
fn final_weights(setup: &TrainSetup, dir: &Path) -> Vec<u8> {
    let device = Device::flex().autodiff();
    let fresh = setup.model.init(&device).expect("init");
    let (model, _, _): (Classifier, _, serde_json::Value) =
        Checkpoints::new(dir.join(CHECKPOINT_DIR))
            .load(fresh, adam())
            .expect("load checkpoint")
            .expect("a checkpoint");
    let path = dir.join("final.safetensors");
    model.valid().save(&setup.model, &path).expect("save");
    std::fs::read(&path).expect("read")
}

/// Tensor name → raw bytes of a safetensors file (its header order is not stable).
fn tensors(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let file = safetensors::SafeTensors::deserialize(bytes).expect("safetensors");
    let map: BTreeMap<String, Vec<u8>> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    assert!(map.len() > 10, "a Transformer has many tensors");
    map
}

/// The log without timings.
fn log(dir: &Path) -> Vec<EpochRecord> {
    String::from_utf8_lossy(&common::read(dir, LOG_JSONL))
        .lines()
        .map(|line| {
            let mut r: EpochRecord = serde_json::from_str(line).expect("log line");
            (r.seconds, r.val_seconds) = (0.0, 0.0);
            r
        })
        .collect()
}

#[test]
fn resumed_run_matches_an_uninterrupted_one() {
    let data = common::openmic();
    let mut setup = common::tiny_setup(ModelKind::Transformer, 4);
    setup.recipe.patience = 0;
    let (straight, resumed) = (common::tempdir(), common::tempdir());

    let info = common::train(
        &setup,
        &data,
        SplitKind::Official,
        straight.path(),
        false,
        None,
    )
    .expect("uninterrupted run");
    assert_eq!(info.epochs_done, 4);

    let first = common::train(
        &setup,
        &data,
        SplitKind::Official,
        resumed.path(),
        false,
        Some(2),
    )
    .expect("first session");
    assert_eq!((first.status, first.epochs_done), (RunStatus::Running, 2));
    let again = common::train(
        &setup,
        &data,
        SplitKind::Official,
        resumed.path(),
        false,
        None,
    );
    assert!(
        again.is_err_and(|e| e.to_string().contains("--resume")),
        "restarting over a checkpoint without --resume must be refused"
    );
    let session_one =
        String::from_utf8_lossy(&common::read(resumed.path(), LOG_JSONL)).into_owned();
    let second = common::train(
        &setup,
        &data,
        SplitKind::Official,
        resumed.path(),
        true,
        None,
    )
    .expect("resumed session");
    assert_eq!(
        (second.status, second.epochs_done),
        (RunStatus::Finished, 4)
    );
    assert_eq!(
        (second.best_epoch, second.best_val_loss),
        (info.best_epoch, info.best_val_loss)
    );

    assert_eq!(
        tensors(&common::read(straight.path(), MODEL_FILE)),
        tensors(&common::read(resumed.path(), MODEL_FILE)),
        "best models differ"
    );
    assert_eq!(
        tensors(&final_weights(&setup, straight.path())),
        tensors(&final_weights(&setup, resumed.path())),
        "last checkpoints differ"
    );
    assert_eq!(log(straight.path()), log(resumed.path()));
    let session_two =
        String::from_utf8_lossy(&common::read(resumed.path(), LOG_JSONL)).into_owned();
    assert!(
        session_two.starts_with(&session_one) && session_two.lines().count() == 4,
        "epochs 1-2 (with their timings) must come from the first session, not a rerun"
    );

    // A changed setup cannot continue the checkpoint.
    let mut other = setup.clone();
    other.recipe.learning_rate *= 2.0;
    let err = common::train(
        &other,
        &data,
        SplitKind::Official,
        resumed.path(),
        true,
        None,
    )
    .expect_err("another learning rate");
    assert!(err.to_string().contains("another setup"), "{err}");
}
