//! The seed's metrics (PyOmniTS `utils/metrics.metric_classification`), which score one class per
//! clip: `y = argmax(Y_true · Y_mask)` (first maximum; an all-zero row is class 0) against
//! `ŷ = argmax(scores)`.
//!
//! Accuracy is `mean(y == ŷ)`. Precision, recall and F1 are sklearn's `average='macro'` with the
//! default `labels=None`, i.e. over the sorted union of classes in `y` and `ŷ` only, and the
//! default `zero_division` (a 0/0 counts as 0: precision of a class never predicted, recall of a
//! class never true). Macro F1 is the mean of per-class F1, not the F1 of macro P and R.
//! Values are fractions; the seed prints them ×100.

use std::collections::BTreeMap;

use insrec_core::NUM_CLASSES;
use serde::{Deserialize, Serialize};

use crate::binary::Counts;
use crate::error::{Error, Result};
use crate::predictions::Predictions;

/// The seed's single-label metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedMetrics {
    pub clips: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Classes in `y ∪ ŷ`, the ones the macro averages run over.
    pub classes_averaged: usize,
}

/// Scores the argmax predictions against the argmax targets.
pub fn evaluate(predictions: &Predictions) -> Result<SeedMetrics> {
    if predictions.is_empty() {
        return Err(Error::Empty);
    }
    let truth: Vec<usize> = predictions
        .seed_targets()
        .map(|t| first_argmax(&t))
        .collect();
    let guess: Vec<usize> = predictions.scores().iter().map(first_argmax).collect();
    let correct = truth.iter().zip(&guess).filter(|(t, g)| t == g).count();
    let (precision, recall, f1, classes_averaged) = macro_scores(&truth, &guess);
    Ok(SeedMetrics {
        clips: truth.len(),
        accuracy: correct as f64 / truth.len() as f64,
        precision,
        recall,
        f1,
        classes_averaged,
    })
}

/// sklearn macro precision, recall, F1 over the classes present in `truth ∪ guess`, and their number.
pub fn macro_scores(truth: &[usize], guess: &[usize]) -> (f64, f64, f64, usize) {
    let mut counts: BTreeMap<usize, Counts> = BTreeMap::new();
    for (&t, &g) in truth.iter().zip(guess) {
        if t == g {
            counts.entry(t).or_default().tp += 1;
        } else {
            counts.entry(g).or_default().fp += 1;
            counts.entry(t).or_default().fn_ += 1;
        }
    }
    if counts.is_empty() {
        return (0.0, 0.0, 0.0, 0);
    }
    let mean = |f: fn(&Counts) -> f64| counts.values().map(f).sum::<f64>() / counts.len() as f64;
    (
        mean(Counts::precision),
        mean(Counts::recall),
        mean(Counts::f1),
        counts.len(),
    )
}

/// Index of the first maximum (NumPy `argmax`). Scores are NaN-free (checked on push).
fn first_argmax(values: &[f32; NUM_CLASSES]) -> usize {
    (1..NUM_CLASSES).fold(0, |best, j| if values[j] > values[best] { j } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_scores_match_sklearn() {
        // sklearn 1.9.1: y = [0,1,2,2,3], ŷ = [0,2,2,2,4] → labels {0,1,2,3,4}; macro precision
        // 0.3333… (1, 0/0→0, 2/3, 0/0→0, 0), recall 0.4 (1, 0, 1, 0, 0/0→0), F1 0.36 (1, 0, 0.8, 0, 0).
        let (p, r, f1, n) = macro_scores(&[0, 1, 2, 2, 3], &[0, 2, 2, 2, 4]);
        assert_eq!(n, 5);
        assert!((p - 1.0 / 3.0).abs() < 1e-12, "{p}");
        assert!((r - 0.4).abs() < 1e-12, "{r}");
        assert!((f1 - 0.36).abs() < 1e-12, "{f1}");
        // Labels beyond the 20 classes are fine (any class ids).
        assert_eq!(macro_scores(&[25], &[25]), (1.0, 1.0, 1.0, 1));
    }

    #[test]
    fn seed_metrics_use_masked_argmax_targets() -> Result<()> {
        let mut p = Predictions::new();
        let mut relevance = [0.5; NUM_CLASSES];
        relevance[4] = 0.17;
        let mut mask = [false; NUM_CLASSES];
        (mask[4], mask[7]) = (true, true);
        relevance[7] = 0.0;
        // Target = clarinet (4): the unobserved 0.5 elsewhere is masked to 0.
        let mut scores = [0.0; NUM_CLASSES];
        scores[4] = 2.0;
        p.push(scores, relevance, mask)?;
        // An all-masked row has target 0 (accordion); tied top scores pick the first (3).
        let mut tied = [0.0; NUM_CLASSES];
        (tied[3], tied[9]) = (1.0, 1.0);
        p.push(tied, [0.5; NUM_CLASSES], [false; NUM_CLASSES])?;
        let m = evaluate(&p)?;
        assert_eq!((m.clips, m.accuracy, m.classes_averaged), (2, 0.5, 3));
        // Classes {0, 3, 4}: precision, recall and F1 (0 + 0 + 1)/3 each (sklearn: 0.3333…).
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-12 && (m.recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 1.0 / 3.0).abs() < 1e-12);
        assert!(matches!(evaluate(&Predictions::new()), Err(Error::Empty)));
        Ok(())
    }
}
