//! The compact encoder's 3×3 convolutions (padding 1, no bias) on channel-last `[n, h, w, c]`
//! maps, on the CPU backend: one im2col matrix product over the whole batch, with a backward pass
//! of the same shape.
//!
//! burn's CPU backend runs a convolution as one small product per image, and its weight gradient
//! as a convolution whose kernel is the whole output map (one product per input channel with nine
//! output columns). Training the compact encoder spent most of its time there. Here the forward
//! pass is one `[n·ho·wo, 9·c_in] × [9·c_in, c_out]` product over the patches (im2col), the weight
//! gradient one product of the kept patches with the output gradient, and the input gradient one
//! product of the output gradient with the weight, summed back into the image (col2im). Channel-last
//! maps make the product's rows the output map itself and each patch segment one contiguous copy.
//! The float32 CPU device only; other devices and dtypes use burn's convolution (channel-first,
//! so the map is permuted around it).

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// The extension: patches, and the convolution built on them.
#[backend_extension(Flex, Autodiff)]
pub trait Conv3x3Backend: Backend {
    /// Patches of `x` `[n, h, w, c]` for a 3×3 kernel with padding 1: `[n·ho·wo, 9·c]`, columns
    /// in (dy, dx, c) order; `ho = ⌈h / stride⌉`, `wo = ⌈w / stride⌉`.
    fn im2col3x3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self>;

    /// The adjoint of [`Self::im2col3x3`]: patches `[n·ho·wo, 9·c]` summed back into an
    /// `[n, h, w, c]` image (`shape`).
    fn col2im3x3(cols: FloatTensor<Self>, shape: Shape, stride: usize) -> FloatTensor<Self>;

    /// `x` `[n, h, w, c_in]` convolved with `weight` `[c_out, c_in, 3, 3]`, padding 1:
    /// `[n, ho, wo, c_out]`.
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        let [n, h, w, _] = x.shape().dims();
        let cols = Self::im2col3x3(x, stride);
        conv_from_cols::<Self>(cols, weight, n, h.div_ceil(stride), w.div_ceil(stride))
    }
}

impl Conv3x3Backend for Flex {
    fn im2col3x3(x: FlexTensor, stride: usize) -> FlexTensor {
        let dims = x.shape().dims();
        let x = contiguous_f32(x);
        let (cols, rows) = im2col(x.storage(), dims, stride);
        FlexTensor::from_data(TensorData::new(cols, [rows, 9 * dims[3]]))
    }

    fn col2im3x3(cols: FlexTensor, shape: Shape, stride: usize) -> FlexTensor {
        let cols = contiguous_f32(cols);
        let image = col2im(cols.storage(), shape.dims(), stride);
        FlexTensor::from_data(TensorData::new(image, shape))
    }
}

impl<B: Conv3x3Backend, C: CheckpointStrategy> Conv3x3Backend for Autodiff<B, C> {
    fn im2col3x3(x: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::im2col3x3(x.into_primitive(), stride))
    }

    fn col2im3x3(cols: FloatTensor<Self>, shape: Shape, stride: usize) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::col2im3x3(cols.into_primitive(), shape, stride))
    }

    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv3x3;

        /// Patches (when the weight needs a gradient), the weight (when the input does), the
        /// input's shape and the stride.
        type State<B> = (Option<FloatTensor<B>>, Option<FloatTensor<B>>, Shape, usize);

        impl<B: Conv3x3Backend> Backward<B, 2> for Conv3x3 {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (cols, weight, x_shape, stride) = ops.state;
                // The output gradient `[n, ho, wo, c_out]` as rows `[n·ho·wo, c_out]`.
                let [n, ho, wo, c_out] = grad.shape().dims();
                let rows = B::float_reshape(grad, Shape::new([n * ho * wo, c_out]));
                if let (Some(node), Some(cols)) = (node_weight, cols) {
                    // [9·c_in, c_out] in (dy, dx, c_in) order → [c_out, c_in, 3, 3]
                    let grad_w = B::float_matmul(B::float_transpose(cols), rows.clone());
                    let c_in = x_shape[3];
                    let grad_w = B::float_permute(
                        B::float_reshape(grad_w, Shape::new([3, 3, c_in, c_out])),
                        &[3, 2, 0, 1],
                    );
                    grads.register::<B>(node.id, grad_w);
                }
                if let (Some(node), Some(weight)) = (node_x, weight) {
                    // [n·ho·wo, c_out] × [c_out, 9·c_in] → patches → image
                    let c_in = x_shape[3];
                    let weight = B::float_reshape(
                        B::float_permute(weight, &[0, 2, 3, 1]),
                        Shape::new([c_out, 9 * c_in]),
                    );
                    let cols = B::float_matmul(rows, weight);
                    grads.register::<B>(node.id, B::col2im3x3(cols, x_shape, stride));
                }
            }
        }

        let x_shape = x.primitive().shape();
        let [n, h, w, _] = x_shape.dims();
        let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
        match Conv3x3
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let weight_tracked = weight.is_tracked();
                let x_tracked = x.is_tracked();
                let cols = B::im2col3x3(x.into_primitive(), stride);
                let weight = weight.into_primitive();
                let output = conv_from_cols::<B>(cols.clone(), weight.clone(), n, ho, wo);
                let state = (
                    weight_tracked.then_some(cols),
                    x_tracked.then_some(weight),
                    x_shape,
                    stride,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv3x3(
                x.into_primitive(),
                weight.into_primitive(),
                stride,
            )),
        }
    }
}

