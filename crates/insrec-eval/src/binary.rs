//! Metrics of one binary problem (one class over its observed clips), following scikit-learn.
//!
//! Scores are grouped by exact value: tied scores form one threshold, as in sklearn's
//! `_binary_clf_curve`. Pairs are `(score, is_positive)`; unobserved pairs must be left out
//! beforehand (sklearn drops zero-weight samples, so "mask as sample weight" is the same thing).

use serde::{Deserialize, Serialize};

/// Confusion counts at a threshold (`score >= threshold` predicts positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Counts {
    /// Counts the pairs at `threshold`.
    pub fn at(pairs: &[(f32, bool)], threshold: f32) -> Self {
        let mut c = Self::default();
        for &(score, positive) in pairs {
            match (score >= threshold, positive) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        c
    }

    /// `tp / (tp + fp)`; 0 when nothing is predicted positive (sklearn `zero_division=0`).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`; 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// `2 tp / (2 tp + fp + fn)`; 0 when that is 0/0 (sklearn >= 1.3 `f1_score`, `zero_division=0`).
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// One point per distinct score, highest first: `(score, tp, fp)` of `score >= that score`.
fn curve(pairs: &[(f32, bool)]) -> Vec<(f32, usize, usize)> {
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut points: Vec<(f32, usize, usize)> = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (i, &(score, positive)) in sorted.iter().enumerate() {
        if positive {
            tp += 1;
        } else {
            fp += 1;
        }
        // `!=` groups 0.0 with -0.0 like NumPy's diff does.
        let last_of_group = sorted.get(i + 1).is_none_or(|next| next.0 != score);
        if last_of_group {
            points.push((score, tp, fp));
        }
    }
    points
}

/// sklearn `average_precision_score`: `Σ (R_k − R_{k−1}) P_k` over distinct thresholds (step-wise,
/// no interpolation). `None` when there is no positive (sklearn would warn and return 0).
pub fn average_precision(pairs: &[(f32, bool)]) -> Option<f64> {
    let positives = pairs.iter().filter(|p| p.1).count();
    if positives == 0 {
        return None;
    }
    let (mut ap, mut last_recall) = (0.0, 0.0);
    for (_, tp, fp) in curve(pairs) {
        let recall = tp as f64 / positives as f64;
        ap += (recall - last_recall) * (tp as f64 / (tp + fp) as f64);
        last_recall = recall;
    }
    Some(ap)
}

/// sklearn `roc_auc_score`: trapezoids over the ROC points of the distinct thresholds, from (0, 0)
/// (ties therefore count one half). `None` unless both classes occur (sklearn raises).
pub fn roc_auc(pairs: &[(f32, bool)]) -> Option<f64> {
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (mut area, mut last_fpr, mut last_tpr) = (0.0, 0.0, 0.0);
    for (_, tp, fp) in curve(pairs) {
        let (tpr, fpr) = (tp as f64 / positives as f64, fp as f64 / negatives as f64);
        area += (fpr - last_fpr) * (tpr + last_tpr) / 2.0;
        (last_fpr, last_tpr) = (fpr, tpr);
    }
    Some(area)
}

/// The threshold that maximises F1 (`score >= threshold`), with that F1.
///
/// Candidates sit halfway between consecutive distinct scores (the lowest score itself for "all
/// positive"); on equal F1 the highest threshold wins. `None` when there is no positive.
pub fn best_threshold(pairs: &[(f32, bool)]) -> Option<(f32, f64)> {
    let positives = pairs.iter().filter(|p| p.1).count();
    if positives == 0 {
        return None;
    }
    let points = curve(pairs);
    let mut best: Option<(f32, f64)> = None;
    for (i, &(score, tp, fp)) in points.iter().enumerate() {
        let f1 = Counts {
            tp,
            fp,
            fn_: positives - tp,
            tn: 0,
        }
        .f1();
        if best.is_some_and(|(_, b)| f1 <= b) {
            continue;
        }
        let threshold = match points.get(i + 1) {
            Some(&(next, ..)) => {
                let mid = ((f64::from(score) + f64::from(next)) / 2.0) as f32;
                if mid > next && mid <= score {
                    mid
                } else {
                    score
                }
            }
            None => score,
        };
        best = Some((threshold, f1));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sklearn 1.9.1 reference values (computed once, see each test).
    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn average_precision_is_stepwise() {
        // y = [1,0,1,1,0], s = [.9,.8,.7,.6,.2]: P@1 = 1 (R 1/3), P@3 = 2/3 (R 2/3), P@4 = 3/4 (R 1).
        // AP = 1/3·1 + 1/3·2/3 + 1/3·3/4 = 0.8055… (sklearn: 0.8055555555555556).
        let pairs = [
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.6, true),
            (0.2, false),
        ];
        assert!(close(
            average_precision(&pairs),
            1.0 / 3.0 + 2.0 / 9.0 + 0.25
        ));
    }

    #[test]
    fn tied_scores_form_one_threshold() {
        // y = [1,0,1,0], s = [.5,.5,.5,.1]: one step to R = 1 at P = 2/3 (sklearn AP 0.6666…, AUC 0.75).
        let pairs = [(0.5, true), (0.5, false), (0.5, true), (0.1, false)];
        assert!(close(average_precision(&pairs), 2.0 / 3.0));
        assert!(close(roc_auc(&pairs), 0.75));
        // All scores tied: AP = prevalence, AUC = 0.5 (sklearn: 0.4, 0.5).
        let flat = [
            (0.3, true),
            (0.3, false),
            (0.3, true),
            (0.3, false),
            (0.3, false),
        ];
        assert!(close(average_precision(&flat), 0.4));
        assert!(close(roc_auc(&flat), 0.5));
    }

    #[test]
    fn roc_auc_counts_pairs_in_order() {
        // y = [1,0,1,1,0], s = [.9,.8,.7,.6,.2]: 4 of 6 positive/negative pairs ordered (sklearn 0.6666…).
        let pairs = [
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.6, true),
            (0.2, false),
        ];
        assert!(close(roc_auc(&pairs), 4.0 / 6.0));
        // Perfectly inverted ranking.
        assert!(close(roc_auc(&[(0.1, true), (0.9, false)]), 0.0));
    }

    #[test]
    fn undefined_cases_are_none() {
        let negatives = [(0.9, false), (0.1, false)];
        assert_eq!(average_precision(&negatives), None);
        assert_eq!(roc_auc(&negatives), None);
        assert_eq!(roc_auc(&[(0.9, true)]), None);
        assert_eq!(best_threshold(&negatives), None);
        assert_eq!(average_precision(&[]), None);
    }

    #[test]
    fn counts_use_zero_division_zero() {
        let pairs = [(0.2, true), (0.4, false), (0.6, true), (0.5, false)];
        let c = Counts::at(&pairs, 0.5);
        assert_eq!(
            c,
            Counts {
                tp: 1,
                fp: 1,
                fn_: 1,
                tn: 1
            }
        );
        assert_eq!((c.precision(), c.recall(), c.f1()), (0.5, 0.5, 0.5));
        let none_predicted = Counts::at(&pairs, 0.9);
        assert_eq!(
            (none_predicted.precision(), none_predicted.f1()),
            (0.0, 0.0)
        );
        let no_positives = Counts::at(&[(0.1, false)], 0.5);
        assert_eq!((no_positives.recall(), no_positives.f1()), (0.0, 0.0));
    }

    #[test]
    fn best_threshold_maximises_f1_between_scores() {
        // Cuts: >=.9 F1 .5; >=.8 F1 .4; >=.7 F1 2/3; >=.6 F1 6/7; >=.2 F1 .75 → best between .6 and .2.
        let pairs = [
            (0.9, true),
            (0.8, false),
            (0.7, true),
            (0.6, true),
            (0.2, false),
        ];
        let (threshold, f1) = best_threshold(&pairs).unwrap_or_default();
        assert!((f1 - 6.0 / 7.0).abs() < 1e-12);
        assert!((threshold - 0.4).abs() < 1e-6);
        assert!(
            (Counts::at(&pairs, threshold).f1() - f1).abs() < 1e-12,
            "threshold reproduces its F1"
        );
        // F1 2/3 at >= 0.9 (1 tp, 1 fn) and at >= 0.4 (2 tp, 2 fp): the higher cut wins.
        let tie = [
            (0.9, true),
            (0.5, false),
            (0.45, false),
            (0.4, true),
            (0.1, false),
        ];
        let (t, f1) = best_threshold(&tie).unwrap_or_default();
        assert!(
            (f1 - 2.0 / 3.0).abs() < 1e-12 && (t - 0.7).abs() < 1e-6,
            "got {t} with F1 {f1}"
        );
    }
}
