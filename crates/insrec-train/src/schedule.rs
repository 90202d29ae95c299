//! Learning-rate schedules, stepped once per epoch.

use serde::{Deserialize, Serialize};

/// How the learning rate changes from epoch to epoch (0-based epochs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LrSchedule {
    /// The seed's `DelayedStepDecayLR` (a `LambdaLR` stepped after every epoch): factor 1 for
    /// epochs 0, 1 and 2, then `0.8^(epoch − 2)` (1, 1, 1, 0.8, 0.64, …).
    #[default]
    #[serde(rename = "DelayedStepDecayLR")]
    DelayedStepDecay,
    /// The base rate throughout.
    #[serde(rename = "constant")]
    Constant,
}

impl LrSchedule {
    /// The names accepted in configs.
    pub const NAMES: &'static str = "DelayedStepDecayLR, constant";
    /// Epochs at the full rate before the decay starts.
    const DELAY: usize = 2;
    /// Decay per epoch after the delay.
    const GAMMA: f64 = 0.8;

    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "DelayedStepDecayLR" => Some(Self::DelayedStepDecay),
            "constant" => Some(Self::Constant),
            _ => None,
        }
    }

    /// The multiplier of the base rate during `epoch`.
    pub fn factor(self, epoch: usize) -> f64 {
        match self {
            Self::DelayedStepDecay if epoch > Self::DELAY => {
                let steps = i32::try_from(epoch - Self::DELAY).unwrap_or(i32::MAX);
                Self::GAMMA.powi(steps)
            }
            Self::DelayedStepDecay | Self::Constant => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_step_decay_matches_the_seed() {
        let factors: Vec<f64> = (0..6)
            .map(|e| LrSchedule::DelayedStepDecay.factor(e))
            .collect();
        let expected = [1.0, 1.0, 1.0, 0.8, 0.64, 0.512];
        assert!(
            factors
                .iter()
                .zip(expected)
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{factors:?}"
        );
        assert_eq!(LrSchedule::Constant.factor(50), 1.0);
        assert_eq!(
            LrSchedule::from_name("DelayedStepDecayLR"),
            Some(LrSchedule::DelayedStepDecay)
        );
        assert_eq!(LrSchedule::from_name("cosine"), None);
    }
}
