//! The official OpenMIC protocol: one binary problem per class over its observed clips only.
//!
//! Per class: precision, recall and F1 at a threshold (`score >= threshold`, default 0.5), average
//! precision and ROC-AUC. Macro averages take the classes where the metric is defined: F1 needs at
//! least one observed clip; AP needs an observed positive; ROC-AUC an observed positive and an
//! observed negative. Skipped classes are listed in the report (sklearn would return AP 0 with a
//! warning and raise for ROC-AUC).

use insrec_core::{Instrument, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::binary::{self, Counts};
use crate::error::{Error, Result};
use crate::predictions::Predictions;

/// Decision threshold of the official F1 when none is tuned.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// Metrics of one class on its observed clips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub class: String,
    /// Clips where the class is observed.
    pub observed: usize,
    /// Observed clips with relevance >= 0.5.
    pub positives: usize,
    pub threshold: f32,
    pub counts: Counts,
    /// `None` without observed clips.
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// `None` without an observed positive.
    pub average_precision: Option<f64>,
    /// `None` unless both an observed positive and an observed negative exist.
    pub roc_auc: Option<f64>,
}

/// Official per-class metrics and their macro averages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficialMetrics {
    pub per_class: Vec<ClassMetrics>,
    /// Mean F1 over classes with observed clips.
    pub macro_f1: Option<f64>,
    pub macro_precision: Option<f64>,
    pub macro_recall: Option<f64>,
    /// Mean AP over classes with an observed positive (mAP).
    pub mean_average_precision: Option<f64>,
    /// Mean ROC-AUC over classes with both observed positives and negatives.
    pub macro_roc_auc: Option<f64>,
    /// Classes left out of macro F1/precision/recall (no observed clip).
    pub skipped_f1: Vec<String>,
    /// Classes left out of mAP (no observed positive).
    pub skipped_average_precision: Vec<String>,
    /// Classes left out of macro ROC-AUC (a side missing).
    pub skipped_roc_auc: Vec<String>,
}

/// Scores every class at its threshold.
pub fn evaluate(
    predictions: &Predictions,
    thresholds: &[f32; NUM_CLASSES],
) -> Result<OfficialMetrics> {
    if predictions.is_empty() {
        return Err(Error::Empty);
    }
    if let Some(j) = thresholds.iter().position(|t| !t.is_finite()) {
        return Err(Error::BadThreshold {
            class: Instrument::ALL[j].name(),
            value: thresholds[j],
        });
    }
    let per_class: Vec<ClassMetrics> = Instrument::ALL
        .iter()
        .map(|&instrument| {
            let pairs = predictions.observed_pairs(instrument.index());
            let threshold = thresholds[instrument.index()];
            let counts = Counts::at(&pairs, threshold);
            let observed = (!pairs.is_empty()).then_some(counts);
            ClassMetrics {
                class: instrument.name().to_owned(),
                observed: pairs.len(),
                positives: pairs.iter().filter(|p| p.1).count(),
                threshold,
                counts,
                precision: observed.map(|c| c.precision()),
                recall: observed.map(|c| c.recall()),
                f1: observed.map(|c| c.f1()),
                average_precision: binary::average_precision(&pairs),
                roc_auc: binary::roc_auc(&pairs),
            }
        })
        .collect();
    let (macro_f1, skipped_f1) = macro_average(&per_class, |c| c.f1);
    let (mean_average_precision, skipped_average_precision) =
        macro_average(&per_class, |c| c.average_precision);
    let (macro_roc_auc, skipped_roc_auc) = macro_average(&per_class, |c| c.roc_auc);
    Ok(OfficialMetrics {
        macro_precision: macro_average(&per_class, |c| c.precision).0,
        macro_recall: macro_average(&per_class, |c| c.recall).0,
        per_class,
        macro_f1,
        mean_average_precision,
        macro_roc_auc,
        skipped_f1,
        skipped_average_precision,
        skipped_roc_auc,
    })
}

/// Per-class thresholds that maximise F1 on validation predictions ([`binary::best_threshold`]);
/// classes without an observed positive keep [`DEFAULT_THRESHOLD`].
pub fn tune_thresholds(validation: &Predictions) -> [f32; NUM_CLASSES] {
    std::array::from_fn(|j| {
        binary::best_threshold(&validation.observed_pairs(j)).map_or(DEFAULT_THRESHOLD, |(t, _)| t)
    })
}

