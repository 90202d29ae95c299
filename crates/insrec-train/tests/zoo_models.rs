//! Every zoo model trains for two epochs (Hi_Patch one) on the tiny OpenMIC fixture (its parity-fixture
//! widths) and evaluates end to end on the test side.

mod common;

use std::time::Instant;

use burn::tensor::Device;
use insrec_train::trainer::{EpochRecord, LOG_JSONL};
use insrec_train::{EvalSide, RunStatus, SplitKind, TrainedModel, evaluate};
use insrec_zoo::ModelKind;

#[test]
fn every_model_trains_and_evaluates() {
    let data = common::openmic();
    assert_eq!(ModelKind::ALL.len(), 27, "the seed's 27 classifiers");
    let mut failures = Vec::new();
    for &kind in ModelKind::ALL {
        let started = Instant::now();
        if let Err(problem) = train_and_evaluate(kind, &data) {
            failures.push(format!("{kind}: {problem}"));
        }
        eprintln!("{kind}: {:.2} s", started.elapsed().as_secs_f64());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn train_and_evaluate(kind: ModelKind, data: &insrec_train::LoadedData) -> Result<(), String> {
    let dir = common::tempdir();
    // Hi_Patch's graph layers take ~15 s per epoch on 26 clips even at fixture width: one epoch.
    let epochs = if kind == ModelKind::HiPatch { 1 } else { 2 };
    let setup = common::tiny_setup(kind, epochs);
    let info = common::train(&setup, data, SplitKind::Official, dir.path(), false, None)
        .map_err(|e| format!("training: {e}"))?;
    if info.status != RunStatus::Finished || info.epochs_done != epochs {
        return Err(format!(
            "run ended as {:?} after {} epochs",
            info.status, info.epochs_done
        ));
    }
    if (info.train_clips, info.val_clips) != (26, 4) {
        return Err(format!("split {} / {}", info.train_clips, info.val_clips));
    }
    let log = String::from_utf8_lossy(&common::read(dir.path(), LOG_JSONL)).into_owned();
    let records: Vec<EpochRecord> = log
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("log: {e}"))?;
    if records.len() != epochs
        || records
            .iter()
            .any(|r| !(r.train_loss.is_finite() && r.val_loss.is_finite() && r.train_loss > 0.0))
    {
        return Err(format!("log {records:?}"));
    }
    let device = Device::flex();
    let model = TrainedModel::load(dir.path(), &device).map_err(|e| format!("loading: {e}"))?;
    if model.classifier.kind() != kind {
        return Err(format!("reloaded as {}", model.classifier.kind()));
    }
    let report = evaluate(
        &model,
        data,
        &model.split_plan(),
        EvalSide::Test,
        true,
        &device,
    )
    .map_err(|e| format!("evaluating: {e}"))?;
    let official = &report.official;
    if report.clips != 10
        || official
            .mean_average_precision
            .is_none_or(|m| !(0.0..=1.0).contains(&m))
        || official.macro_roc_auc.is_none()
        || !(0.0..=1.0).contains(&report.seed.accuracy)
    {
        return Err(format!("report {report:?}"));
    }
    Ok(())
}
