//! Training losses on `[batch, 20]` logits: the official masked binary cross-entropy, its
//! asymmetric variant (Ridnik et al., "Asymmetric Loss for Multi-Label Classification", 2021) and
//! the seed's single-label cross-entropy (models.md §3).

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, sigmoid};
use insrec_core::NUM_CLASSES;
use insrec_data::Labels;
use serde::{Deserialize, Serialize};

/// Which loss a classifier trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LossKind {
    /// Binary cross-entropy per class on the observed labels only (targets `Y_true >= 0.5`,
    /// unobserved pairs weigh 0), averaged over the observed pairs.
    #[default]
    #[serde(rename = "masked_bce")]
    MaskedBce,
    /// Masked BCE with the negatives' term focused and shifted ([`asymmetric`]): easy negatives,
    /// the bulk of a multi-label batch, weigh little, and negatives scored below
    /// [`ASL_MARGIN`] not at all.
    #[serde(rename = "masked_asl")]
    MaskedAsl,
    /// The seed's `CrossEntropyLoss`: softmax cross-entropy against one class per clip, the first
    /// maximum of `Y_true · Y_mask` (an all-zero row is class 0), averaged over clips.
    #[serde(rename = "seed_ce")]
    SeedCe,
}

impl LossKind {
    /// The names accepted in configs.
    pub const NAMES: &'static str = "masked_bce, masked_asl, seed_ce";

    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "masked_bce" => Some(Self::MaskedBce),
            "masked_asl" => Some(Self::MaskedAsl),
            "seed_ce" => Some(Self::SeedCe),
            _ => None,
        }
    }

    /// Per-clip `(targets, weights)` rows for this loss.
    ///
    /// Masked BCE: official binary targets and the mask as weights. Seed CE: the one-hot seed
    /// class, weight 1 on every clip (stored in column 0; the other weights are 0).
    pub fn targets(self, labels: &Labels) -> ([f32; NUM_CLASSES], [f32; NUM_CLASSES]) {
        match self {
            Self::MaskedBce | Self::MaskedAsl => (labels.official_targets(), labels.weights()),
            Self::SeedCe => {
                let mut one_hot = [0.0; NUM_CLASSES];
                one_hot[labels.seed_class()] = 1.0;
                let mut weight = [0.0; NUM_CLASSES];
                weight[0] = 1.0;
                (one_hot, weight)
            }
        }
    }

    /// The summed loss of a batch; divide by the sum of `weights` for the mean.
    ///
    /// # Shapes
    /// - logits, targets, weights: `[batch, 20]`
    /// - output: `[1]`
    pub fn sum(self, logits: Tensor<2>, targets: Tensor<2>, weights: Tensor<2>) -> Tensor<1> {
        match self {
            Self::MaskedBce => (bce_with_logits(logits, targets) * weights).sum(),
            Self::MaskedAsl => (asymmetric(logits, targets) * weights).sum(),
            Self::SeedCe => (log_softmax(logits, 1) * targets).sum().neg(),
        }
    }

    /// The mean loss of a batch (0 when nothing in it is observed).
    ///
    /// # Shapes
    /// - logits, targets, weights: `[batch, 20]`
    /// - output: `[1]`
    pub fn mean(self, logits: Tensor<2>, targets: Tensor<2>, weights: Tensor<2>) -> Tensor<1> {
        let count = weights.clone().sum().clamp_min(1.0);
        self.sum(logits, targets, weights) / count
    }
}

/// Element-wise binary cross-entropy of logits `z` against targets `y`, in the stable form
/// `max(z, 0) − z·y + ln(1 + e^{−|z|})`.
pub fn bce_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    logits.clone().clamp_min(0.0) - logits.clone() * targets
        + (logits.abs().neg().exp() + 1.0).log()
}

/// Focusing exponent of the asymmetric loss's negative term (its positive term has none).
pub const ASL_GAMMA_NEGATIVE: i32 = 4;
/// Probability shift of the asymmetric loss's negative term.
pub const ASL_MARGIN: f32 = 0.05;

