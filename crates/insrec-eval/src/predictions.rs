//! The scores and labels of the clips under evaluation.

use insrec_core::{Instrument, NUM_CLASSES};

use crate::error::{Error, Result};

/// Relevance at or above which an observed label is positive (OpenMIC's `Y_true >= 0.5`).
pub const POSITIVE_RELEVANCE: f32 = 0.5;

/// Per-clip class scores with the clip's partial labels.
///
/// Scores are per-class probabilities (sigmoid outputs) for the official thresholded metrics;
/// ranking metrics (AP, ROC-AUC) and the seed's argmax metrics accept any monotone score (logits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    scores: Vec<[f32; NUM_CLASSES]>,
    relevance: Vec<[f32; NUM_CLASSES]>,
    mask: Vec<[bool; NUM_CLASSES]>,
}

impl Predictions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one clip: its scores, label relevances (`Y_true`) and mask (`Y_mask`, true = observed).
    pub fn push(
        &mut self,
        scores: [f32; NUM_CLASSES],
        relevance: [f32; NUM_CLASSES],
        mask: [bool; NUM_CLASSES],
    ) -> Result<()> {
        let clip = self.len();
        if let Some(j) = scores.iter().position(|s| s.is_nan()) {
            return Err(Error::NanScore {
                clip,
                class: Instrument::ALL[j].name(),
            });
        }
        let bad = (0..NUM_CLASSES).find(|&j| mask[j] && !(0.0..=1.0).contains(&relevance[j]));
        if let Some(j) = bad {
            return Err(Error::BadRelevance {
                clip,
                class: Instrument::ALL[j].name(),
                value: relevance[j],
            });
        }
        self.scores.push(scores);
        self.relevance.push(relevance);
        self.mask.push(mask);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The clips `rows`, in that order.
    ///
    /// # Panics
    /// When a row is out of range.
    pub fn select(&self, rows: &[usize]) -> Self {
        Self {
            scores: rows.iter().map(|&r| self.scores[r]).collect(),
            relevance: rows.iter().map(|&r| self.relevance[r]).collect(),
            mask: rows.iter().map(|&r| self.mask[r]).collect(),
        }
    }

    pub(crate) fn scores(&self) -> &[[f32; NUM_CLASSES]] {
        &self.scores
    }

    /// The seed's targets `Y_true · Y_mask` of each clip.
    pub(crate) fn seed_targets(&self) -> impl Iterator<Item = [f32; NUM_CLASSES]> + '_ {
        self.relevance
            .iter()
            .zip(&self.mask)
            .map(|(r, m)| std::array::from_fn(|j| if m[j] { r[j] } else { 0.0 }))
    }

    /// `(score, is_positive)` of the clips where `class` is observed.
    pub(crate) fn observed_pairs(&self, class: usize) -> Vec<(f32, bool)> {
        (0..self.len())
            .filter(|&i| self.mask[i][class])
            .map(|i| {
                (
                    self.scores[i][class],
                    self.relevance[i][class] >= POSITIVE_RELEVANCE,
                )
            })
            .collect()
    }
}
