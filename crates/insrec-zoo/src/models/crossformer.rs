//! Crossformer (models.md §2.16): each channel series cut into segments (one segment of 12 for
//! a 10-step clip) and embedded, then scale blocks of two-stage attention — across segments per
//! channel, then across channels through a few router tokens — with segment merging between
//! blocks, and a linear head on the last block.

use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_dropout, check_heads, check_positive};
use crate::error::Result;
use crate::layers::attention::AttentionLayer;
use crate::layers::embed::positional_embedding;
use crate::layers::ops::{gelu, pad_replicate};
use crate::model::{SequenceInput, ZooModel};
use crate::models::patchtst::PatchEmbedding;

/// Segments merged by each `SegMerging` (`win_size`, hard-coded upstream).
const WIN_SIZE: usize = 2;

/// Hyper-parameters of [`Crossformer`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossformerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    /// Number of scale blocks (and `e_layers + 1` unused decoder layers).
    pub e_layers: usize,
    pub d_ff: usize,
    /// Router tokens per segment in the cross-dimension stage.
    pub factor: usize,
    /// Segment length (`seg_len`).
    pub patch_len: usize,
    /// Dropout probability (training only).
    pub dropout: f64,
}

impl Default for CrossformerConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            n_heads: 8,
            e_layers: 2,
            d_ff: 2048,
            factor: 1,
            patch_len: 12,
            dropout: 0.05,
        }
    }
}

impl CrossformerConfig {
    /// Segments after padding the clip to a multiple of `patch_len` (`in_seg_num`).
    fn in_segments(&self) -> usize {
        FRAMES_PER_CLIP.div_ceil(self.patch_len)
    }

    /// Segments entering block `l` (each block after the first merges pairs).
    fn block_segments(&self, l: usize) -> usize {
        (0..l).fold(self.in_segments(), |s, _| s.div_ceil(WIN_SIZE))
    }