/// Mean of the defined values, and the classes whose value is undefined.
fn macro_average(
    per_class: &[ClassMetrics],
    metric: impl Fn(&ClassMetrics) -> Option<f64>,
) -> (Option<f64>, Vec<String>) {
    let defined: Vec<f64> = per_class.iter().filter_map(&metric).collect();
    let skipped = per_class
        .iter()
        .filter(|c| metric(c).is_none())
        .map(|c| c.class.clone())
        .collect();
    let mean = (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
    (mean, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds predictions where only the listed classes are observed: `(class, score, relevance)`.
    fn predictions(clips: &[&[(usize, f32, f32)]]) -> Predictions {
        let mut p = Predictions::new();
        for clip in clips {
            let (mut scores, mut relevance, mut mask) =
                ([0.9; NUM_CLASSES], [0.5; NUM_CLASSES], [false; NUM_CLASSES]);
            for &(j, s, r) in *clip {
                (scores[j], relevance[j], mask[j]) = (s, r, true);
            }
            p.push(scores, relevance, mask)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        p
    }

    #[test]
    fn masked_pairs_are_ignored_and_undefined_classes_skipped() -> Result<()> {
        // Class 0: y = [1,0,1,1,0], s = [.9,.8,.7,.6,.2] (AP 0.80556, AUC 0.66667, F1@.5 = 6/7 per
        // sklearn). Class 1: observed negatives only. Class 2: observed in no clip. The unobserved
        // pairs score 0.9 and would change every number if they counted.
        let p = predictions(&[
            &[(0, 0.9, 1.0), (1, 0.8, 0.1)],
            &[(0, 0.8, 0.0)],
            &[(0, 0.7, 0.9), (1, 0.1, 0.0)],
            &[(0, 0.6, 0.8)],
            &[(0, 0.2, 0.2)],
            &[],
        ]);
        let m = evaluate(&p, &[DEFAULT_THRESHOLD; NUM_CLASSES])?;
        let c0 = &m.per_class[0];
        assert_eq!((c0.observed, c0.positives), (5, 3));
        assert!((c0.average_precision.unwrap_or_default() - 0.805_555_555_555_555_6).abs() < 1e-12);
        assert!((c0.roc_auc.unwrap_or_default() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c0.f1.unwrap_or_default() - 6.0 / 7.0).abs() < 1e-12);
        let c1 = &m.per_class[1];
        assert_eq!(
            (c1.average_precision, c1.roc_auc, c1.recall),
            (None, None, Some(0.0))
        );
        assert_eq!(
            (c1.precision, c1.f1),
            (Some(0.0), Some(0.0)),
            "one false positive, no positives"
        );
        assert_eq!(m.per_class[2].f1, None);
        // Macro over defined classes only: F1 over classes 0 and 1, AP and AUC over class 0.
        assert!((m.macro_f1.unwrap_or_default() - 3.0 / 7.0).abs() < 1e-12);
        assert_eq!(m.mean_average_precision, c0.average_precision);
        assert_eq!(m.skipped_f1.len(), NUM_CLASSES - 2);
        assert_eq!(m.skipped_average_precision.len(), NUM_CLASSES - 1);
        assert!(m.skipped_average_precision.contains(&"banjo".to_owned()));
        Ok(())
    }

    #[test]
    fn mask_acts_as_sklearn_sample_weight_with_many_ties() -> Result<()> {
        // 30 clips, scores in tenths (11 distinct values, many ties), every 5th clip unobserved.
        // sklearn 1.9.1 with sample_weight = mask: AP 0.306140350877193, ROC-AUC 0.4453125
        // (identical to dropping the unobserved clips; with all 30: 0.3019315114709852, 0.455).
        let clips: Vec<Vec<(usize, f32, f32)>> = (0..30)
            .map(|i| {
                let score = ((i * 37) % 11) as f32 / 10.0;
                let relevance = if (i * 7) % 3 == 0 { 1.0 } else { 0.0 };
                if i % 5 == 4 {
                    vec![]
                } else {
                    vec![(0, score, relevance)]
                }
            })
            .collect();
        let clips: Vec<&[(usize, f32, f32)]> = clips.iter().map(Vec::as_slice).collect();
        let m = evaluate(&predictions(&clips), &[DEFAULT_THRESHOLD; NUM_CLASSES])?;
        let c0 = &m.per_class[0];
        assert_eq!(c0.observed, 24);
        assert!((c0.average_precision.unwrap_or_default() - 0.306_140_350_877_193).abs() < 1e-12);
        assert!((c0.roc_auc.unwrap_or_default() - 0.445_312_5).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn all_masked_rows_change_nothing() -> Result<()> {
        let base: &[&[(usize, f32, f32)]] = &[&[(3, 0.9, 1.0)], &[(3, 0.4, 0.0)], &[(3, 0.6, 0.0)]];
        let padded: Vec<&[(usize, f32, f32)]> =
            base.iter().copied().chain([&[][..], &[][..]]).collect();
        let (a, b) = (
            evaluate(&predictions(base), &[0.5; NUM_CLASSES])?,
            evaluate(&predictions(&padded), &[0.5; NUM_CLASSES])?,
        );
        assert_eq!(a, b);
        assert!(matches!(
            evaluate(&Predictions::new(), &[0.5; NUM_CLASSES]),
            Err(Error::Empty)
        ));
        Ok(())
    }

    #[test]
    fn tuned_thresholds_beat_or_match_the_default_on_validation() -> Result<()> {
        let p = predictions(&[
            &[(5, 0.3, 1.0)],
            &[(5, 0.2, 0.0)],
            &[(5, 0.35, 1.0)],
            &[(5, 0.1, 0.0)],
        ]);
        let tuned = tune_thresholds(&p);
        assert!(
            tuned[5] > 0.2 && tuned[5] <= 0.3,
            "between the last positive and the first negative: {}",
            tuned[5]
        );
        assert_eq!(
            tuned[0], DEFAULT_THRESHOLD,
            "no observed positive keeps the default"
        );
        let (fixed, best) = (evaluate(&p, &[0.5; NUM_CLASSES])?, evaluate(&p, &tuned)?);
        assert_eq!(
            (fixed.per_class[5].f1, best.per_class[5].f1),
            (Some(0.0), Some(1.0))
        );
        Ok(())
    }

    #[test]
    fn rejects_nan_scores_and_thresholds() {
        let mut p = Predictions::new();
        let mut scores = [0.5; NUM_CLASSES];
        scores[12] = f32::NAN;
        let err = p.push(scores, [0.0; NUM_CLASSES], [true; NUM_CLASSES]);
        assert!(matches!(
            err,
            Err(Error::NanScore {
                clip: 0,
                class: "piano"
            })
        ));
        let mut thresholds = [0.5; NUM_CLASSES];
        thresholds[0] = f32::INFINITY;
        let p = predictions(&[&[(0, 0.5, 1.0)]]);
        assert!(matches!(
            evaluate(&p, &thresholds),
            Err(Error::BadThreshold {
                class: "accordion",
                ..
            })
        ));
    }
}
