//! The compact encoder's batch normalisation in training mode on the CPU backend: statistics and
//! gradients in one or two passes over the channel planes.
//!
//! burn's generic training batch norm swaps batch and channel dimensions (a copy) for each of its
//! two reductions, and its backward pass copies twice more and runs about ten element-wise passes.
//! Here the forward pass reads `[n, c, h, w]` in place (one pass for the moments, one for the
//! output) and the backward pass reads the gradient twice. The float32 CPU device only; elsewhere,
//! and outside training, burn's `BatchNorm::forward` runs.

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// The extension: training-mode batch norm over `[n, c, h, w]` and its gradients.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormBackend: Backend {
    /// `(output, mean, variance)`: `x` normalised with its per-channel batch mean and biased
    /// variance, scaled by `gamma` and shifted by `beta` (all three `[c]`).
    fn batch_norm_train_2d(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let result = Self::batch_norm_train(x, gamma, beta, epsilon);
        (result.output, result.mean, result.variance)
    }

    /// `(x_grad, gamma_grad, beta_grad)` of [`Self::batch_norm_train_2d`] given its output's
    /// gradient and the statistics it returned.
    fn batch_norm_backward_2d(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let result = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        (result.x_grad, result.gamma_grad, result.beta_grad)
    }
}

impl BatchNormBackend for Flex {
    fn batch_norm_train_2d(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let planes = Planes::of(&shape);
        let x = contiguous_f32(x);
        let (gamma, beta) = (contiguous_f32(gamma), contiguous_f32(beta));
        let (mean, variance) = planes.moments(x.storage::<f32>());
        let (scale, shift): (Vec<f32>, Vec<f32>) = (0..planes.channels)
            .map(|c| {
                let scale = gamma.storage::<f32>()[c] * inv_std(variance[c], epsilon);
                (scale, beta.storage::<f32>()[c] - mean[c] * scale)
            })
            .unzip();
        let output = planes.map(x.storage::<f32>(), |c, v| v * scale[c] + shift[c]);
        (
            tensor(output, shape),
            tensor(mean, [planes.channels]),
            tensor(variance, [planes.channels]),
        )
    }

    fn batch_norm_backward_2d(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let planes = Planes::of(&shape);
        let [x, gamma, mean, variance, grad] = [x, gamma, mean, variance, grad].map(contiguous_f32);
        let (mean, gamma) = (mean.storage::<f32>(), gamma.storage::<f32>());
        let inv_std: Vec<f32> = variance
            .storage::<f32>()
            .iter()
            .map(|&v| inv_std(v, epsilon))
            .collect();
        // Σ g and Σ g·x̂ per channel: the gradients of beta and gamma.
        let (beta_grad, gamma_grad) =
            planes.channel_sums(grad.storage::<f32>(), x.storage::<f32>(), |c, g, v| {
                (g, g * (v - mean[c]) * inv_std[c])
            });
        let count = planes.per_channel() as f32;
        let x_grad = planes.zip_map(grad.storage::<f32>(), x.storage::<f32>(), |c, g, v| {
            let normalized = (v - mean[c]) * inv_std[c];
            gamma[c] * inv_std[c] * (g - beta_grad[c] / count - normalized * gamma_grad[c] / count)
        });
        let channels = [planes.channels];
        (
            tensor(x_grad, shape),
            tensor(gamma_grad, channels),
            tensor(beta_grad, channels),
        )
    }
}

