//! The compact encoder's batch normalisation on channel-last `[n, h, w, c]` maps: per-channel
//! statistics and gradients as column sums over the `[n·h·w, c]` rows, in one or two passes.
//!
//! burn's `BatchNorm` wants channels in dimension 1, and its generic training pass swaps batch and
//! channel dimensions (a copy) for each of its two reductions; its backward pass copies twice more
//! and runs about ten element-wise passes. Here, on the float32 CPU device in training, the forward
//! pass reads the map twice for the moments and once for the output, and the backward pass reads
//! the gradient twice. Elsewhere training runs burn's `BatchNorm` between permutes; inference is
//! the per-channel affine map of the running statistics.

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

use super::conv::contiguous_f32;

/// The extension: training-mode batch norm over channel-last `[n, h, w, c]` and its gradients.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormBackend: Backend {
    /// `(output, mean, variance)`: channel-last `x` normalised with its per-channel batch mean
    /// and biased variance, scaled by `gamma` and shifted by `beta` (all three `[c]`).
    fn batch_norm_train_2d(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let result = Self::batch_norm_train(channel_first::<Self>(x), gamma, beta, epsilon);
        (
            Self::float_permute(result.output, &[0, 2, 3, 1]),
            result.mean,
            result.variance,
        )
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
        let result = Self::batch_norm_train_backward(
            channel_first::<Self>(x),
            gamma,
            mean,
            variance,
            epsilon,
            channel_first::<Self>(grad),
        );
        (
            Self::float_permute(result.x_grad, &[0, 2, 3, 1]),
            result.gamma_grad,
            result.beta_grad,
        )
    }
}

/// `[n, h, w, c]` → `[n, c, h, w]`.
fn channel_first<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::float_permute(x, &[0, 3, 1, 2])
}