    /// A two-stage attention layer over `segments` segments.
    fn tsa(&self, segments: usize, device: &Device) -> TwoStageAttentionLayer {
        let attention = || AttentionLayer::new(self.d_model, self.n_heads, self.dropout, device);
        let norm = || LayerNormConfig::new(self.d_model).init(device);
        TwoStageAttentionLayer {
            time_attention: attention(),
            dim_sender: attention(),
            dim_receiver: attention(),
            router: Initializer::Normal {
                mean: 0.0,
                std: 1.0,
            }
            .init([segments, self.factor, self.d_model], device),
            norm1: norm(),
            norm2: norm(),
            norm3: norm(),
            norm4: norm(),
            mlp1: GeluMlp::new(self.d_model, self.d_ff, device),
            mlp2: GeluMlp::new(self.d_model, self.d_ff, device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl ZooConfig for CrossformerConfig {
    type Model = Crossformer;
    const NAME: &'static str = "Crossformer";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("e_layers", self.e_layers),
            ("d_ff", self.d_ff),
            ("factor", self.factor),
            ("patch_len", self.patch_len),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        check_dropout::<Self>(self.dropout)
    }

    fn init(&self, device: &Device) -> Result<Crossformer> {
        self.validate()?;
        let d_model = self.d_model;
        let out_segments = self.block_segments(self.e_layers - 1);
        let normal = Initializer::Normal {
            mean: 0.0,
            std: 1.0,
        };
        Ok(Crossformer {
            enc_value_embedding: PatchEmbedding {
                value_embedding: LinearConfig::new(self.patch_len, d_model)
                    .with_bias(false)
                    .init(device),
            },
            enc_pos_embedding: normal.init([1, EMBEDDING_DIM, self.in_segments(), d_model], device),
            pre_norm: LayerNormConfig::new(d_model).init(device),
            encoder: CrossformerEncoder {
                encode_blocks: (0..self.e_layers)
                    .map(|l| ScaleBlock {
                        merge_layer: (l > 0).then(|| SegMerging {
                            linear_trans: LinearConfig::new(WIN_SIZE * d_model, d_model)
                                .init(device),
                            norm: LayerNormConfig::new(WIN_SIZE * d_model).init(device),
                        }),
                        encode_layers: vec![self.tsa(self.block_segments(l), device)],
                    })
                    .collect(),
            },
            dec_pos_embedding: normal.init([1, EMBEDDING_DIM, 0, d_model], device),
            decoder: CrossformerDecoder {
                decode_layers: (0..=self.e_layers)
                    .map(|_| DecoderLayer {
                        self_attention: self.tsa(0, device),
                        cross_attention: AttentionLayer::new(
                            d_model,
                            self.n_heads,
                            self.dropout,
                            device,
                        ),
                        norm1: LayerNormConfig::new(d_model).init(device),
                        norm2: LayerNormConfig::new(d_model).init(device),
                        mlp1: GeluMlp::new(d_model, d_model, device),
                        linear_pred: LinearConfig::new(d_model, self.patch_len).init(device),
                    })
                    .collect(),
            },
            projection: LinearConfig::new(EMBEDDING_DIM * d_model * out_segments, NUM_CLASSES)
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            patch_len: self.patch_len,
        })
    }
}

/// `nn.Sequential(Linear, GELU, Linear)` (`MLP1`, `MLP2`; PyTorch indices 0 and 2 are renamed
/// `input` and `output` on import).
#[derive(Module, Debug)]
pub struct GeluMlp {
    pub input: Linear,
    pub output: Linear,
}

impl GeluMlp {
    fn new(d_model: usize, hidden: usize, device: &Device) -> Self {
        Self {
            input: LinearConfig::new(d_model, hidden).init(device),
            output: LinearConfig::new(hidden, d_model).init(device),
        }
    }

    /// # Shapes
    /// - x: `[..., d_model]` → `[..., d_model]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.output.forward(gelu(self.input.forward(x)))
    }
}

/// `TwoStageAttentionLayer` (TSA): attention across segments per channel, then across channels
/// through `factor` learned router tokens per segment.
#[derive(Module, Debug)]
pub struct TwoStageAttentionLayer {
    pub time_attention: AttentionLayer,
    pub dim_sender: AttentionLayer,
    pub dim_receiver: AttentionLayer,
    /// `[segments, factor, d_model]`.
    pub router: Param<Tensor<3>>,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub norm3: LayerNorm,
    pub norm4: LayerNorm,
    pub mlp1: GeluMlp,
    pub mlp2: GeluMlp,
    pub dropout: Dropout,
}

impl TwoStageAttentionLayer {
    /// # Shapes
    /// - x: `[batch, channels, segments, d_model]` → the same
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, channels, segments, d_model] = x.dims();
        // Cross-time stage: one sequence of segments per (b, channel).
        let time_in = x.reshape([batch * channels, segments, d_model]);
        let time_enc = attend(&self.time_attention, time_in.clone(), time_in.clone());
        let dim_in = self.norm1.forward(time_in + self.dropout.forward(time_enc));
        let mlp = self.mlp1.forward(dim_in.clone());
        let dim_in = self.norm2.forward(dim_in + self.dropout.forward(mlp));

        // Cross-dimension stage: one set of channel tokens per (b, segment).
        let dim_send = dim_in
            .reshape([batch, channels, segments, d_model])
            .swap_dims(1, 2)
            .reshape([batch * segments, channels, d_model]);
        let factor = self.router.dims()[1];
        let router = self
            .router
            .val()
            .unsqueeze::<4>()
            .expand([batch, segments, factor, d_model])
            .reshape([batch * segments, factor, d_model]);
        let buffer = attend(&self.dim_sender, router, dim_send.clone());
        let receive = attend(&self.dim_receiver, dim_send.clone(), buffer);
        let dim_enc = self.norm3.forward(dim_send + self.dropout.forward(receive));
        let mlp = self.mlp2.forward(dim_enc.clone());
        let dim_enc = self.norm4.forward(dim_enc + self.dropout.forward(mlp));
        dim_enc
            .reshape([batch, segments, channels, d_model])
            .swap_dims(1, 2)
    }
}

/// `AttentionLayer` with full attention, keys = values. With a single key (one segment in the
/// time stage, one router token in the receiver) the softmax weight is exactly 1, so the query
/// and key projections are skipped: each query gets `out_projection(dropout(1) · value)`, built
/// from per-head partial products so that the projection runs once per key, not per query.
///
/// # Shapes
/// - queries: `[batch, L, d_model]`, keys: `[batch, S, d_model]` → `[batch, L, d_model]`
fn attend(layer: &AttentionLayer, queries: Tensor<3>, keys: Tensor<3>) -> Tensor<3> {
    let [batch, length, _] = queries.dims();
    let [_, key_count, d_model] = keys.dims();
    if key_count != 1 {
        return layer.forward(queries, keys.clone(), keys, None);
    }
    let heads = layer.n_heads;
    let e = d_model / heads;
    let value = layer
        .value_projection
        .forward(keys)
        .reshape([batch, heads, e])
        .swap_dims(0, 1); // [heads, batch, E]
    let out_weight = layer
        .out_projection
        .weight
        .val()
        .reshape([heads, e, d_model]);
    let partial = value.matmul(out_weight).swap_dims(0, 1); // [batch, heads, d_model]
    let weights = layer
        .dropout
        .forward(Tensor::ones([batch, length, heads], &partial.device()));
    let out = weights.matmul(partial); // [batch, L, d_model]
    match &layer.out_projection.bias {
        Some(bias) => out + bias.val().unsqueeze::<3>(),
        None => out,
    }
}

