//! Pyraformer (models.md §2.20): token-conv + sinusoid embedding, a coarse-scale construction
//! module (bottleneck convolution, BatchNorm, ELU) that appends `L / window` coarse nodes,
//! pyramidal-mask attention layers without residual around the attention, then each step's
//! features gathered with its parent's into the time-ramp head.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm,
    LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::elu;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_heads, check_positive};
use crate::error::Result;
use crate::layers::attention::{AttentionLayer, full_attention};
use crate::layers::embed::{TokenEmbedding, positional_embedding};
use crate::layers::head::{projection, time_ramp_head};
use crate::layers::ops::gelu;
use crate::model::{SequenceInput, ZooModel};

/// Neighbourhood of the intra-scale attention (`inner_size`, a constructor default upstream):
/// nodes `|i − j| ≤ inner_size / 2` of the same scale see each other.
const INNER_SIZE: usize = 5;
/// Rows of the never-used `FixedEmbedding` table (hard-coded upstream).
const FIXED_EMBEDDING_ROWS: usize = 1024;
/// Sizes of the never-used `nn.Embedding` tables of `TemporalEmbedding` (freq `'h'`): hour,
/// weekday, day, month.
const TEMPORAL_TABLES: [usize; 4] = [24, 7, 32, 13];
/// Dropout of `DataEmbedding`: upstream passes `configs.dropout` positionally as `embed_type`,
/// so the embedding keeps its default `dropout = 0.1`.
const EMBEDDING_DROPOUT: f64 = 0.1;
/// `eps` of the feed-forward LayerNorm (`PositionwiseFeedForward`).
const FFN_NORM_EPS: f64 = 1e-6;

/// Hyper-parameters of [`Pyraformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyraformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub e_layers: usize,
    pub d_ff: usize,
    /// Down-sampling window of the coarse scale (`window_size = [patch_len]`).
    pub patch_len: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for PyraformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            patch_len: 2,
            dropout: 0.05,
        }
    }
}