/// `[n·ho·wo, 9·c_in]` patches × the weight as `[9·c_in, c_out]` → `[n, ho, wo, c_out]`.
fn conv_from_cols<B: Conv3x3Backend>(
    cols: FloatTensor<B>,
    weight: FloatTensor<B>,
    n: usize,
    ho: usize,
    wo: usize,
) -> FloatTensor<B> {
    let [c_out, c_in, _, _] = weight.shape().dims();
    let weight = B::float_reshape(
        B::float_permute(weight, &[2, 3, 1, 0]),
        Shape::new([9 * c_in, c_out]),
    );
    B::float_reshape(
        B::float_matmul(cols, weight),
        Shape::new([n, ho, wo, c_out]),
    )
}

/// `t` laid out contiguously (a copy only if it is not already; unlike `into_data`, a shared
/// contiguous tensor is read in place). The extensions' Flex kernels take float32 only.
pub(super) fn contiguous_f32(t: FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "float32 tensors expected");
    t.to_contiguous()
}

/// Calls `tap(segment, pixel)` for every tap of a 3×3, padding-1 kernel over an `h × w` image
/// that lands inside it: `segment = (oy·wo + ox)·9 + dy·3 + dx` indexes the patch rows of
/// [`im2col`] in units of one channel vector, `pixel = iy·w + ix` the input pixel.
fn for_each_tap(h: usize, w: usize, stride: usize, mut tap: impl FnMut(usize, usize)) {
    let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
    for oy in 0..ho {
        for dy in 0..3 {
            let Some(iy) = (oy * stride + dy).checked_sub(1).filter(|&iy| iy < h) else {
                continue;
            };
            for ox in 0..wo {
                for dx in 0..3 {
                    let Some(ix) = (ox * stride + dx).checked_sub(1).filter(|&ix| ix < w) else {
                        continue;
                    };
                    tap((oy * wo + ox) * 9 + dy * 3 + dx, iy * w + ix);
                }
            }
        }
    }
}

/// im2col of NHWC `x` for a 3×3 kernel with padding 1; returns the patches and their row count.
fn im2col(x: &[f32], [n, h, w, c]: [usize; 4], stride: usize) -> (Vec<f32>, usize) {
    let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
    let row = 9 * c;
    let mut cols = vec![0.0f32; n * ho * wo * row];
    if cols.is_empty() {
        return (cols, n * ho * wo);
    }
    cols.par_chunks_mut(ho * wo * row)
        .zip(x.par_chunks(h * w * c))
        .for_each(|(out, image)| {
            if c == 1 {
                // One value per tap (the stem): a move, not a call to `memcpy`.
                for_each_tap(h, w, stride, |segment, pixel| out[segment] = image[pixel]);
            } else {
                for_each_tap(h, w, stride, |segment, pixel| {
                    out[segment * c..][..c].copy_from_slice(&image[pixel * c..][..c]);
                });
            }
        });
    (cols, n * ho * wo)
}

/// The adjoint of [`im2col`]: patches `[n·ho·wo, 9·c]` summed into an NHWC image `[n, h, w, c]`.
fn col2im(cols: &[f32], [n, h, w, c]: [usize; 4], stride: usize) -> Vec<f32> {
    let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
    let row = 9 * c;
    let mut image = vec![0.0f32; n * h * w * c];
    if image.is_empty() {
        return image;
    }
    image
        .par_chunks_mut(h * w * c)
        .zip(cols.par_chunks(ho * wo * row))
        .for_each(|(out, patches)| {
            for_each_tap(h, w, stride, |segment, pixel| {
                let src = &patches[segment * c..][..c];
                for (d, s) in out[pixel * c..][..c].iter_mut().zip(src) {
                    *d += s;
                }
            });
        });
    image
}

/// `conv`'s forward pass (a 3×3, padding-1, bias-free `Conv2d`) on a channel-last map
/// `[n, h, w, c_in]` → `[n, ho, wo, c_out]`: the im2col product on the CPU backend in 32-bit
/// floats, burn's own convolution (between permutes) elsewhere and for any other convolution.
pub fn conv3x3(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    // The CPU device, with or without autodiff (device equality ignores autodiff).
    let on_cpu = device == Device::flex();
    let [_, _, kh, kw] = conv.weight.dims();
    let stride = conv.stride[0];
    if !on_cpu
        || x.dtype() != DType::F32
        || conv.bias.is_some()
        || [kh, kw] != [3, 3]
        || conv.stride[1] != stride
        || conv.dilation != [1, 1]
        || conv.groups != 1
        || conv.padding != PaddingConfig2d::Explicit(1, 1, 1, 1)
    {
        return channel_last(conv, x);
    }
    Tensor::from_dispatch(<Dispatch as Conv3x3Backend>::conv3x3(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        stride,
    ))
}

