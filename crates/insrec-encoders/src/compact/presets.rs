//! [`PresetView`]: a second reading of each frame's embedding, as the SoundFont presets it sounds
//! like (`Electric Piano 1`, `Harpsichord`, …), folded back into the 20 class logits.
//!
//! The trainer's auxiliary preset output (`--set preset_loss`) learns a finer target than the 20
//! classes; kept in the exported model, each class's logit is blended with the highest logit of
//! the presets that are that class: `(1 − w) · head + w · max(presets of the class)`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use insrec_core::NUM_CLASSES;

/// Hyper-parameters of [`PresetView`].
#[derive(Config, Debug, PartialEq)]
pub struct PresetViewConfig {
    /// The preset output's names, in its order (role targets included: they stand for no class).
    pub names: Vec<String>,
    /// Per class (OpenMIC order), the indices into `names` of the presets that are that class.
    pub members: Vec<Vec<usize>>,
    /// Weight of the presets' logit in a class's logit (0: the frame head alone).
    pub weight: f32,
    /// Width of the input embeddings.
    #[config(default = 128)]
    pub input_dim: usize,
}

impl PresetViewConfig {
    pub fn init(&self, device: &Device) -> PresetView {
        self.with_output(LinearConfig::new(self.input_dim, self.names.len()).init(device))
    }

    /// The view with a trained preset output (`input_dim` → `names.len()`).
    pub fn with_output(&self, output: Linear) -> PresetView {
        PresetView {
            output,
            blend: PresetBlend::new(&self.members, self.names.len(), self.weight),
        }
    }
}

/// How preset logits are folded into class logits: per class, its presets, and their weight.
#[derive(Debug, Clone)]
pub struct PresetBlend {
    /// Per class, the indices of its presets.
    members: Vec<Vec<i64>>,
    /// The presets' weight in a class's logit.
    weight: f32,
}

impl PresetBlend {
    /// `members`: per class (OpenMIC order), indices below `count` of the presets that are it.
    pub fn new(members: &[Vec<usize>], count: usize, weight: f32) -> Self {
        let members: Vec<Vec<i64>> = (0..NUM_CLASSES)
            .map(|class| {
                let presets = members.get(class).map_or(&[][..], Vec::as_slice);
                presets
                    .iter()
                    .filter(|&&p| p < count)
                    .map(|&p| p as i64)
                    .collect()
            })
            .collect();
        Self { members, weight }
    }

    /// # Shapes
    /// `head`: `[batch, frames, 20]` class logits, `presets`: `[batch, frames, presets]` logits →
    /// `[batch, frames, 20]` blended logits.
    pub fn apply(&self, head: Tensor<3>, presets: Tensor<3>) -> Tensor<3> {
        let device = presets.device();
        // Per class, the maximum over its presets' logits; the head's own where it has none, so
        // that the blend leaves it as it is.
        let best: Vec<Tensor<3>> = self
            .members
            .iter()
            .enumerate()
            .map(|(class, members)| {
                if members.is_empty() {
                    head.clone().narrow(2, class, 1)
                } else {
                    let indices = Tensor::<1, Int>::from_data(
                        TensorData::new(members.clone(), [members.len()]),
                        &device,
                    );
                    presets.clone().select(2, indices).max_dim(2)
                }
            })
            .collect();
        let best = Tensor::cat(best, 2);
        head.clone() + (best - head) * self.weight
    }
}

/// Preset logits of each frame, and their blend into the class logits.
#[derive(Module, Debug)]
pub struct PresetView {
    pub output: Linear,
    #[module(skip)]
    blend: PresetBlend,
}

impl PresetView {
    /// `output` blended as `blend` says.
    pub fn new(output: Linear, blend: PresetBlend) -> Self {
        Self { output, blend }
    }

    /// # Shapes
    /// `head`: `[batch, frames, 20]` class logits, `embeddings`: `[batch, frames, dim]` →
    /// `[batch, frames, 20]` blended logits.
    pub fn blend(&self, head: Tensor<3>, embeddings: Tensor<3>) -> Tensor<3> {
        self.blend.apply(head, self.output.forward(embeddings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().iter::<f32>().collect()
    }

    /// A view over 3 presets from 2-d embeddings: 0 and 2 are class 1 (banjo), 1 (a role,
    /// the highest logit of the first frame) stands for no class.
    fn view(weight: f32) -> (PresetView, Tensor<3>, Tensor<3>) {
        let device = Device::flex();
        let mut members = vec![Vec::new(); NUM_CLASSES];
        members[1] = vec![0, 2];
        let config = PresetViewConfig::new(
            vec!["a".into(), "role:pad".into(), "b".into()],
            members,
            weight,
        )
        .with_input_dim(2);
        let mut view = config.init(&device);
        view.output.weight = Param::from_tensor(Tensor::<2>::from_data(
            TensorData::new(vec![1.0, 5.0, 0.0, 0.0, 0.0, 1.0], [2, 3]),
            &device,
        ));
        view.output.bias = None;
        let head = Tensor::<3>::from_data(
            TensorData::new(
                (0..2 * NUM_CLASSES).map(|i| i as f32 * 0.1).collect(),
                [1, 2, NUM_CLASSES],
            ),
            &device,
        );
        // Preset logits: frame 0 (1, 5, −2), frame 1 (0.5, 2.5, 3).
        let embeddings = Tensor::<3>::from_data(
            TensorData::new(vec![1.0, -2.0, 0.5, 3.0], [1, 2, 2]),
            &device,
        );
        (view, head, embeddings)
    }

    #[test]
    fn weight_zero_is_the_head() {
        let (view, head, embeddings) = view(0.0);
        assert_eq!(values(view.blend(head.clone(), embeddings)), values(head));
    }

    #[test]
    fn a_class_takes_its_best_preset_and_the_others_are_left_alone() {
        let (view, head, embeddings) = view(0.25);
        let blended = values(view.blend(head.clone(), embeddings));
        let head = values(head);
        for (frame, best) in [1.0, 3.0].into_iter().enumerate() {
            for class in 0..NUM_CLASSES {
                let i = frame * NUM_CLASSES + class;
                let expected = if class == 1 {
                    0.75 * head[i] + 0.25 * best
                } else {
                    head[i]
                };
                assert!(
                    (blended[i] - expected).abs() < 1e-5,
                    "frame {frame} class {class}: {} vs {expected}",
                    blended[i]
                );
            }
        }
    }
}