impl ZooConfig for PyraformerConfig {
    type Model = Pyraformer;
    const NAME: &'static str = "Pyraformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            ("patch_len", self.patch_len),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if self.d_model < 4 {
            return Err(Self::invalid(format!(
                "d_model {} leaves no bottleneck width (d_model / 4)",
                self.d_model
            )));
        }
        if self.patch_len > FRAMES_PER_CLIP {
            return Err(Self::invalid(format!(
                "patch_len {} exceeds the clip length {FRAMES_PER_CLIP} (no coarse node)",
                self.patch_len
            )));
        }
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Pyraformer> {
        self.validate()?;
        let d_model = self.d_model;
        let d_bottleneck = d_model / 4;
        let [hour, weekday, day, month] =
            TEMPORAL_TABLES.map(|rows| EmbeddingConfig::new(rows, d_model).init(device));
        let fixed = positional_embedding(FIXED_EMBEDDING_ROWS, d_model, device);
        Ok(Pyraformer {
            encoder: PyraformerEncoder {
                layers: (0..self.e_layers)
                    .map(|_| PyramidLayer {
                        slf_attn: AttentionLayer::new(d_model, self.n_heads, self.dropout, device),
                        pos_ffn: PositionwiseFeedForward {
                            w_1: LinearConfig::new(d_model, self.d_ff).init(device),
                            w_2: LinearConfig::new(self.d_ff, d_model).init(device),
                            layer_norm: LayerNormConfig::new(d_model)
                                .with_epsilon(FFN_NORM_EPS)
                                .init(device),
                            dropout: DropoutConfig::new(self.dropout).init(),
                        },
                    })
                    .collect(),
                enc_embedding: PyraformerEmbedding {
                    value_embedding: TokenEmbedding::new(EMBEDDING_DIM, d_model, device),
                    temporal_embedding: TemporalEmbedding {
                        hour_embed: hour,
                        weekday_embed: weekday,
                        day_embed: day,
                        month_embed: month,
                        general_embedding: FixedEmbedding {
                            emb: Embedding {
                                weight: Param::from_tensor(fixed).set_require_grad(false),
                            },
                        },
                    },
                    dropout: DropoutConfig::new(EMBEDDING_DROPOUT).init(),
                },
                conv_layers: BottleneckConstruct {
                    conv_layers: vec![ConvLayer {
                        down_conv: Conv1dConfig::new(d_bottleneck, d_bottleneck, self.patch_len)
                            .with_stride(self.patch_len)
                            .init(device),
                        norm: BatchNormConfig::new(d_bottleneck).init(device),
                    }],
                    up: LinearConfig::new(d_bottleneck, d_model).init(device),
                    down: LinearConfig::new(d_model, d_bottleneck).init(device),
                    norm: LayerNormConfig::new(d_model).init(device),
                },
                window: self.patch_len,
            },
            projection: projection(FRAMES_PER_CLIP, 2 * d_model, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// `TemporalEmbedding` (built because `embed_type` receives the dropout value): never applied
/// in classification (the mark is `None`); kept so checkpoints load strictly.
#[derive(Module, Debug)]
pub struct TemporalEmbedding {
    pub hour_embed: Embedding,
    pub weekday_embed: Embedding,
    pub day_embed: Embedding,
    pub month_embed: Embedding,
    pub general_embedding: FixedEmbedding,
}

/// `FixedEmbedding`: a frozen 1024-row sinusoid table (`emb.weight`), never applied.
#[derive(Module, Debug)]
pub struct FixedEmbedding {
    pub emb: Embedding,
}

/// `DataEmbedding` of Pyraformer: token conv + sinusoid positions (the temporal part is unused).
#[derive(Module, Debug)]
pub struct PyraformerEmbedding {
    pub value_embedding: TokenEmbedding,
    pub temporal_embedding: TemporalEmbedding,
    pub dropout: Dropout,
}

impl PyraformerEmbedding {
    /// `dropout(tok(x) + pe[:length])`.
    ///
    /// # Shapes
    /// - x: `[batch, length, 128]` → `[batch, length, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, length, _] = x.dims();
        let tokens = self.value_embedding.forward(x);
        let d_model = tokens.dims()[2];
        let pe = positional_embedding(length, d_model, &tokens.device()).unsqueeze::<3>();
        self.dropout.forward(tokens + pe)
    }
}

/// `ConvLayer`: `ELU(BatchNorm(Conv1d(k = window, stride = window)))` over time.
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// `downConv` in PyTorch.
    pub down_conv: Conv1d,
    pub norm: BatchNorm,
}

impl ConvLayer {
    /// The strided convolution is one matrix product: windows of `w` steps become rows of
    /// `w · C` features (a trailing partial window is dropped, as the convolution does).
    ///
    /// # Shapes
    /// - x: `[batch, length, C]` (time-major) → `[batch, length / window, C]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, channels] = x.dims();
        let [out, _, window] = self.down_conv.weight.dims();
        let nodes = length / window;
        let windows = x
            .narrow(1, 0, nodes * window)
            .reshape([batch * nodes, window * channels]); // row (k, c)
        let weight = self
            .down_conv
            .weight
            .val()
            .permute([2, 1, 0])
            .reshape([window * channels, out]); // [(k, c), out]
        let mut y = windows.matmul(weight);
        if let Some(bias) = &self.down_conv.bias {
            y = y + bias.val().unsqueeze::<2>();
        }
        let y = y.reshape([batch, nodes, out]).swap_dims(1, 2); // [batch, C, nodes]
        elu(self.norm.forward(y), 1.0).swap_dims(1, 2)
    }
}

/// `Bottleneck_Construct` (CSCM): `down` to `d_model / 4`, the conv layers, `up` again, the
/// coarse nodes appended after the fine ones, then `norm`.
#[derive(Module, Debug)]
pub struct BottleneckConstruct {
    pub conv_layers: Vec<ConvLayer>,
    pub up: Linear,
    pub down: Linear,
    pub norm: LayerNorm,
}

impl BottleneckConstruct {
    /// # Shapes
    /// - x: `[batch, L, d_model]` → `[batch, L + coarse nodes, d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut scale = self.down.forward(x.clone());
        let mut coarse = Vec::with_capacity(self.conv_layers.len());
        for layer in &self.conv_layers {
            scale = layer.forward(scale);
            coarse.push(scale.clone());
        }
        let coarse = self.up.forward(Tensor::cat(coarse, 1));
        self.norm.forward(Tensor::cat(vec![x, coarse], 1))
    }
}