/// Element-wise asymmetric loss of logits `z` against binary targets `y`: `y · ln(1 + e^{−z})`
/// (the BCE of a positive) plus `(1 − y) · p_m^4 · −ln(1 − p_m)`, where `p_m = max(σ(z) − 0.05, 0)`.
pub fn asymmetric(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    let positive = bce_with_logits(logits.clone(), targets.ones_like());
    let shifted = (sigmoid(logits) - ASL_MARGIN).clamp_min(0.0);
    let negative =
        shifted.clone().powi_scalar(ASL_GAMMA_NEGATIVE) * shifted.neg().add_scalar(1.0).log().neg();
    positive * targets.clone() + negative * targets.neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    fn tensor(rows: &[[f32; NUM_CLASSES]]) -> Tensor<2> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(
            TensorData::new(flat, [rows.len(), NUM_CLASSES]),
            &Device::flex(),
        )
    }

    fn labels(observed: &[(usize, f32)]) -> Labels {
        let mut l = Labels {
            relevance: [0.5; NUM_CLASSES],
            mask: [false; NUM_CLASSES],
        };
        for &(j, r) in observed {
            (l.relevance[j], l.mask[j]) = (r, true);
        }
        l
    }

    #[test]
    fn masked_bce_ignores_unobserved_pairs() {
        // Clip: class 4 negative (0.17), class 7 positive (0.9); logits 0 and ln 3 there.
        let l = labels(&[(4, 0.17), (7, 0.9)]);
        let (t, w) = LossKind::MaskedBce.targets(&l);
        let mut z = [5.0; NUM_CLASSES]; // large logits on unobserved classes must not count
        (z[4], z[7]) = (0.0, 3f32.ln());
        let loss = LossKind::MaskedBce
            .mean(tensor(&[z]), tensor(&[t]), tensor(&[w]))
            .into_scalar::<f32>();
        // BCE(0, y=0) = ln 2; BCE(ln 3, y=1) = −ln σ(ln 3) = ln(4/3).
        let expected = (2f32.ln() + (4.0f32 / 3.0).ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
    }

    #[test]
    fn masked_bce_of_an_unlabelled_batch_is_zero() {
        let (t, w) = LossKind::MaskedBce.targets(&labels(&[]));
        let loss = LossKind::MaskedBce
            .mean(tensor(&[[1.0; NUM_CLASSES]]), tensor(&[t]), tensor(&[w]))
            .into_scalar::<f32>();
        assert_eq!(loss, 0.0);
    }

    #[test]
    fn seed_ce_uses_the_masked_argmax_class() {
        // Observed 0.3 at class 2 and 0.9 at class 5 → class 5; the unobserved 0.5s are masked.
        let (t, w) = LossKind::SeedCe.targets(&labels(&[(2, 0.3), (5, 0.9)]));
        assert_eq!(
            (t[5], t.iter().sum::<f32>(), w.iter().sum::<f32>()),
            (1.0, 1.0, 1.0)
        );
        // An all-masked clip is class 0 (accordion).
        let (t0, _) = LossKind::SeedCe.targets(&labels(&[]));
        assert_eq!(t0[0], 1.0);
        // Logits ln 3 at class 5, 0 elsewhere: p = 3 / (3 + 19), CE = ln(22/3).
        let mut z = [0.0; NUM_CLASSES];
        z[5] = 3f32.ln();
        let loss = LossKind::SeedCe
            .mean(tensor(&[z, z]), tensor(&[t, t0]), tensor(&[w, w]))
            .into_scalar::<f32>();
        let expected = ((22.0f32 / 3.0).ln() + 22f32.ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }

    #[test]
    fn bce_is_stable_for_large_logits() {
        let mut z = [0.0; NUM_CLASSES];
        (z[0], z[1]) = (80.0, -80.0);
        let mut y = [0.0; NUM_CLASSES];
        y[1] = 1.0;
        let out = bce_with_logits(tensor(&[z]), tensor(&[y]))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        assert_eq!((out[0], out[1]), (80.0, 80.0));
    }

    #[test]
    fn asymmetric_loss_keeps_positives_and_damps_negatives() {
        let mut z = [0.0; NUM_CLASSES];
        let mut y = [0.0; NUM_CLASSES];
        (z[0], y[0]) = (-1.5, 1.0); // a positive: plain BCE
        z[1] = -4.0; // an easy negative, σ = 0.018 < margin: nothing
        z[2] = 1.0; // a hard negative, σ = 0.731
        let asl = asymmetric(tensor(&[z]), tensor(&[y]))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let bce = bce_with_logits(tensor(&[z]), tensor(&[y]))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        assert!((asl[0] - bce[0]).abs() < 1e-6, "{} vs {}", asl[0], bce[0]);
        assert_eq!(asl[1], 0.0);
        let p = 1.0 / (1.0 + (-1.0f32).exp()) - ASL_MARGIN;
        let expected = p.powi(ASL_GAMMA_NEGATIVE) * -(1.0 - p).ln();
        assert!((asl[2] - expected).abs() < 1e-6, "{} vs {expected}", asl[2]);
        assert!(
            asl[2] < 0.5 * bce[2],
            "a hard negative still weighs less than in BCE"
        );
        let weighted = LossKind::MaskedAsl.mean(
            tensor(&[z]),
            tensor(&[y]),
            tensor(&[std::array::from_fn(|c| if c < 3 { 1.0 } else { 0.0 })]),
        );
        let mean = weighted.into_scalar::<f32>();
        assert!((mean - (asl[0] + asl[2]) / 3.0).abs() < 1e-6);
    }
}
