//! GRU_D (models.md §2.23): a GRU-D decay cell over the 10 frames, reading the per-second
//! mask; the head classifies the final hidden state.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::ZooConfig;
use crate::error::Result;
use crate::layers::gru::GruCell;
use crate::model::{SequenceInput, ZooModel};

/// GRU hidden width (hard-coded `rnn_hidden_size` upstream).
const RNN_HIDDEN: usize = 100;

/// Hyper-parameters of [`GruD`] (the widths are hard-coded upstream).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GruDConfig {
    /// `false` (default) reproduces PyOmniTS, whose empirical mean and last-observation helpers
    /// read the mask inverted (they average and carry the *unobserved* steps). `true` uses GRU-D
    /// as published: the mean over observed steps, and the last observed value at or before each
    /// step (the mean where none was observed yet).
    pub fixed: bool,
}

impl ZooConfig for GruDConfig {
    type Model = GruD;
    const NAME: &'static str = "GRU_D";

    fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<GruD> {
        self.validate()?;
        Ok(GruD {
            backbone: BackboneGruD {
                rnn_cell: GruCell::new(2 * EMBEDDING_DIM + RNN_HIDDEN, RNN_HIDDEN, device),
                temp_decay_h: TemporalDecay::new(EMBEDDING_DIM, RNN_HIDDEN, false, device),
                temp_decay_x: TemporalDecay::new(EMBEDDING_DIM, EMBEDDING_DIM, true, device),
            },
            output_projection: LinearConfig::new(RNN_HIDDEN, EMBEDDING_DIM).init(device),
            decoder_classification: LinearConfig::new(RNN_HIDDEN, NUM_CLASSES).init(device),
            fixed: self.fixed,
        })
    }
}

/// `TemporalDecay`: `γ = exp(−ReLU(δ Wᵀ + b))`; with `diag` the weight is masked by the
/// identity buffer `m` (kept as a frozen parameter so the checkpoint loads strictly).
#[derive(Module, Debug)]
pub struct TemporalDecay {
    pub w: Param<Tensor<2>>,
    pub b: Param<Tensor<1>>,
    pub m: Option<Param<Tensor<2>>>,
}

impl TemporalDecay {
    /// PyOmniTS's initialisation `U(±1/√output)`; `diag` needs `input == output`.
    fn new(input: usize, output: usize, diag: bool, device: &Device) -> Self {
        let k = 1.0 / (output as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        Self {
            w: init.init([output, input], device),
            b: init.init([output], device),
            m: diag.then(|| Param::from_tensor(Tensor::eye(input, device)).set_require_grad(false)),
        }
    }

    /// # Shapes
    /// - delta: `[batch, input]` → `[batch, output]`
    fn forward(&self, delta: Tensor<2>) -> Tensor<2> {
        let weight = match &self.m {
            Some(m) => self.w.val() * m.val(),
            None => self.w.val(),
        };
        let gamma = delta.matmul(weight.transpose()) + self.b.val().unsqueeze::<2>();
        relu(gamma).neg().exp()
    }
}

/// `BackboneGRUD`: the recurrent part.
#[derive(Module, Debug)]
pub struct BackboneGruD {
    pub rnn_cell: GruCell,
    pub temp_decay_h: TemporalDecay,
    pub temp_decay_x: TemporalDecay,
}

/// PyOmniTS `GRU_D` in classification mode.
#[derive(Module, Debug)]
pub struct GruD {
    pub backbone: BackboneGruD,
    /// `Linear(100 → 128)`: in the checkpoint, unused in classification.
    pub output_projection: Linear,
    pub decoder_classification: Linear,
    pub fixed: bool,
}

impl GruD {
    /// The time gaps `δ_t = mark_t − mark_{t−1}` (`δ_0 = 0`) of the float32 marks `t/10`,
    /// the same for every feature, `[batch, 10, 128]`.
    fn deltas(batch: usize, device: &Device) -> Tensor<3> {
        let marks: Vec<f32> = (0..FRAMES_PER_CLIP)
            .map(|t| t as f32 / FRAMES_PER_CLIP as f32)
            .collect();
        let mut gaps = vec![0f32; FRAMES_PER_CLIP];
        for t in 1..FRAMES_PER_CLIP {
            gaps[t] = marks[t] - marks[t - 1];
        }
        Tensor::<3>::from_data(TensorData::new(gaps, [1, FRAMES_PER_CLIP, 1]), device).expand([
            batch,
            FRAMES_PER_CLIP,
            EMBEDDING_DIM,
        ])
    }

