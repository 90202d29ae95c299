//! Early stopping on a validation loss, with the seed's rule (`utils/tools.EarlyStopping`, delta 0):
//! a value at or below the best so far is an improvement and resets the counter; otherwise the
//! counter grows and training stops when it reaches the patience.

use serde::{Deserialize, Serialize};

/// What one validation result means for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The best value so far (keep this model).
    Improved,
    /// Not better; keep going.
    Waiting,
    /// Not better for `patience` epochs in a row; stop.
    Stop,
}

/// Patience counter and best value; serialisable so a resumed run continues the count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement tolerated; 0 never stops early.
    pub patience: usize,
    /// Best validation value and the (0-based) epoch that reached it.
    pub best: Option<(f64, usize)>,
    /// Epochs since the last improvement.
    pub waited: usize,
}

impl EarlyStopping {
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            best: None,
            waited: 0,
        }
    }

    /// Records the validation value of `epoch`. A NaN value never improves.
    pub fn update(&mut self, epoch: usize, value: f64) -> Verdict {
        let improved = !value.is_nan() && self.best.is_none_or(|(best, _)| value <= best);
        if improved {
            self.best = Some((value, epoch));
            self.waited = 0;
            return Verdict::Improved;
        }
        self.waited += 1;
        if self.patience > 0 && self.waited >= self.patience {
            Verdict::Stop
        } else {
            Verdict::Waiting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_improve_and_patience_counts_misses() {
        let mut stop = EarlyStopping::new(2);
        let verdicts: Vec<Verdict> = [1.0, 1.0, 1.2, 0.9, 1.1, f64::NAN]
            .iter()
            .enumerate()
            .map(|(e, &v)| stop.update(e, v))
            .collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [Improved, Improved, Waiting, Improved, Waiting, Stop]
        );
        assert_eq!(stop.best, Some((0.9, 3)));
    }

    #[test]
    fn zero_patience_never_stops() {
        let mut stop = EarlyStopping::new(0);
        stop.update(0, 1.0);
        assert!((1..50).all(|e| stop.update(e, 2.0) == Verdict::Waiting));
    }
}
