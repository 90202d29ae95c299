//! The optimiser of the seed's recipe: PyTorch's Adam defaults and `clip_grad_norm_` over all
//! parameters together.
//!
//! burn's own `GradientClipping::Norm` clips each parameter tensor by its own norm; PyTorch
//! (and the seed) scale every gradient by one factor computed from the norm of all of them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

/// Adam with PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8, no weight decay, no clipping (see
/// [`clip_grad_norm`]).
pub fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .init()
}

/// PyTorch `clip_grad_norm_`: the L2 norm `n` of all gradients together; when
/// `max_norm / (n + 1e-6) < 1` every gradient is multiplied by that factor. `max_norm <= 0`
/// only measures. Returns `n`.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut squares = SquaredNorm { grads, sum: None };
    module.visit(&mut squares);
    let norm = squares
        .sum
        .map_or(0.0, |s| f64::from(s.into_scalar::<f32>()).sqrt());
    let factor = max_norm / (norm + 1e-6);
    if max_norm > 0.0 && factor < 1.0 {
        module.visit(&mut Scale {
            grads,
            factor: factor as f32,
        });
    }
    norm
}

/// Sums the squares of every parameter's gradient.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let square = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + square,
                None => square,
            });
        }
    }
}

/// Multiplies every parameter's gradient by one factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad * self.factor);
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    use super::*;

    /// A linear layer whose gradients are known: loss = Σ (W x + b) with x = [3, 4].
    fn grads(device: &Device) -> (Linear, GradientsParams) {
        let layer = LinearConfig::new(2, 1).init(device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), device);
        let loss = layer.forward(x).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        (layer, grads)
    }

    fn values(layer: &Linear, grads: &GradientsParams) -> Vec<f32> {
        let mut out = grads
            .get::<2>(layer.weight.id)
            .map(|g| g.into_data().try_to_vec::<f32>().unwrap_or_default())
            .unwrap_or_default();
        if let Some(bias) = &layer.bias
            && let Some(g) = grads.get::<1>(bias.id)
        {
            out.extend(g.into_data().try_to_vec::<f32>().unwrap_or_default());
        }
        out
    }

    #[test]
    fn clips_all_gradients_by_one_global_factor() {
        let device = Device::flex().autodiff();
        // dW = [3, 4], db = [1]: global norm √26.
        let (layer, mut g) = grads(&device);
        let norm = clip_grad_norm(&layer, &mut g, 1.0);
        assert!((norm - 26f64.sqrt()).abs() < 1e-5, "{norm}");
        let clipped = values(&layer, &g);
        let factor = 1.0 / (26f32.sqrt() + 1e-6);
        let expected = [3.0 * factor, 4.0 * factor, factor];
        assert!(
            clipped
                .iter()
                .zip(expected)
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{clipped:?} vs {expected:?}"
        );
    }

    #[test]
    fn leaves_small_gradients_alone() {
        let device = Device::flex().autodiff();
        let (layer, mut g) = grads(&device);
        clip_grad_norm(&layer, &mut g, 10.0);
        assert_eq!(values(&layer, &g), [3.0, 4.0, 1.0]);
    }
}
