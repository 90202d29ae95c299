//! Partial clip labels and the two target conventions derived from them.

use insrec_core::NUM_CLASSES;

/// Relevance at or above which an observed label counts as positive (OpenMIC's `Y_true >= 0.5`).
pub const POSITIVE_RELEVANCE: f32 = 0.5;

/// The labels of one clip: a relevance per class and whether it was observed.
///
/// OpenMIC relevances are crowd confidences in [0, 1] (0.5 where unobserved); a labelled folder
/// gives 1 or 0 (or any value in [0, 1]) where known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labels {
    pub relevance: [f32; NUM_CLASSES],
    pub mask: [bool; NUM_CLASSES],
}

impl Labels {
    /// Official OpenMIC binary targets: 1 where observed and relevance >= 0.5, else 0.
    ///
    /// Use them with [`Labels::weights`] so unobserved pairs count neither way (masked BCE).
    pub fn official_targets(&self) -> [f32; NUM_CLASSES] {
        std::array::from_fn(|j| {
            f32::from(u8::from(
                self.mask[j] && self.relevance[j] >= POSITIVE_RELEVANCE,
            ))
        })
    }

    /// The mask as loss weights: 1 where observed, 0 elsewhere.
    pub fn weights(&self) -> [f32; NUM_CLASSES] {
        self.mask.map(|m| f32::from(u8::from(m)))
    }

    /// The seed's soft targets `Y_true · Y_mask` (unobserved → 0).
    pub fn seed_targets(&self) -> [f32; NUM_CLASSES] {
        std::array::from_fn(|j| if self.mask[j] { self.relevance[j] } else { 0.0 })
    }

    /// The seed's single class: the first maximum of [`Labels::seed_targets`] (an all-zero row is class 0).
    pub fn seed_class(&self) -> usize {
        first_argmax(&self.seed_targets())
    }
}

/// Index of the first maximum (NumPy `argmax`); 0 for an empty slice. NaN counts as the maximum.
fn first_argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate().skip(1) {
        let current = values[best];
        if current.is_nan() {
            break;
        }
        if v.is_nan() || v > current {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(observed: &[(usize, f32)]) -> Labels {
        let mut l = Labels {
            relevance: [0.5; NUM_CLASSES],
            mask: [false; NUM_CLASSES],
        };
        for &(j, r) in observed {
            l.relevance[j] = r;
            l.mask[j] = true;
        }
        l
    }

    #[test]
    fn official_targets_threshold_observed_pairs_only() {
        let l = labels(&[(4, 0.171), (7, 0.0), (16, 0.5), (19, 0.9)]);
        let t = l.official_targets();
        assert_eq!((t[4], t[7], t[16], t[19]), (0.0, 0.0, 1.0, 1.0));
        assert_eq!(t[0], 0.0, "unobserved 0.5 must not become a positive");
        assert_eq!(l.weights().iter().sum::<f32>(), 4.0);
    }

    #[test]
    fn seed_class_is_first_maximum_of_masked_relevance() {
        assert_eq!(labels(&[(4, 0.171), (7, 0.0)]).seed_class(), 4);
        assert_eq!(labels(&[(3, 0.9), (8, 0.9)]).seed_class(), 3);
        assert_eq!(
            labels(&[(7, 0.0)]).seed_class(),
            0,
            "all-zero row is class 0 (accordion)"
        );
        assert_eq!(
            labels(&[]).seed_targets(),
            [0.0; NUM_CLASSES],
            "unobserved 0.5 is masked out"
        );
    }

    #[test]
    fn argmax_matches_numpy_on_ties_and_nan() {
        assert_eq!(first_argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(first_argmax(&[1.0, f32::NAN, 5.0]), 1);
        assert_eq!(first_argmax(&[]), 0);
    }
}