/// `PositionwiseFeedForward` (post-norm): `layer_norm(x + w_2(gelu(w_1 x)))`.
#[derive(Module, Debug)]
pub struct PositionwiseFeedForward {
    pub w_1: Linear,
    pub w_2: Linear,
    pub layer_norm: LayerNorm,
    pub dropout: Dropout,
}

/// Pyraformer `EncoderLayer`: masked self-attention (no residual), then the feed-forward block.
#[derive(Module, Debug)]
pub struct PyramidLayer {
    pub slf_attn: AttentionLayer,
    pub pos_ffn: PositionwiseFeedForward,
}

impl PyramidLayer {
    /// # Shapes
    /// - x: `[batch, nodes, d_model]`, mask: `[batch, n_heads, nodes, nodes]` (true = masked)
    /// - output: `[batch, nodes, d_model]`
    fn forward(&self, x: Tensor<3>, mask: Tensor<4, Bool>) -> Tensor<3> {
        let attn = &self.slf_attn;
        let a = attn.forward_with(x.clone(), x.clone(), x, |q, k, v| {
            full_attention(q, k, v, Some(mask), &attn.dropout)
        });
        let ffn = &self.pos_ffn;
        let y = ffn.dropout.forward(gelu(ffn.w_1.forward(a.clone())));
        let y = ffn.dropout.forward(ffn.w_2.forward(y));
        ffn.layer_norm.forward(y + a)
    }
}

/// Pyraformer `Encoder`.
#[derive(Module, Debug)]
pub struct PyraformerEncoder {
    pub layers: Vec<PyramidLayer>,
    pub enc_embedding: PyraformerEmbedding,
    pub conv_layers: BottleneckConstruct,
    /// Down-sampling window of the coarse scale.
    pub window: usize,
}

impl PyraformerEncoder {
    /// Embedding → CSCM → masked layers → for each fine step, its node and its ancestors'
    /// features side by side.
    ///
    /// # Shapes
    /// - x: `[batch, L, 128]` → `[batch, L, scales · d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, _] = x.dims();
        let device = x.device();
        let sizes = scale_sizes(length, self.window);
        let nodes: usize = sizes.iter().sum();
        let heads = self.layers.first().map_or(1, |l| l.slf_attn.n_heads);
        let mask = Tensor::<2, Bool>::from_data(
            TensorData::new(pyramid_mask(&sizes, self.window), [nodes, nodes]),
            &device,
        )
        .bool_not()
        .reshape([1, 1, nodes, nodes])
        .expand([batch, heads, nodes, nodes]);

        let embedded = self.enc_embedding.forward(x);
        let mut seq = self.conv_layers.forward(embedded); // [batch, nodes, d_model]
        for layer in &self.layers {
            seq = layer.forward(seq, mask.clone());
        }
        let points = refer_points(&sizes, self.window);
        let d_model = seq.dims()[2];
        let count = points.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(points, [count]), &device);
        seq.select(1, index)
            .reshape([batch, length, sizes.len() * d_model])
    }
}

/// Nodes per scale: `[L, ⌊L / window⌋]`.
fn scale_sizes(length: usize, window: usize) -> Vec<usize> {
    vec![length, length / window]
}

