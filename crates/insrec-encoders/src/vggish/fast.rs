//! [`FastVggish`]: the CPU inference path of [`Vggish`], with about a third of the direct
//! convolutions' multiply-adds.
//!
//! - conv1 (one input channel): a direct convolution along the mel rows.
//! - conv2 … conv4_2: Winograd F(4×4, 3×3) (Lavin & Gray 2016): per 6×6 input tile the input
//!   transform `Bᵀ d B`, 36 batched matmuls with `U = G g Gᵀ` precomputed, and the output
//!   transform `Aᵀ M A`. The transforms run over all tiles of a channel at once.
//! - Bias, ReLU and the 2×2 max pool are fused into the output transform: a 4×4 output tile holds
//!   exactly four pool windows.
//! - The fully connected layers multiply `W · Xᵀ`, the orientation in which the matmul kernel is
//!   fastest for a few dozen examples.
//!
//! Activations are kept channel-major, `[C, n, H, W]`, between layers.

use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_features::{EXAMPLE_FRAMES, EXAMPLE_LEN, MEL_BANDS};

use super::error::{Result, VggishError};
use super::network::{EMBEDDING_DIM, FLAT_DIM, Vggish};

/// `Bᵀ` of F(4×4, 3×3).
const BT: [[f32; 6]; 6] = [
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
const AT: [[f32; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// Input tile side (output tile 4 + kernel 3 − 1).
const TILE: usize = 6;
/// Output tile side.
const OUT: usize = 4;
/// Positions of a tile in the Winograd domain.
const POSITIONS: usize = TILE * TILE;

/// VGGish inference on the CPU, built from a loaded [`Vggish`]; same outputs within float error.
#[derive(Debug, Clone)]
pub struct FastVggish {
    /// conv1 kernels (tap `kh * 3 + kw`) and biases.
    conv1: (Vec<[f32; 9]>, Vec<f32>),
    layers: Vec<WinogradConv>,
    /// `fc1_1`, `fc1_2`, `fc2` as (weight `[out, in]`, bias `[out, 1]`).
    fc: Vec<(Tensor<2>, Tensor<2>)>,
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
    pub fn new(model: &Vggish, device: &Device) -> Result<Self> {
        let (w1, b1) = conv_weights(&model.conv1)?;
        let kernels = w1
            .chunks_exact(9)
            .map(|k| std::array::from_fn(|i| k[i]))
            .collect();
        let layers = [
            (&model.conv2, true),
            (&model.conv3_1, false),
            (&model.conv3_2, true),
            (&model.conv4_1, false),
            (&model.conv4_2, true),
        ]
        .into_iter()
        .map(|(conv, pool)| WinogradConv::new(conv, pool, device))
        .collect::<Result<_>>()?;
        let fc = [&model.fc1_1, &model.fc1_2, &model.fc2]
            .into_iter()
            .map(|layer| linear_weights(layer, device))
            .collect::<Result<_>>()?;
        Ok(Self {
            conv1: (kernels, b1),
            layers,
            fc,
            final_relu: model.final_relu,
            device: device.clone(),
        })
    }

    /// Embeddings as [`Vggish::forward`]: `examples` `[n, 96, 64]` → `[n, 128]`.
    pub fn forward(&self, examples: &[f32]) -> Result<Vec<f32>> {
        let n = examples.len() / EXAMPLE_LEN;
        let mut x = Tensor::<2>::from_data(
            TensorData::new(self.features_transposed(examples)?, [FLAT_DIM, n]),
            &self.device,
        );
        let last = self.fc.len() - 1;
        for (i, (weight, bias)) in self.fc.iter().enumerate() {
            x = weight.clone().matmul(x) + bias.clone();
            if i < last || self.final_relu {
                x = relu(x);
            }
        }
        let out = into_vec(x)?; // [128, n]
        Ok(transpose(&out, EMBEDDING_DIM, n))
    }

    /// The `fc1_1` input as [`Vggish::features`]: `[n, 12288]`, TensorFlow's NHWC order.
    pub fn features(&self, examples: &[f32]) -> Result<Vec<f32>> {
        let n = examples.len() / EXAMPLE_LEN;
        Ok(transpose(&self.features_transposed(examples)?, FLAT_DIM, n))
    }

    /// `[12288, n]`: row `(h * 4 + w) * 512 + c` holds that feature of every example.
    fn features_transposed(&self, examples: &[f32]) -> Result<Vec<f32>> {
        if !examples.len().is_multiple_of(EXAMPLE_LEN) {
            return Err(VggishError::BadInput {
                len: examples.len(),
            });
        }
        let n = examples.len() / EXAMPLE_LEN;
        let mut x = self.conv1(examples, n);
        for layer in &self.layers {
            x = layer.forward(&x, &self.device)?;
        }
        // [512, n, 6, 4] → [(6 · 4) · 512, n]
        let (c, hw) = (x.channels, x.height * x.width);
        let mut flat = vec![0.0; n * FLAT_DIM];
        for ch in 0..c {
            for b in 0..n {
                let src = &x.data[(ch * n + b) * hw..][..hw];
                for (pos, &v) in src.iter().enumerate() {
                    flat[(pos * c + ch) * n + b] = v;
                }
            }
        }
        Ok(flat)
    }

    /// conv1 + bias + ReLU + pool: `[n, 96, 64]` → `[64, n, 48, 32]`.
    fn conv1(&self, examples: &[f32], n: usize) -> Activation {
        let (h, w) = (EXAMPLE_FRAMES, MEL_BANDS);
        let (ph, pw) = (h / 2, w / 2);
        let (kernels, biases) = &self.conv1;
        let mut out = vec![0.0f32; kernels.len() * n * ph * pw];
        let mut rows = [vec![0.0f32; w], vec![0.0f32; w]];
        for (k, (kernel, &bias)) in kernels.iter().zip(biases).enumerate() {
            for b in 0..n {
                let image = &examples[b * h * w..][..h * w];
                for y in 0..ph {
                    for (dy, row) in rows.iter_mut().enumerate() {
                        conv_row(image, w, 2 * y + dy, kernel, row);
                    }
                    let dst = &mut out[((k * n + b) * ph + y) * pw..][..pw];
                    for (x, d) in dst.iter_mut().enumerate() {
                        let m = rows[0][2 * x]
                            .max(rows[0][2 * x + 1])
                            .max(rows[1][2 * x])
                            .max(rows[1][2 * x + 1]);
                        *d = (m + bias).max(0.0);
                    }
                }
            }
        }
        Activation {
            data: out,
            channels: kernels.len(),
            n,
            height: ph,
            width: pw,
        }
    }
}

/// Row `y` of a one-channel 3×3 convolution with zero padding, without bias.
fn conv_row(image: &[f32], width: usize, y: usize, kernel: &[f32; 9], out: &mut [f32]) {
    out.fill(0.0);
    let height = image.len() / width;
    for dy in 0..3 {
        let Some(sy) = (y + dy).checked_sub(1).filter(|&sy| sy < height) else {
            continue;
        };
        let src = &image[sy * width..][..width];
        let [left, centre, right] = [kernel[dy * 3], kernel[dy * 3 + 1], kernel[dy * 3 + 2]];
        for (o, s) in out[1..].iter_mut().zip(&src[..width - 1]) {
            *o += left * s;
        }
        for (o, s) in out.iter_mut().zip(src) {
            *o += centre * s;
        }
        for (o, s) in out[..width - 1].iter_mut().zip(&src[1..]) {
            *o += right * s;
        }
    }
}

impl WinogradConv {
    fn new(conv: &Conv2d, pool: bool, device: &Device) -> Result<Self> {
        let [c_out, c_in, _, _] = conv.weight.val().dims();
        let (g, bias) = conv_weights(conv)?;
        // U[ξ][k][c] = (G g Gᵀ)[ξ], computed in f64
        let mut u = vec![0.0f32; POSITIONS * c_out * c_in];
        for k in 0..c_out {
            for c in 0..c_in {
                let kernel = &g[(k * c_in + c) * 9..][..9];
                let mut gg = [[0.0f64; 3]; TILE]; // G g
                for (r, row) in G.iter().enumerate() {
                    for col in 0..3 {
                        gg[r][col] = (0..3)
                            .map(|i| row[i] * f64::from(kernel[i * 3 + col]))
                            .sum();
                    }
                }
                for (r, ggr) in gg.iter().enumerate() {
                    for (s, row) in G.iter().enumerate() {
                        let v: f64 = (0..3).map(|i| ggr[i] * row[i]).sum();
                        u[((r * TILE + s) * c_out + k) * c_in + c] = v as f32;
                    }
                }
            }
        }
        Ok(Self {
            weights: Tensor::from_data(TensorData::new(u, [POSITIONS, c_out, c_in]), device),
            bias,
            c_in,
            c_out,
            pool,
        })
    }

    /// `[c_in, n, H, W]` → `[c_out, n, H, W]`, or `[c_out, n, H/2, W/2]` when pooling.
    fn forward(&self, x: &Activation, device: &Device) -> Result<Activation> {
        let (th, tw) = (x.height / OUT, x.width / OUT);
        let tiles = x.n * th * tw;
        let v = input_transform(x, th, tw);
        let v = Tensor::<3>::from_data(TensorData::new(v, [POSITIONS, self.c_in, tiles]), device);
        let m = self.weights.clone().matmul(v).into_data(); // [36, c_out, tiles]
        let m = m.as_slice::<f32>().map_err(backend_error)?;
        Ok(self.output_transform(m, x.n, th, tw))
    }

    /// `Aᵀ M A` per tile, then bias, ReLU and (optionally) the 2×2 max pool.
    fn output_transform(&self, m: &[f32], n: usize, th: usize, tw: usize) -> Activation {
        let tiles = n * th * tw;
        let scale = if self.pool { 2 } else { 1 };
        let (height, width) = (th * OUT / scale, tw * OUT / scale);
        let mut out = vec![0.0f32; self.c_out * n * height * width];
        let mut s = vec![0.0f32; OUT * TILE * tiles];
        let mut y = vec![0.0f32; OUT * OUT * tiles];
        for k in 0..self.c_out {
            let plane = |ab: usize| &m[(ab * self.c_out + k) * tiles..][..tiles];
            // s[u][b] = Σ_a Aᵀ[u][a] m[a][b]
            for (u, coefs) in AT.iter().enumerate() {
                for b in 0..TILE {
                    let inputs: [&[f32]; TILE] = std::array::from_fn(|a| plane(a * TILE + b));
                    combine(&mut s[(u * TILE + b) * tiles..][..tiles], coefs, &inputs);
                }
            }
            // y[u][v] = Σ_b Aᵀ[v][b] s[u][b]
            for u in 0..OUT {
                for (v, coefs) in AT.iter().enumerate() {
                    let inputs: [&[f32]; TILE] =
                        std::array::from_fn(|b| &s[(u * TILE + b) * tiles..][..tiles]);
                    combine(&mut y[(u * OUT + v) * tiles..][..tiles], coefs, &inputs);
                }
            }
            let bias = self.bias[k];
            let at = |u: usize, v: usize, t: usize| y[(u * OUT + v) * tiles + t];
            for b in 0..n {
                let image = &mut out[(k * n + b) * height * width..][..height * width];
                for i in 0..th {
                    for j in 0..tw {
                        let t = (b * th + i) * tw + j;
                        if self.pool {
                            for pu in 0..2 {
                                for pv in 0..2 {
                                    let (u, v) = (2 * pu, 2 * pv);
                                    let max = at(u, v, t)
                                        .max(at(u, v + 1, t))
                                        .max(at(u + 1, v, t))
                                        .max(at(u + 1, v + 1, t));
                                    image[(2 * i + pu) * width + 2 * j + pv] =
                                        (max + bias).max(0.0);
                                }
                            }
                        } else {
                            for u in 0..OUT {
                                for v in 0..OUT {
                                    image[(OUT * i + u) * width + OUT * j + v] =
                                        (at(u, v, t) + bias).max(0.0);
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

/// Gathers the 6×6 tiles (stride 4, one zero row/column of padding) of every channel and applies
/// `Bᵀ d B`: `[36, C, n·th·tw]`.
fn input_transform(x: &Activation, th: usize, tw: usize) -> Vec<f32> {
    let (c, n, h, w) = (x.channels, x.n, x.height, x.width);
    let tiles = n * th * tw;
    let mut v = vec![0.0f32; POSITIONS * c * tiles];
    let mut d = vec![0.0f32; POSITIONS * tiles];
    let mut t = vec![0.0f32; POSITIONS * tiles];
    for ch in 0..c {
        // d[a][b][tile]
        d.fill(0.0);
        for bn in 0..n {
            let image = &x.data[(ch * n + bn) * h * w..][..h * w];
            for i in 0..th {
                for a in 0..TILE {
                    let Some(sy) = (OUT * i + a).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let row = &image[sy * w..][..w];
                    for b in 0..TILE {
                        let dst = &mut d[(a * TILE + b) * tiles + (bn * th + i) * tw..][..tw];
                        for (j, value) in dst.iter_mut().enumerate() {
                            if let Some(sx) = (OUT * j + b).checked_sub(1).filter(|&sx| sx < w) {
                                *value = row[sx];
                            }
                        }
                    }
                }
            }
        }
        // t[r][b] = Σ_a Bᵀ[r][a] d[a][b]
        for (r, coefs) in BT.iter().enumerate() {
            for b in 0..TILE {
                let inputs: [&[f32]; TILE] =
                    std::array::from_fn(|a| &d[(a * TILE + b) * tiles..][..tiles]);
                combine(&mut t[(r * TILE + b) * tiles..][..tiles], coefs, &inputs);
            }
        }
        // v[r][s] = Σ_b Bᵀ[s][b] t[r][b]
        for r in 0..TILE {
            for (s, coefs) in BT.iter().enumerate() {
                let inputs: [&[f32]; TILE] =
                    std::array::from_fn(|b| &t[(r * TILE + b) * tiles..][..tiles]);
                let dst = &mut v[((r * TILE + s) * c + ch) * tiles..][..tiles];
                combine(dst, coefs, &inputs);
            }
        }
    }
    v
}

/// `out = Σ_i coefs[i] · inputs[i]`, skipping zero coefficients (vectorised over the slices).
fn combine(out: &mut [f32], coefs: &[f32; TILE], inputs: &[&[f32]; TILE]) {
    out.fill(0.0);
    for (&c, input) in coefs.iter().zip(inputs) {
        if c == 1.0 {
            for (o, x) in out.iter_mut().zip(*input) {
                *o += x;
            }
        } else if c == -1.0 {
            for (o, x) in out.iter_mut().zip(*input) {
                *o -= x;
            }
        } else if c != 0.0 {
            for (o, x) in out.iter_mut().zip(*input) {
                *o += c * x;
            }
        }
    }
}

/// Row-major `[rows, cols]` → `[cols, rows]`, in 32×32 blocks so that large matrices (fc1's
/// weights) stay in cache.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const BLOCK: usize = 32;
    let mut out = vec![0.0; values.len()];
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                let row = &values[r * cols..][c0..(c0 + BLOCK).min(cols)];
                for (c, &v) in (c0..).zip(row) {
                    out[c * rows + r] = v;
                }
            }
        }
    }
    out
}

/// A convolution's weights `[out, in, 3, 3]` and bias as f32 vectors.
fn conv_weights(conv: &Conv2d) -> Result<(Vec<f32>, Vec<f32>)> {
    let weight = into_vec(conv.weight.val())?;
    let [c_out, ..] = conv.weight.val().dims();
    let bias = match &conv.bias {
        Some(b) => into_vec(b.val())?,
        None => vec![0.0; c_out],
    };
    Ok((weight, bias))
}

/// A linear layer as weight `[out, in]` (contiguous) and bias `[out, 1]`.
fn linear_weights(layer: &Linear, device: &Device) -> Result<(Tensor<2>, Tensor<2>)> {
    let [d_in, d_out] = layer.weight.val().dims();
    let weight = transpose(&into_vec(layer.weight.val())?, d_in, d_out);
    let bias = match &layer.bias {
        Some(b) => into_vec(b.val())?,
        None => vec![0.0; d_out],
    };
    Ok((
        Tensor::from_data(TensorData::new(weight, [d_out, d_in]), device),
        Tensor::from_data(TensorData::new(bias, [d_out, 1]), device),
    ))
}

fn into_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(backend_error)
}

fn backend_error(e: burn::tensor::DataError) -> VggishError {
    VggishError::Backend(format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1-D check of the matrices: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g.
    #[test]
    fn transforms_compute_a_correlation() {
        let d = [0.3, -1.2, 2.5, 0.7, -0.4, 1.9];
        let g = [0.5, -0.25, 1.5];
        let gd: Vec<f64> = G
            .iter()
            .map(|r| (0..3).map(|i| r[i] * g[i]).sum())
            .collect();
        let bd: Vec<f64> = BT
            .iter()
            .map(|r| (0..6).map(|i| f64::from(r[i]) * d[i]).sum())
            .collect();
        for (u, row) in AT.iter().enumerate() {
            let y: f64 = (0..6).map(|i| f64::from(row[i]) * gd[i] * bd[i]).sum();
            let direct: f64 = (0..3).map(|k| g[k] * d[u + k]).sum();
            assert!((y - direct).abs() < 1e-12, "output {u}: {y} vs {direct}");
        }
    }

    #[test]
    fn combine_skips_zeros_and_handles_signs() {
        let inputs: [&[f32]; 6] = [&[1.0], &[2.0], &[3.0], &[4.0], &[5.0], &[6.0]];
        let mut out = [9.0];
        combine(&mut out, &[4.0, 0.0, -5.0, 1.0, -1.0, 0.0], &inputs);
        assert_eq!(out, [4.0 - 15.0 + 4.0 - 5.0]);
    }
}