impl BatchNormBackend for Flex {
    fn batch_norm_train_2d(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = x.shape();
        let channels = shape[shape.num_dims() - 1];
        let [x, gamma, beta] = [x, gamma, beta].map(contiguous_f32);
        let (x, gamma, beta) = (
            x.storage::<f32>(),
            gamma.storage::<f32>(),
            beta.storage::<f32>(),
        );
        let (mean, variance) = moments(x, channels);
        let (scale, shift): (Vec<f32>, Vec<f32>) = (0..channels)
            .map(|c| {
                let scale = gamma[c] * inv_std(variance[c], epsilon);
                (scale, beta[c] - mean[c] * scale)
            })
            .unzip();
        let output = map_rows(x, x, channels, |out, x, _| {
            for (((o, &v), &a), &b) in out.iter_mut().zip(x).zip(&scale).zip(&shift) {
                *o = v * a + b;
            }
        });
        (
            tensor(output, shape),
            tensor(mean, [channels]),
            tensor(variance, [channels]),
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
        let channels = shape[shape.num_dims() - 1];
        let [x, gamma, mean, variance, grad] = [x, gamma, mean, variance, grad].map(contiguous_f32);
        let (x, grad, mean) = (
            x.storage::<f32>(),
            grad.storage::<f32>(),
            mean.storage::<f32>(),
        );
        let inv_std: Vec<f32> = variance
            .storage::<f32>()
            .iter()
            .map(|&v| inv_std(v, epsilon))
            .collect();
        let gamma = gamma.storage::<f32>();
        let rows = grad.len() / channels.max(1);
        // Σ g and Σ g·x̂ per channel: the gradients of beta and gamma.
        let sums = column_sums(rows, 2 * channels, |block, sums| {
            let (beta_grad, gamma_grad) = sums.split_at_mut(channels);
            for r in block {
                let span = r * channels..(r + 1) * channels;
                let terms = grad[span.clone()].iter().zip(&x[span]);
                let stats = mean.iter().zip(&inv_std);
                for (((bg, gg), (&g, &v)), (&m, &s)) in beta_grad
                    .iter_mut()
                    .zip(gamma_grad.iter_mut())
                    .zip(terms)
                    .zip(stats)
                {
                    *bg += g;
                    *gg += g * (v - m) * s;
                }
            }
        });
        let (beta_grad, gamma_grad) = sums.split_at(channels);
        let count = rows.max(1) as f32;
        // x_grad = γ·σ⁻¹·(g − mean(g) − x̂·mean(g·x̂))
        let scale: Vec<f32> = gamma.iter().zip(&inv_std).map(|(g, s)| g * s).collect();
        let mean_g: Vec<f32> = beta_grad.iter().map(|s| s / count).collect();
        let mean_gx: Vec<f32> = gamma_grad.iter().map(|s| s / count).collect();
        let x_grad = map_rows(grad, x, channels, |out, g, v| {
            let stats = mean
                .iter()
                .zip(&inv_std)
                .zip(&scale)
                .zip(mean_g.iter().zip(&mean_gx));
            for ((o, (&g, &v)), (((&m, &s), &k), (&mg, &mgx))) in
                out.iter_mut().zip(g.iter().zip(v)).zip(stats)
            {
                *o = k * (g - mg - (v - m) * s * mgx);
            }
        });
        let channels = [channels];
        (
            tensor(x_grad, shape),
            tensor(gamma_grad.to_vec(), channels),
            tensor(beta_grad.to_vec(), channels),
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

fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// Rows summed per task; blocks are summed in order, so results do not depend on the threads.
const BLOCK_ROWS: usize = 64;

/// Per-channel mean and biased variance of the rows of `x` (two passes).
fn moments(x: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = x.len() / channels.max(1);
    let count = rows.max(1) as f32;
    let row = |r: usize| &x[r * channels..][..channels];
    let mean: Vec<f32> = column_sums(rows, channels, |block, sums| {
        for r in block {
            for (s, v) in sums.iter_mut().zip(row(r)) {
                *s += v;
            }
        }
    })
    .iter()
    .map(|s| s / count)
    .collect();
    let variance = column_sums(rows, channels, |block, sums| {
        for r in block {
            for ((s, v), m) in sums.iter_mut().zip(row(r)).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
    })
    .iter()
    .map(|s| s / count)
    .collect();
    (mean, variance)
}

/// `width` sums over `rows` rows: `add(block, sums)` adds a block of rows into float32 sums,
/// blocks run in parallel and are added up in order in float64.
fn column_sums(
    rows: usize,
    width: usize,
    add: impl Fn(std::ops::Range<usize>, &mut [f32]) + Sync,
) -> Vec<f32> {
    let blocks: Vec<Vec<f32>> = (0..rows.div_ceil(BLOCK_ROWS))
        .into_par_iter()
        .map(|b| {
            let mut sums = vec![0.0f32; width];
            add(b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(rows), &mut sums);
            sums
        })
        .collect();
    let mut total = vec![0.0f64; width];
    for block in &blocks {
        for (t, s) in total.iter_mut().zip(block) {
            *t += f64::from(*s);
        }
    }
    total.into_iter().map(|t| t as f32).collect()
}

/// A new tensor's rows from the paired rows of `a` and `b`: `f(out_row, a_row, b_row)`.
fn map_rows(
    a: &[f32],
    b: &[f32],
    channels: usize,
    f: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0.0f32; a.len()];
    if channels == 0 {
        return out;
    }
    let block = BLOCK_ROWS * channels;
    out.par_chunks_mut(block)
        .zip(a.par_chunks(block).zip(b.par_chunks(block)))
        .for_each(|(out, (a, b))| {
            for ((o, a), b) in out
                .chunks_exact_mut(channels)
                .zip(a.chunks_exact(channels))
                .zip(b.chunks_exact(channels))
            {
                f(o, a, b);
            }
        });
    out
}

/// `norm`'s forward pass on a channel-last map `[n, h, w, c]`. In training on the float32 CPU
/// device it runs the kernels above and updates the running statistics as burn's `BatchNorm`
/// does; in training elsewhere it is burn's `BatchNorm` between permutes; in inference, the
/// per-channel affine map of the running statistics.
pub fn batch_norm(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let channels = norm.gamma.dims()[0];
    if !(device.is_autodiff() && norm.training.is_enabled()) {
        let scale =
            norm.gamma.val() / (norm.running_var.value().to_device(&device) + norm.epsilon).sqrt();
        let shift = norm.beta.val() - norm.running_mean.value().to_device(&device) * scale.clone();
        return x * scale.reshape([1, 1, 1, channels]) + shift.reshape([1, 1, 1, channels]);
    }
    // (Device equality ignores autodiff.)
    if device != Device::flex() || x.dtype() != DType::F32 {
        return norm.forward(x.permute([0, 3, 1, 2])).permute([0, 2, 3, 1]);
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
            let actual = run(
                &ours,
                batch_norm(&ours, x.clone().permute([0, 2, 3, 1])).permute([0, 3, 1, 2]),
            );
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
        let mut norm = norm(4, &device);
        // Running statistics away from 0 and 1.
        let stats = |mean| {
            burn::module::RunningState::new(Tensor::<1>::random(
                [4],
                Distribution::Uniform(mean, mean + 1.0),
                &device,
            ))
        };
        norm.running_mean = stats(-0.5);
        norm.running_var = stats(0.5);
        let x = Tensor::<4>::random([2, 4, 3, 5], Distribution::Normal(0.0, 1.0), &device);
        let ours = batch_norm(&norm, x.clone().permute([0, 2, 3, 1])).permute([0, 3, 1, 2]);
        let err = max_relative(norm.forward(x), ours);
        assert!(err < 1e-6, "relative error {err:e}");
    }
}