    /// The empirical mean `x̄` `[batch, 1, 128]` and the carried values `x_locf` `[batch, 10, 128]`
    /// that fill unobserved steps; `m` is the mask `[batch, 10, 1]` (1 = observed).
    fn fill_values(&self, x: Tensor<3>, m: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let [batch, length, features] = x.dims();
        let device = x.device();
        // As coded upstream the statistics use `1 − m`; the fixed variant uses `m`.
        let used = if self.fixed {
            m.clone()
        } else {
            m.clone().neg() + 1.0
        };
        let count = used.clone().sum_dim(1); // [batch, 1, 1]
        let mean = (x.clone() * used.clone()).sum_dim(1) / count.clone().clamp_min(1.0);
        let mean = mean.mask_fill(count.equal_elem(0.0).expand([batch, 1, features]), 0.0);
        let steps = Tensor::<1, Int>::arange(0..length as i64, &device)
            .float()
            .reshape([1, length, 1]);
        let gather = |index: Tensor<3>| {
            x.clone()
                .gather(1, index.int().expand([batch, length, features]))
        };
        if self.fixed {
            // Last observed step at or before t (−1 before the first observation).
            let last = (steps * used.clone() + (used - 1.0)).cummax(1); // [batch, length, 1]
            let carried = gather(last.clone().clamp_min(0.0));
            let none_yet = last.lower_elem(0.0).expand([batch, length, features]);
            let carried =
                carried.mask_where(none_yet, mean.clone().expand([batch, length, features]));
            (mean, carried)
        } else {
            // One global index: the last step where `1 − m` is set (0 if none), taken where m = 1.
            let last = (steps * used).max_dim(1).expand([batch, length, 1]);
            let carried = gather(last);
            let observed = m.equal_elem(1.0).expand([batch, length, features]);
            (mean, x.mask_where(observed, carried))
        }
    }
}

impl ZooModel for GruD {
    /// Decay-GRU over the 10 steps (`h ← γ_h ⊙ h`, `x̃ = m x + (1 − m)(γ_x x_locf + (1 − γ_x) x̄)`,
    /// `h ← GRUCell([x̃, h, m], h)`) → `decoder_classification(h)`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let x = input.x.clone();
        let [batch, length, features] = x.dims();
        let device = x.device();
        let m = input.observed_mask().unsqueeze_dim::<3>(2); // [batch, 10, 1]
        let (mean, carried) = self.fill_values(x.clone(), m.clone());
        let mean = mean.reshape([batch, features]);
        let m = m.expand([batch, length, features]);
        let deltas = Self::deltas(batch, &device);
        let at =
            |t: &Tensor<3>, step: usize| t.clone().narrow(1, step, 1).reshape([batch, features]);

        let backbone = &self.backbone;
        let mut h = Tensor::zeros([batch, RNN_HIDDEN], &device);
        for step in 0..length {
            let (x_t, m_t, d_t) = (at(&x, step), at(&m, step), at(&deltas, step));
            let gamma_h = backbone.temp_decay_h.forward(d_t.clone());
            let gamma_x = backbone.temp_decay_x.forward(d_t);
            h = h * gamma_h;
            let x_h = gamma_x.clone() * at(&carried, step) + (gamma_x.neg() + 1.0) * mean.clone();
            let x_replaced = m_t.clone() * x_t + (m_t.clone().neg() + 1.0) * x_h;
            let data = Tensor::cat(vec![x_replaced, h.clone(), m_t], 1);
            h = backbone.rnn_cell.forward(data, h);
        }
        self.decoder_classification.forward(h)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[(r"\.W$", ".w")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed statistics average and carry observed steps; the upstream ones do not.
    #[test]
    fn fixed_variant_fills_from_observed_steps() {
        let device = Device::flex();
        let values: Vec<f32> = (0..FRAMES_PER_CLIP).map(|t| (t + 1) as f32).collect();
        let x = Tensor::<3>::from_data(TensorData::new(values, [1, FRAMES_PER_CLIP, 1]), &device);
        // Observed at steps 0..=3, missing at 4..=9.
        let mask: Vec<f32> = (0..FRAMES_PER_CLIP).map(|t| (t < 4) as u8 as f32).collect();
        let m = Tensor::<3>::from_data(TensorData::new(mask, [1, FRAMES_PER_CLIP, 1]), &device);
        let model = |fixed| GruDConfig { fixed }.init(&device).expect("builds");

        let (mean, carried) = model(true).fill_values(x.clone(), m.clone());
        assert_eq!(mean.into_data().iter::<f32>().collect::<Vec<_>>(), [2.5]);
        let carried = carried.into_data().iter::<f32>().collect::<Vec<_>>();
        assert_eq!(carried[..4], [1.0, 2.0, 3.0, 4.0]);
        assert!(carried[4..].iter().all(|&v| v == 4.0), "{carried:?}");

        let (mean, carried) = model(false).fill_values(x, m);
        assert_eq!(mean.into_data().iter::<f32>().collect::<Vec<_>>(), [7.5]);
        let carried = carried.into_data().iter::<f32>().collect::<Vec<_>>();
        assert_eq!(
            carried[..4],
            [10.0; 4],
            "observed steps take x[last missing]"
        );
        assert_eq!(carried[4..], [5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
    }

    /// A fully observed clip gives the same logits either way (x̃ = x).
    #[test]
    fn variants_agree_on_fully_observed_clips() {
        let device = Device::flex();
        let x = Tensor::<3>::random(
            [2, FRAMES_PER_CLIP, EMBEDDING_DIM],
            burn::tensor::Distribution::Default,
            &device,
        );
        let fixed = GruDConfig { fixed: true }.init(&device).expect("builds");
        let mut quirky = fixed.clone();
        quirky.fixed = false;
        let input = SequenceInput::new(x).expect("clip shape");
        let a = quirky
            .forward(&input)
            .into_data()
            .iter::<f32>()
            .collect::<Vec<_>>();
        let b = fixed
            .forward(&input)
            .into_data()
            .iter::<f32>()
            .collect::<Vec<_>>();
        assert_eq!(a, b);
    }
}
