//! The evaluation report that `insrec eval` prints and writes as JSON.

use std::collections::BTreeMap;

use insrec_core::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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
    /// The clips grouped by their number of parts (a synthesized corpus, `insrec eval
    /// --by-parts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_parts: Vec<PartsGroup>,
}

/// Clip metrics of the clips with one number of parts (instruments playing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartsGroup {
    pub parts: usize,
    pub clips: usize,
    /// Macro mAP over the classes with both positives and negatives in the group.
    pub mean_average_precision: Option<f64>,
    /// Per class, in OpenMIC order; `None` where the group lacks positives or negatives.
    pub average_precision: Vec<Option<f64>>,
}

/// Groups the clips of `predictions` by `parts` (one count per clip, in their order) and scores
/// each group at `thresholds`.
pub fn by_parts(
    predictions: &Predictions,
    parts: &[usize],
    thresholds: &[f32; NUM_CLASSES],
) -> Result<Vec<PartsGroup>> {
    if parts.len() != predictions.len() {
        return Err(Error::GroupCount {
            clips: predictions.len(),
            groups: parts.len(),
        });
    }
    let mut rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (row, &n) in parts.iter().enumerate() {
        rows.entry(n).or_default().push(row);
    }
    rows.into_iter()
        .map(|(parts, rows)| {
            let metrics = official::evaluate(&predictions.select(&rows), thresholds)?;
            Ok(PartsGroup {
                parts,
                clips: rows.len(),
                mean_average_precision: metrics.mean_average_precision,
                average_precision: metrics
                    .per_class
                    .iter()
                    .map(|c| c.average_precision)
                    .collect(),
            })
        })
        .collect()
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
            by_parts: Vec::new(),
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

    #[test]
    fn groups_score_only_their_own_clips() -> Result<()> {
        let all_known = [true; NUM_CLASSES];
        let mut p = Predictions::new();
        // Class 0: ranked perfectly among the two-part clips, backwards among the three-part ones.
        for (score, positive) in [(0.9, true), (0.2, false), (0.1, true), (0.8, false)] {
            let mut scores = [0.5; NUM_CLASSES];
            scores[0] = score;
            let mut relevance = [0.0; NUM_CLASSES];
            relevance[0] = f32::from(u8::from(positive));
            p.push(scores, relevance, all_known)?;
        }
        let groups = by_parts(&p, &[2, 2, 3, 3], &[0.5; NUM_CLASSES])?;
        assert_eq!(
            groups
                .iter()
                .map(|g| (g.parts, g.clips))
                .collect::<Vec<_>>(),
            [(2, 2), (3, 2)]
        );
        assert_eq!(groups[0].average_precision[0], Some(1.0));
        assert_eq!(groups[1].average_precision[0], Some(0.5));
        assert_eq!(
            groups[0].average_precision[1], None,
            "no positive of class 1"
        );
        assert_eq!(
            by_parts(&p, &[2, 3], &[0.5; NUM_CLASSES]),
            Err(Error::GroupCount {
                clips: 4,
                groups: 2
            })
        );
        Ok(())
    }
}