/// `get_mask` (PAM-Naive): `true` where node `i` may attend to node `j` — neighbours within
/// `INNER_SIZE / 2` on the same scale, and each coarse node with the fine nodes it summarises
/// (both directions; the last coarse node also takes a trailing partial window).
fn pyramid_mask(sizes: &[usize], window: usize) -> Vec<bool> {
    let nodes: usize = sizes.iter().sum();
    let mut allowed = vec![false; nodes * nodes];
    let inner = INNER_SIZE / 2;
    let mut start = 0;
    for &size in sizes {
        for i in start..start + size {
            let left = i.saturating_sub(inner).max(start);
            let right = (i + inner + 1).min(start + size);
            for j in left..right {
                allowed[i * nodes + j] = true;
            }
        }
        start += size;
    }
    let mut start = sizes[0];
    for pair in sizes.windows(2) {
        let (below, size) = (pair[0], pair[1]);
        for i in start..start + size {
            let left = start - below + (i - start) * window;
            let right = if i == start + size - 1 {
                start
            } else {
                start - below + (i - start + 1) * window
            };
            for j in left..right {
                allowed[i * nodes + j] = true;
                allowed[j * nodes + i] = true;
            }
        }
        start += size;
    }
    allowed
}

/// `refer_points`: for each fine step, the node index on every scale (itself, its parent, …),
/// flattened step-major.
fn refer_points(sizes: &[usize], window: usize) -> Vec<i64> {
    let mut points = Vec::with_capacity(sizes[0] * sizes.len());
    for i in 0..sizes[0] {
        points.push(i as i64);
        let mut former = i;
        let mut start = 0;
        for pair in sizes.windows(2) {
            let (below, size) = (pair[0], pair[1]);
            let inner = former - start;
            start += below;
            former = start + (inner / window).min(size - 1);
            points.push(former as i64);
        }
    }
    points
}

/// PyOmniTS `Pyraformer` in classification mode.
#[derive(Module, Debug)]
pub struct Pyraformer {
    pub encoder: PyraformerEncoder,
    pub projection: Linear,
    pub dropout: Dropout,
}

impl ZooModel for Pyraformer {
    /// Encoder → `[h_t, h_parent(t)]` per step → `gelu · t/10` → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let encoded = self.encoder.forward(input.x.clone()); // [batch, 10, 2·d_model]
        time_ramp_head(&self.projection, &self.dropout, encoded)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[(r"\.downConv\.", ".down_conv.")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_matches_the_reference_table() {
        // models.md §2.20, rows 0..14 for L = 10, window 2.
        let expected = [
            "111000000010000",
            "111100000010000",
            "111110000001000",
            "011111000001000",
            "001111100000100",
            "000111110000100",
            "000011111000010",
            "000001111100010",
            "000000111100001",
            "000000011100001",
            "110000000011100",
            "001100000011110",
            "000011000011111",
            "000000110001111",
            "000000001100111",
        ];
        let sizes = scale_sizes(10, 2);
        let mask = pyramid_mask(&sizes, 2);
        for (i, row) in expected.iter().enumerate() {
            let actual: String = mask[i * 15..(i + 1) * 15]
                .iter()
                .map(|&a| if a { '1' } else { '0' })
                .collect();
            assert_eq!(&actual, row, "row {i}");
        }
    }

    #[test]
    fn each_step_gathers_its_parent() {
        let points = refer_points(&scale_sizes(10, 2), 2);
        let parents: Vec<i64> = points.chunks(2).map(|p| p[1]).collect();
        assert_eq!(parents, [10, 10, 11, 11, 12, 12, 13, 13, 14, 14]);
        // An odd window leaves a partial window that joins the last coarse node.
        let points = refer_points(&scale_sizes(10, 3), 3);
        let parents: Vec<i64> = points.chunks(2).map(|p| p[1]).collect();
        assert_eq!(parents, [10, 10, 10, 11, 11, 11, 12, 12, 12, 12]);
    }
}