/// `SegMerging`: pad the segments to a multiple of 2 by repeating the last ones, put each pair
/// side by side on the feature axis, `norm`, `linear_trans` back to `d_model`.
#[derive(Module, Debug)]
pub struct SegMerging {
    pub linear_trans: Linear,
    pub norm: LayerNorm,
}

impl SegMerging {
    /// # Shapes
    /// - x: `[batch, channels, segments, d_model]` → `[batch, channels, ⌈segments / 2⌉, d_model]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, channels, segments, d_model] = x.dims();
        let pad = (WIN_SIZE - segments % WIN_SIZE) % WIN_SIZE;
        let x = if pad > 0 {
            let tail = x.clone().narrow(2, segments - pad, pad);
            Tensor::cat(vec![x, tail], 2)
        } else {
            x
        };
        let merged = (segments + pad) / WIN_SIZE;
        // Row-major: segment j·2 + i lands at features i·d_model.., as `cat(x[i::2])` does.
        let x = x.reshape([batch, channels, merged, WIN_SIZE * d_model]);
        self.linear_trans.forward(self.norm.forward(x))
    }
}

/// `scale_block`: an optional [`SegMerging`], then the TSA layers (depth 1).
#[derive(Module, Debug)]
pub struct ScaleBlock {
    pub merge_layer: Option<SegMerging>,
    pub encode_layers: Vec<TwoStageAttentionLayer>,
}

/// Crossformer `Encoder`.
#[derive(Module, Debug)]
pub struct CrossformerEncoder {
    pub encode_blocks: Vec<ScaleBlock>,
}

/// Crossformer `DecoderLayer`: built for forecasting with zero output segments; unused in
/// classification, kept so checkpoints load strictly.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// Its router has zero segments.
    pub self_attention: TwoStageAttentionLayer,
    pub cross_attention: AttentionLayer,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub mlp1: GeluMlp,
    pub linear_pred: Linear,
}

/// Crossformer `Decoder` (unused in classification).
#[derive(Module, Debug)]
pub struct CrossformerDecoder {
    pub decode_layers: Vec<DecoderLayer>,
}

/// PyOmniTS `Crossformer` in classification mode.
#[derive(Module, Debug)]
pub struct Crossformer {
    pub enc_value_embedding: PatchEmbedding,
    /// `[1, 128, in_segments, d_model]`.
    pub enc_pos_embedding: Param<Tensor<4>>,
    pub pre_norm: LayerNorm,
    pub encoder: CrossformerEncoder,
    /// `[1, 128, 0, d_model]` (no output segments; unused).
    pub dec_pos_embedding: Param<Tensor<4>>,
    pub decoder: CrossformerDecoder,
    pub projection: Linear,
    pub dropout: Dropout,
    /// Segment length.
    pub patch_len: usize,
}

impl ZooModel for Crossformer {
    /// Segment embedding + positions → `pre_norm` → scale blocks → flatten
    /// `n·(D·S) + j·S + s` of the last block → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let segments = length.div_ceil(self.patch_len);
        let series = input.x.clone().swap_dims(1, 2); // [batch, channels, 10]
        let padded = pad_replicate(series, 2, 0, segments * self.patch_len - length);
        let patches = padded.reshape([batch * channels, segments, self.patch_len]);
        let tokens = self.enc_value_embedding.value_embedding.forward(patches);
        let d_model = tokens.dims()[2];
        let pe = positional_embedding(segments, d_model, &tokens.device()).unsqueeze::<3>();
        // PatchEmbedding's dropout has p = 0 upstream.
        let x = (tokens + pe).reshape([batch, channels, segments, d_model])
            + self.enc_pos_embedding.val();
        let mut x = self.pre_norm.forward(x);
        for block in &self.encoder.encode_blocks {
            if let Some(merge) = &block.merge_layer {
                x = merge.forward(x);
            }
            for layer in &block.encode_layers {
                x = layer.forward(x);
            }
        }
        let [_, _, out_segments, _] = x.dims();
        let flat = x
            .swap_dims(2, 3)
            .reshape([batch, channels * d_model * out_segments]);
        self.projection.forward(self.dropout.forward(flat))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"\.MLP(\d)\.0\.", ".mlp$1.input."),
            (r"\.MLP(\d)\.2\.", ".mlp$1.output."),
        ]
    }
}