/// `conv` (any burn convolution) applied to a channel-last map.
pub fn channel_last(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    conv.forward(x.permute([0, 3, 1, 2])).permute([0, 2, 3, 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    fn conv(c_in: usize, c_out: usize, stride: usize, device: &Device) -> Conv2d {
        Conv2dConfig::new([c_in, c_out], [3, 3])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(device)
    }

    /// [`conv3x3`] on a channel-first map, for comparison with burn's `Conv2d`.
    fn ours(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        conv3x3(conv, x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
    }

    fn max_relative(a: Tensor<4>, b: Tensor<4>) -> f32 {
        let scale = a.clone().abs().max().into_scalar::<f32>().max(1e-12);
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    #[test]
    fn forward_matches_burns_convolution() {
        let device = Device::flex();
        // Even and odd sizes, both strides, one and several channels.
        for (c_in, c_out, h, w, stride) in [
            (1, 4, 8, 6, 2),
            (3, 5, 7, 5, 2),
            (4, 4, 3, 4, 1),
            (2, 3, 5, 7, 1),
        ] {
            let conv = conv(c_in, c_out, stride, &device);
            let x = Tensor::<4>::random([3, c_in, h, w], Distribution::Normal(0.0, 1.0), &device);
            let ours = ours(&conv, x.clone());
            let theirs = conv.forward(x);
            assert_eq!(
                ours.dims(),
                theirs.dims(),
                "{c_in}→{c_out} {h}×{w} /{stride}"
            );
            let err = max_relative(theirs, ours);
            assert!(
                err < 1e-5,
                "{c_in}→{c_out} {h}×{w} /{stride}: relative error {err:e}"
            );
        }
    }

    #[test]
    fn gradients_match_burns_convolution() {
        let device = Device::flex().autodiff();
        // The last two: an encoder block's channel counts and map sizes.
        for (c_in, c_out, h, w, stride) in [
            (3, 5, 8, 6, 2),
            (2, 4, 7, 5, 2),
            (4, 4, 3, 4, 1),
            (16, 32, 24, 32, 2),
            (128, 128, 3, 4, 1),
        ] {
            let conv = conv(c_in, c_out, stride, &device);
            let x = Tensor::<4>::random([2, c_in, h, w], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            // A loss whose gradient differs per output element.
            let target = Tensor::<4>::random(
                [2, c_out, h.div_ceil(stride), w.div_ceil(stride)],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let grads = |y: Tensor<4>| {
                let g = (y * target.clone()).powf_scalar(2.0).sum().backward();
                (
                    conv.weight.grad(&g).expect("weight gradient"),
                    x.grad(&g).expect("input gradient"),
                )
            };
            let (w_ours, x_ours) = grads(ours(&conv, x.clone()));
            let (w_theirs, x_theirs) = grads(conv.forward(x.clone()));
            let case = format!("{c_in}→{c_out} {h}×{w} /{stride}");
            let err = max_relative(w_theirs, w_ours);
            assert!(err < 1e-5, "{case}: weight gradient relative error {err:e}");
            let err = max_relative(x_theirs, x_ours);
            assert!(err < 1e-5, "{case}: input gradient relative error {err:e}");
        }
    }

    #[test]
    fn other_convolutions_run_burns_between_permutes() {
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 4, 6, 5], Distribution::Normal(0.0, 1.0), &device);
        let depthwise = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(&device);
        let pointwise = Conv2dConfig::new([4, 3], [1, 1]).init(&device);
        for (name, conv) in [("depthwise", depthwise), ("pointwise", pointwise)] {
            let err = max_relative(conv.forward(x.clone()), ours(&conv, x.clone()));
            assert!(err < 1e-6, "{name}: relative error {err:e}");
        }
    }

    #[test]
    fn a_frozen_weight_still_passes_the_input_gradient() {
        let device = Device::flex().autodiff();
        let conv = conv(2, 3, 2, &device);
        let x = Tensor::<4>::random([2, 2, 6, 4], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let weight = conv.weight.val().detach();
        let frozen = Conv2d {
            weight: burn::module::Param::from_tensor(weight),
            ..conv.clone()
        };
        let g = ours(&frozen, x.clone()).sum().backward();
        let reference = conv.forward(x.clone()).sum().backward();
        let err = max_relative(
            x.grad(&reference).expect("reference"),
            x.grad(&g).expect("input gradient"),
        );
        assert!(err < 1e-5, "relative error {err:e}");
    }
}