impl<B: BatchNormBackend, C: CheckpointStrategy> BatchNormBackend for Autodiff<B, C> {
    fn batch_norm_train_2d(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormTrain;

        /// The input, gamma, the batch statistics and epsilon.
        type State<B> = (
            FloatTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
            f64,
        );

        impl<B: BatchNormBackend> Backward<B, 3> for BatchNormTrain {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, mean, variance, epsilon) = ops.state;
                let (x_grad, gamma_grad, beta_grad) =
                    B::batch_norm_backward_2d(x, gamma, mean, variance, epsilon, grad);
                for (node, grad) in [
                    (node_x, x_grad),
                    (node_gamma, gamma_grad),
                    (node_beta, beta_grad),
                ] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let prepared = BatchNormTrain
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        let untracked = FloatTensor::<Self>::new;
        match prepared {
            OpsKind::Tracked(prep) => {
                let (output, mean, variance) =
                    B::batch_norm_train_2d(x.clone(), gamma.clone(), beta, epsilon);
                let state = (x, gamma, mean.clone(), variance.clone(), epsilon);
                (
                    prep.finish(state, output),
                    untracked(mean),
                    untracked(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (output, mean, variance) = B::batch_norm_train_2d(x, gamma, beta, epsilon);
                (prep.finish(output), untracked(mean), untracked(variance))
            }
        }
    }
}

fn inv_std(variance: f32, epsilon: f64) -> f32 {
    (1.0 / (f64::from(variance) + epsilon).sqrt()) as f32
}

fn contiguous_f32(t: FlexTensor) -> FlexTensor {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "batch norm: float32 tensors expected"
    );
    t.to_contiguous()
}

fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// A contiguous `[n, c, rest…]` tensor as `n · c` planes of `len` values; plane `i` belongs to
/// channel `i % c`.
#[derive(Debug, Clone, Copy)]
struct Planes {
    batch: usize,
    channels: usize,
    len: usize,
}

impl Planes {
    fn of(shape: &Shape) -> Self {
        let (batch, channels) = (shape[0], shape[1]);
        Self {
            batch,
            channels,
            len: shape.num_elements() / (batch * channels).max(1),
        }
    }

    /// Values per channel.
    fn per_channel(&self) -> usize {
        self.batch * self.len
    }

    /// The planes of channel `c` in `values`.
    fn of_channel<'a>(&self, values: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        (0..self.batch).map(move |i| &values[(i * self.channels + c) * self.len..][..self.len])
    }

    /// Per-channel mean and biased variance (two passes, summed per plane in f32 and across planes
    /// in f64).
    fn moments(&self, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let count = self.per_channel().max(1) as f64;
        (0..self.channels)
            .into_par_iter()
            .map(|c| {
                let mean = self
                    .of_channel(x, c)
                    .map(|p| f64::from(lane_sum(p, p, |v, _| v)))
                    .sum::<f64>()
                    / count;
                let centre = mean as f32;
                let variance = self
                    .of_channel(x, c)
                    .map(|p| f64::from(lane_sum(p, p, |v, _| (v - centre) * (v - centre))))
                    .sum::<f64>()
                    / count;
                (centre, variance as f32)
            })
            .unzip()
    }

    /// Per channel, the sums of both terms of `f(c, a, b)` over the paired values of `a` and `b`.
    fn channel_sums(
        &self,
        a: &[f32],
        b: &[f32],
        f: impl Fn(usize, f32, f32) -> (f32, f32) + Sync,
    ) -> (Vec<f32>, Vec<f32>) {
        (0..self.channels)
            .into_par_iter()
            .map(|c| {
                let (mut first, mut second) = (0.0f64, 0.0f64);
                for (pa, pb) in self.of_channel(a, c).zip(self.of_channel(b, c)) {
                    first += f64::from(lane_sum(pa, pb, |x, y| f(c, x, y).0));
                    second += f64::from(lane_sum(pa, pb, |x, y| f(c, x, y).1));
                }
                (first as f32, second as f32)
            })
            .unzip()
    }

    /// `f(channel, v)` of every value.
    fn map(&self, x: &[f32], f: impl Fn(usize, f32) -> f32 + Sync) -> Vec<f32> {
        self.zip_map(x, x, |c, v, _| f(c, v))
    }

    /// `f(channel, a, b)` of every pair of values.
    fn zip_map(&self, a: &[f32], b: &[f32], f: impl Fn(usize, f32, f32) -> f32 + Sync) -> Vec<f32> {
        let mut out = vec![0.0f32; a.len()];
        if self.len == 0 {
            return out;
        }
        out.par_chunks_mut(self.len)
            .zip(a.par_chunks(self.len).zip(b.par_chunks(self.len)))
            .enumerate()
            .with_min_len(64)
            .for_each(|(i, (out, (pa, pb)))| {
                let c = i % self.channels;
                for ((o, &x), &y) in out.iter_mut().zip(pa).zip(pb) {
                    *o = f(c, x, y);
                }
            });
        out
    }
}

