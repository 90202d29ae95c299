//! [`FastVggish`]: the CPU inference path of [`Vggish`], about 3× fewer multiply-adds than the
//! direct convolutions.
//!
//! - conv1 (1 input channel): im2col and one matmul.
//! - conv2 … conv4_2: Winograd F(4×4, 3×3) (Lavin & Gray 2016). Per 6×6 input tile the input
//!   transform `Bᵀ d B`, 36 batched matmuls `U[ξ] · V[ξ]` with `U = G g Gᵀ` precomputed, and the
//!   output transform `Aᵀ M A`; both transforms are matmuls with constant matrices.
//! - Bias, ReLU and the 2×2 max pool are fused into the scatter after the output transform: a
//!   4×4 output tile holds exactly four pool windows.
//!
//! Activations are kept channel-major, `[C, n, H, W]`, between layers.

use burn::tensor::{Device, Tensor, TensorData};
use insrec_features::{EXAMPLE_FRAMES, EXAMPLE_LEN, MEL_BANDS};

use super::network::{FLAT_DIM, Vggish};
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;

/// `Bᵀ` of F(4×4, 3×3).
const BT: [[f64; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// `G` of F(4×4, 3×3).
const G: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// `Aᵀ` of F(4×4, 3×3).
const AT: [[f64; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// Input tile side (output tile 4 + kernel 3 − 1).
const TILE: usize = 6;
/// Output tile side.
const OUT: usize = 4;

/// VGGish inference on the CPU, built from a loaded [`Vggish`]; same outputs within float error.
#[derive(Debug, Clone)]
pub struct FastVggish {
    /// conv1 weights `[64, 9]` (tap `kh * 3 + kw`) and bias.
    conv1: (Tensor<2>, Vec<f32>),
    layers: Vec<WinogradConv>,
    /// Input transform `Bᵀ ⊗ Bᵀ` `[36, 36]` and output transform `Aᵀ ⊗ Aᵀ` `[16, 36]`.
    input_transform: Tensor<2>,
    output_transform: Tensor<2>,
    fc: [Linear; 3],
    final_relu: bool,
    device: Device,
}

/// One 3×3 convolution in the Winograd domain.
#[derive(Debug, Clone)]
struct WinogradConv {
    /// `G g Gᵀ` for every output/input channel pair: `[36, c_out, c_in]`.
    weights: Tensor<3>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    pool: bool,
}

/// An activation `[C, n, H, W]` row-major.
struct Activation {
    data: Vec<f32>,
    channels: usize,
    n: usize,
    height: usize,
    width: usize,
}

impl FastVggish {
    /// Precomputes the transformed weights of `model` on `device`.
    pub fn new(model: &Vggish, device: &Device) -> Self {
        let (w1, b1) = conv_weights(&model.conv1);
        let conv1 = (
            Tensor::from_data(TensorData::new(w1, [64, 9]), device),
            b1,
        );
        let layers = [
            (&model.conv2, true),
            (&model.conv3_1, false),
            (&model.conv3_2, true),
            (&model.conv4_1, false),
            (&model.conv4_2, true),
        ]
        .into_iter()
        .map(|(conv, pool)| WinogradConv::new(conv, pool, device))
        .collect();
        let kron = |rows: &[[f64; 6]]| -> Vec<f32> {
            let mut out = Vec::with_capacity(rows.len() * rows.len() * 36);
            for r in rows {
                for s in rows {
                    for a in 0..TILE {
                        for b in 0..TILE {
                            out.push((r[a] * s[b]) as f32);
                        }
                    }
                }
            }
            out
        };
        Self {
            conv1,
            layers,
            input_transform: Tensor::from_data(TensorData::new(kron(&BT), [36, 36]), device),
            output_transform: Tensor::from_data(TensorData::new(kron(&AT), [16, 36]), device),
            fc: [
                model.fc1_1.clone(),
                model.fc1_2.clone(),
                model.fc2.clone(),
            ],
            final_relu: model.final_relu,
            device: device.clone(),
        }
    }

    /// Embeddings as [`Vggish::forward`]: `examples` `[n, 96, 64]` → `[n, 128]`.
    pub fn forward(&self, examples: &[f32]) -> Vec<f32> {
        let n = examples.len() / EXAMPLE_LEN;
        let flat = TensorData::new(self.features(examples), [n, FLAT_DIM]);
        let flat = Tensor::<2>::from_data(flat, &self.device);
        let [fc1_1, fc1_2, fc2] = &self.fc;
        let x = relu(fc1_1.forward(flat));
        let x = relu(fc1_2.forward(x));
        let x = fc2.forward(x);
        into_vec(if self.final_relu { relu(x) } else { x })
    }

    /// The `fc1_1` input as [`Vggish::features`]: `[n, 12288]`, TensorFlow's NHWC order.
    pub fn features(&self, examples: &[f32]) -> Vec<f32> {
        let n = examples.len() / EXAMPLE_LEN;
        let mut x = self.conv1(examples, n);
        for layer in &self.layers {
            x = layer.forward(&x, &self.input_transform, &self.output_transform, &self.device);
        }
        // [512, n, 6, 4] → [n, 6, 4, 512]
        let (c, hw) = (x.channels, x.height * x.width);
        let mut flat = vec![0.0; n * FLAT_DIM];
        for ch in 0..c {
            for b in 0..n {
                let src = &x.data[(ch * n + b) * hw..(ch * n + b + 1) * hw];
                for (pos, &v) in src.iter().enumerate() {
                    flat[b * FLAT_DIM + pos * c + ch] = v;
                }
            }
        }
        flat
    }

    /// conv1 + bias + ReLU + pool: `[n, 96, 64]` → `[64, n, 48, 32]`.
    fn conv1(&self, examples: &[f32], n: usize) -> Activation {
        let (h, w) = (EXAMPLE_FRAMES, MEL_BANDS);
        let p = n * h * w;
        let mut columns = vec![0.0f32; 9 * p];
        for (tap, column) in columns.chunks_exact_mut(p).enumerate() {
            let (dy, dx) = (tap / 3, tap % 3);
            for b in 0..n {
                for y in 0..h {
                    let Some(sy) = (y + dy).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let src = &examples[(b * h + sy) * w..(b * h + sy + 1) * w];
                    let dst = &mut column[(b * h + y) * w..(b * h + y + 1) * w];
                    for x in 0..w {
                        if let Some(sx) = (x + dx).checked_sub(1).filter(|&sx| sx < w) {
                            dst[x] = src[sx];
                        }
                    }
                }
            }
        }
        let columns = Tensor::from_data(TensorData::new(columns, [9, p]), &self.device);
        let out = into_vec(self.conv1.0.clone().matmul(columns)); // [64, p]
        let bias = &self.conv1.1;
        let (ph, pw) = (h / 2, w / 2);
        let mut pooled = vec![0.0f32; 64 * n * ph * pw];
        for (k, plane) in out.chunks_exact(p).enumerate() {
            for b in 0..n {
                for y in 0..ph {
                    let r0 = &plane[(b * h + 2 * y) * w..][..w];
                    let r1 = &plane[(b * h + 2 * y + 1) * w..][..w];
                    let dst = &mut pooled[((k * n + b) * ph + y) * pw..][..pw];
                    for (x, d) in dst.iter_mut().enumerate() {
                        let m = r0[2 * x].max(r0[2 * x + 1]).max(r1[2 * x]).max(r1[2 * x + 1]);
                        *d = (m + bias[k]).max(0.0);
                    }
                }
            }
        }
        Activation {
            data: pooled,
            channels: 64,
            n,
            height: ph,
            width: pw,
        }
    }
}

impl WinogradConv {
    fn new(conv: &Conv2d, pool: bool, device: &Device) -> Self {
        let [c_out, c_in, _, _] = conv.weight.val().dims();
        let (g, bias) = conv_weights(conv);
        // U[ξ][k][c] = (G g Gᵀ)[ξ] in f64
        let mut u = vec![0.0f32; 36 * c_out * c_in];
        for k in 0..c_out {
            for c in 0..c_in {
                let kernel = &g[(k * c_in + c) * 9..][..9];
                let mut gg = [[0.0f64; 3]; TILE]; // G g
                for (r, row) in G.iter().enumerate() {
                    for col in 0..3 {
                        gg[r][col] = (0..3).map(|i| row[i] * f64::from(kernel[i * 3 + col])).sum();
                    }
                }
                for r in 0..TILE {
                    for (s, row) in G.iter().enumerate() {
                        let v: f64 = (0..3).map(|i| gg[r][i] * row[i]).sum();
                        u[((r * TILE + s) * c_out + k) * c_in + c] = v as f32;
                    }
                }
            }
        }
        Self {
            weights: Tensor::from_data(TensorData::new(u, [36, c_out, c_in]), device),
            bias,
            c_in,
            c_out,
            pool,
        }
    }

    /// `[c_in, n, H, W]` → `[c_out, n, H, W]`, or `[c_out, n, H/2, W/2]` when pooling.
    fn forward(
        &self,
        x: &Activation,
        input_transform: &Tensor<2>,
        output_transform: &Tensor<2>,
        device: &Device,
    ) -> Activation {
        let (n, h, w) = (x.n, x.height, x.width);
        let (th, tw) = (h / OUT, w / OUT);
        let p = n * th * tw;
        let d = gather_tiles(x, th, tw);
        let d = Tensor::<2>::from_data(TensorData::new(d, [36, self.c_in * p]), device);
        let v = input_transform.clone().matmul(d).reshape([36, self.c_in, p]);
        let m = self.weights.clone().matmul(v).reshape([36, self.c_out * p]);
        let y = into_vec(output_transform.clone().matmul(m)); // [16, c_out * p]
        self.scatter(&y, n, th, tw)
    }

    /// Bias, ReLU and (optionally) 2×2 max pool of the output tiles `[16, c_out, p]`.
    fn scatter(&self, y: &[f32], n: usize, th: usize, tw: usize) -> Activation {
        let p = n * th * tw;
        let plane = self.c_out * p;
        let scale = if self.pool { 2 } else { 1 };
        let (height, width) = (th * OUT / scale, tw * OUT / scale);
        let mut out = vec![0.0f32; self.c_out * n * height * width];
        for k in 0..self.c_out {
            let bias = self.bias[k];
            for b in 0..n {
                for i in 0..th {
                    for j in 0..tw {
                        let t = (b * th + i) * tw + j;
                        let at = |u: usize, v: usize| y[(u * OUT + v) * plane + k * p + t];
                        let base = (k * n + b) * height * width;
                        if self.pool {
                            for pu in 0..2 {
                                for pv in 0..2 {
                                    let m = at(2 * pu, 2 * pv)
                                        .max(at(2 * pu, 2 * pv + 1))
                                        .max(at(2 * pu + 1, 2 * pv))
                                        .max(at(2 * pu + 1, 2 * pv + 1));
                                    out[base + (2 * i + pu) * width + 2 * j + pv] =
                                        (m + bias).max(0.0);
                                }
                            }
                        } else {
                            for u in 0..OUT {
                                for v in 0..OUT {
                                    out[base + (OUT * i + u) * width + OUT * j + v] =
                                        (at(u, v) + bias).max(0.0);
                                }
                            }
                        }
                    }
                }
            }
        }
        Activation {
            data: out,
            channels: self.c_out,
            n,
            height,
            width,
        }
    }
}

/// The 6×6 input tiles (stride 4, one zero row/column of padding): `[36, C, n·th·tw]`.
fn gather_tiles(x: &Activation, th: usize, tw: usize) -> Vec<f32> {
    let (c, n, h, w) = (x.channels, x.n, x.height, x.width);
    let p = n * th * tw;
    let mut d = vec![0.0f32; 36 * c * p];
    for ch in 0..c {
        for b in 0..n {
            let image = &x.data[(ch * n + b) * h * w..][..h * w];
            for i in 0..th {
                for a in 0..TILE {
                    let Some(sy) = (OUT * i + a).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let row = &image[sy * w..][..w];
                    for bb in 0..TILE {
                        let dst = &mut d[((a * TILE + bb) * c + ch) * p + (b * th + i) * tw..][..tw];
                        for (j, v) in dst.iter_mut().enumerate() {
                            if let Some(sx) = (OUT * j + bb).checked_sub(1).filter(|&sx| sx < w) {
                                *v = row[sx];
                            }
                        }
                    }
                }
            }
        }
    }
    d
}

/// A convolution's weights `[out, in, 3, 3]` and bias as f32 vectors.
fn conv_weights(conv: &Conv2d) -> (Vec<f32>, Vec<f32>) {
    let weight = into_vec(conv.weight.val());
    let [c_out, ..] = conv.weight.val().dims();
    let bias = conv
        .bias
        .as_ref()
        .map_or_else(|| vec![0.0; c_out], |b| into_vec(b.val()));
    (weight, bias)
}

fn into_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    // `convert` makes the element type f32, so `into_vec` cannot fail
    t.into_data().convert::<f32>().try_into_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1-D check of the matrices: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g.
    #[test]
    fn transforms_compute_a_correlation() {
        let d = [0.3, -1.2, 2.5, 0.7, -0.4, 1.9];
        let g = [0.5, -0.25, 1.5];
        let gd: Vec<f64> = G.iter().map(|r| (0..3).map(|i| r[i] * g[i]).sum()).collect();
        let bd: Vec<f64> = BT.iter().map(|r| (0..6).map(|i| r[i] * d[i]).sum()).collect();
        for (u, row) in AT.iter().enumerate() {
            let y: f64 = (0..6).map(|i| row[i] * gd[i] * bd[i]).sum();
            let direct: f64 = (0..3).map(|k| g[k] * d[u + k]).sum();
            assert!((y - direct).abs() < 1e-12, "output {u}: {y} vs {direct}");
        }
    }
}
