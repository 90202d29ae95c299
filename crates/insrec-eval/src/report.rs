//! The evaluation report that `insrec eval` prints and writes as JSON.

use insrec_core::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::official::{self, DEFAULT_THRESHOLD, OfficialMetrics};
use crate::predictions::Predictions;
use crate::seed::{self, SeedMetrics};

/// Where the per-class decision thresholds of a report come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// 0.5 for every class.
    Fixed,
    /// Tuned on the validation side of the evaluated dataset.
    Tuned,
    /// The model's own, tuned on the validation split it was trained with.
    Model,
}

/// Official and seed metrics of one model on one dataset split. Metric values are fractions in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub model: String,
    pub dataset: String,
    pub clips: usize,
    pub thresholds: ThresholdSource,
    pub official: OfficialMetrics,
    pub seed: SeedMetrics,
    /// Frame-level macro mAP, where the clips have per-frame labels (a synthesized corpus).
    #[serde(default)]
    pub frame_map: Option<f64>,
}

impl EvalReport {
    /// Evaluates `predictions` at the given per-class thresholds (`None`: 0.5 everywhere, else
    /// tuned on validation).
    pub fn new(
        model: impl Into<String>,
        dataset: impl Into<String>,
        predictions: &Predictions,
        thresholds: Option<&[f32; NUM_CLASSES]>,
    ) -> Result<Self> {
        let source = match thresholds {
            Some(_) => ThresholdSource::Tuned,
            None => ThresholdSource::Fixed,
        };
        let fixed = [DEFAULT_THRESHOLD; NUM_CLASSES];
        Self::with_thresholds(
            model,
            dataset,
            predictions,
            thresholds.unwrap_or(&fixed),
            source,
        )
    }

    /// Evaluates `predictions` at `thresholds`, which come from `source`.
    pub fn with_thresholds(
        model: impl Into<String>,
        dataset: impl Into<String>,
        predictions: &Predictions,
        thresholds: &[f32; NUM_CLASSES],
        source: ThresholdSource,
    ) -> Result<Self> {
        Ok(Self {
            model: model.into(),
            dataset: dataset.into(),
            clips: predictions.len(),
            thresholds: source,
            official: official::evaluate(predictions, thresholds)?,
            seed: seed::evaluate(predictions)?,
            frame_map: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::official::tune_thresholds;

    #[test]
    fn round_trips_through_json_with_nulls_for_undefined_metrics() -> Result<()> {
        let mut p = Predictions::new();
        let mut mask = [false; NUM_CLASSES];
        mask[2] = true;
        let mut relevance = [0.5; NUM_CLASSES];
        for (score, rel) in [(0.8, 1.0), (0.3, 0.0), (0.6, 0.0)] {
            relevance[2] = rel;
            let mut scores = [0.1; NUM_CLASSES];
            scores[2] = score;
            p.push(scores, relevance, mask)?;
        }
        let report = EvalReport::new("DLinear", "openmic test", &p, Some(&tune_thresholds(&p)))?;
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        assert!(
            json.contains("\"average_precision\": null"),
            "undefined AP is null"
        );
        let back: EvalReport = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
        assert_eq!(report.thresholds, ThresholdSource::Tuned);
        assert_eq!(
            report.official.per_class[2].f1,
            Some(1.0),
            "tuned cut separates 0.8 from 0.6"
        );
        Ok(())
    }
}