/// Σ f(a, b) over paired values, in eight lanes so that it vectorises.
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(xa).zip(xb) {
            *lane += f(x, y);
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// `norm`'s forward pass on `[n, c, h, w]`. In training mode on the float32 CPU device it runs
/// the kernels above and updates the running statistics as burn's `BatchNorm` does; otherwise it
/// is `norm.forward(x)`.
pub fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    // (Device equality ignores autodiff.)
    if !device.is_autodiff()
        || device != Device::flex()
        || !norm.training.is_enabled()
        || x.dtype() != DType::F32
    {
        return norm.forward(x);
    }
    let (output, mean, variance) = <Dispatch as BatchNormBackend>::batch_norm_train_2d(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
    );
    let momentum = norm.momentum;
    let update = |running: Tensor<1>, batch: FloatTensor<Dispatch>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - momentum)
            .add(
                Tensor::<1>::from_dispatch(batch)
                    .detach()
                    .mul_scalar(momentum),
            )
            .detach()
    };
    norm.running_mean
        .update(update(norm.running_mean.value_sync(), mean));
    norm.running_var
        .update(update(norm.running_var.value_sync(), variance));
    Tensor::from_dispatch(output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::Distribution;

    fn max_relative<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let scale = a.clone().abs().max().into_scalar::<f32>().max(1e-12);
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    /// A trained-looking norm: gamma and beta away from 1 and 0.
    fn norm(channels: usize, device: &Device) -> BatchNorm {
        let mut norm = BatchNormConfig::new(channels).init(device);
        let param = |mean| {
            burn::module::Param::from_tensor(Tensor::<1>::random(
                [channels],
                Distribution::Normal(mean, 0.5),
                device,
            ))
        };
        norm.gamma = param(1.0);
        norm.beta = param(0.0);
        norm
    }

    #[test]
    fn matches_burns_batch_norm_outputs_statistics_and_gradients() {
        let device = Device::flex().autodiff();
        // Planes shorter and longer than the eight lanes, one and several channels.
        for [n, c, h, w] in [[3, 1, 5, 7], [4, 6, 3, 4], [2, 16, 12, 16], [5, 3, 1, 1]] {
            let case = format!("{n}×{c}×{h}×{w}");
            let theirs = norm(c, &device);
            // Its own running statistics and parameter ids, the same gamma and beta.
            let mut ours = BatchNormConfig::new(c).init(&device);
            ours.gamma = burn::module::Param::from_tensor(theirs.gamma.val().detach());
            ours.beta = burn::module::Param::from_tensor(theirs.beta.val().detach());
            let x = Tensor::<4>::random([n, c, h, w], Distribution::Normal(2.0, 3.0), &device)
                .require_grad();
            let target = Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.0, 1.0), &device);
            let run = |norm: &BatchNorm, y: Tensor<4>| {
                let g = (y.clone() * target.clone())
                    .powf_scalar(2.0)
                    .sum()
                    .backward();
                (
                    y,
                    x.grad(&g).expect("input gradient"),
                    norm.gamma.grad(&g).expect("gamma gradient"),
                    norm.beta.grad(&g).expect("beta gradient"),
                )
            };
            let expected = run(&theirs, theirs.forward(x.clone()));
            let actual = run(&ours, batch_norm(&ours, x.clone()));
            for (what, err) in [
                ("output", max_relative(expected.0, actual.0)),
                ("input gradient", max_relative(expected.1, actual.1)),
            ] {
                assert!(err < 1e-4, "{case}: {what} relative error {err:e}");
            }
            for (what, err) in [
                ("gamma gradient", max_relative(expected.2, actual.2)),
                ("beta gradient", max_relative(expected.3, actual.3)),
                (
                    "running mean",
                    max_relative(theirs.running_mean.value(), ours.running_mean.value()),
                ),
                (
                    "running variance",
                    max_relative(theirs.running_var.value(), ours.running_var.value()),
                ),
            ] {
                assert!(err < 1e-4, "{case}: {what} relative error {err:e}");
            }
        }
    }

    #[test]
    fn outside_training_it_is_burns_inference_norm() {
        let device = Device::flex();
        let norm = norm(4, &device);
        let x = Tensor::<4>::random([2, 4, 3, 5], Distribution::Normal(0.0, 1.0), &device);
        let err = max_relative(norm.forward(x.clone()), batch_norm(&norm, x));
        assert_eq!(err, 0.0);
    }
}
