//! Hi_Patch (models.md §2.27): one node per (variable, step), intra-patch graph attention with
//! three edge types, attention pooling into patch nodes, inter-patch graph levels, MLP head.
//!
//! The graphs are evaluated densely: every (target, source) pair of a patch is scored with the
//! projections of its edge type and pairs that are not edges are masked out.

use burn::module::{Module, Param};
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::layers::ops::gelu;
use crate::layers::time_attention::learned_time_embedding;
use crate::model::{SequenceInput, ZooModel};

/// Hidden width of the classification head (hard-coded upstream).
const HEAD_HIDDEN: usize = 200;
/// Pooling score of unobserved steps (PyTorch `attention[mask == 0] = -1e10`).
const UNOBSERVED_SCORE: f32 = -1e10;
/// Added to the per-target sum of the graph softmax (upstream `softmax`).
const SOFTMAX_EPSILON: f64 = 1e-16;
/// Edge types, the second axis of the graph-layer weights.
const EDGE_TYPES: usize = 3;

/// Hyper-parameters of [`HiPatch`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HiPatchConfig {
    pub d_model: usize,
    pub n_heads: usize,
    /// Graph layers (`gcs`), each applied at every level.
    pub n_layers: usize,
    pub patch_len: usize,
    pub patch_stride: usize,
}

impl Default for HiPatchConfig {
    fn default() -> Self {
        Self {
            d_model: 64,
            n_heads: 1,
            n_layers: 1,
            patch_len: 5,
            patch_stride: 5,
        }
    }
}

impl HiPatchConfig {
    /// Patches: `ceil((L − patch_len) / stride) + 1` (2 in production).
    fn n_patch(&self) -> usize {
        (FRAMES_PER_CLIP - self.patch_len).div_ceil(self.patch_stride) + 1
    }
}

/// Graph levels (`layer_of_patches`): 1 for one patch, otherwise one more than for half as many
/// patches (rounded up to even).
fn levels(n_patch: usize) -> usize {
    match n_patch {
        0 | 1 => 1,
        n if n % 2 == 0 => 1 + levels(n / 2),
        n => levels(n + 1),
    }
}

impl ZooConfig for HiPatchConfig {
    type Model = HiPatch;
    const NAME: &'static str = "Hi_Patch";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[
            ("d_model", self.d_model),
            ("patch_len", self.patch_len),
            ("patch_stride", self.patch_stride),
        ])?;
        check_heads::<Self>(self.d_model, self.n_heads)?;
        if self.d_model < 2 {
            return Err(Self::invalid("d_model must be at least 2"));
        }
        if self.patch_len > FRAMES_PER_CLIP {
            return Err(Self::invalid(format!(
                "patch_len {} exceeds the clip length {FRAMES_PER_CLIP}",
                self.patch_len
            )));
        }
        let n_patch = self.n_patch();
        if !FRAMES_PER_CLIP.is_multiple_of(n_patch) {
            return Err(Self::invalid(format!(
                "the clip length {FRAMES_PER_CLIP} must be divisible by the number of patches \
                 {n_patch} (from patch_len {} and patch_stride {})",
                self.patch_len, self.patch_stride
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<HiPatch> {
        self.validate()?;
        let d = self.d_model;
        let n_patch = self.n_patch();
        let levels = levels(n_patch);
        let xavier = || xavier_uniform([d, d], device);
        Ok(HiPatch {
            te_scale: LinearConfig::new(1, 1).init(device),
            te_periodic: LinearConfig::new(1, d - 1).init(device),
            obs_enc: LinearConfig::new(1, d).init(device),
            nodevec: EmbeddingConfig::new(EMBEDDING_DIM, d).init(device),
            gcs: (0..self.n_layers)
                .map(|_| GraphLayer::new(self.n_heads, d, levels, device))
                .collect(),
            w_q: xavier(),
            w_k: xavier(),
            w_v: xavier(),
            decoder_classification: relu_mlp(
                &[EMBEDDING_DIM * d, HEAD_HIDDEN, NUM_CLASSES],
                device,
            ),
            n_patch,
            levels,
        })
    }
}

/// PyTorch's `xavier_uniform_`: fans are `shape[1]` and `shape[0]` times the trailing sizes.
fn xavier_uniform<const D: usize>(shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    let receptive: usize = shape[2..].iter().product();
    Initializer::XavierUniform { gain: 1.0 }.init_with(
        shape,
        Some(shape[1] * receptive),
        Some(shape[0] * receptive),
        device,
    )
}

/// `Intra_Inter_Patch_Graph_Layer`: per head, query/key/value weights `[levels, 3, D, D/H]` and
/// biases `[levels, 3, D/H]` (level, edge type), and a `LayerNorm(D)`.
#[derive(Module, Debug)]
pub struct GraphLayer {
    pub w_k_list: Vec<Param<Tensor<4>>>,
    pub bias_k_list: Vec<Param<Tensor<3>>>,
    pub w_q_list: Vec<Param<Tensor<4>>>,
    pub bias_q_list: Vec<Param<Tensor<3>>>,
    pub w_v_list: Vec<Param<Tensor<4>>>,
    pub bias_v_list: Vec<Param<Tensor<3>>>,
    pub layer_norm: LayerNorm,
}

/// A dense graph: which (target, source) pairs are edges and the one-hot edge type of each pair.
struct Graph {
    /// `[batch, groups, nodes (target), nodes (source)]`, true = edge.
    edges: Tensor<4, Bool>,
    /// `[batch or 1, groups or 1, 3, nodes, nodes]`, 1.0 where the pair has that edge type.
    types: Tensor<5>,
}

impl GraphLayer {
    fn new(n_heads: usize, d_model: usize, levels: usize, device: &Device) -> Self {
        let dk = d_model / n_heads;
        let weights = || {
            (0..n_heads)
                .map(|_| xavier_uniform([levels, EDGE_TYPES, d_model, dk], device))
                .collect()
        };
        let biases = || {
            (0..n_heads)
                .map(|_| {
                    Initializer::Uniform { min: 0.0, max: 1.0 }
                        .init([levels, EDGE_TYPES, dk], device)
                })
                .collect()
        };
        Self {
            w_k_list: weights(),
            bias_k_list: biases(),
            w_q_list: weights(),
            bias_q_list: biases(),
            w_v_list: weights(),
            bias_v_list: biases(),
            layer_norm: LayerNormConfig::new(d_model).init(device),
        }
    }

    /// `x + gelu(Σ_sources a · v)` with `s = q_target · k_source / √(D/H)` per edge type and
    /// `a = e^{s − max} / (Σ_sources e^{s − max} + 1e−16)`, `max` over every edge of the batch
    /// (per head); nodes without incoming edges keep their state.
    ///
    /// # Shapes
    /// - x: `[batch, groups, nodes, D]` → `[batch, groups, nodes, D]`
    fn forward(&self, x: Tensor<4>, graph: &Graph, level: usize) -> Tensor<4> {
        let [batch, groups, nodes, d_model] = x.dims();
        let normed = self.layer_norm.forward(x.clone()).unsqueeze_dim::<5>(2); // [B, G, 1, V, D]
        let not_edge = graph.edges.clone().bool_not();
        let heads: Vec<Tensor<4>> = (0..self.w_q_list.len())
            .map(|h| {
                let project = |w: &Param<Tensor<4>>, b: &Param<Tensor<3>>| {
                    let dk = w.dims()[3];
                    let w = w
                        .val()
                        .narrow(0, level, 1)
                        .reshape([1, 1, EDGE_TYPES, d_model, dk]);
                    let b = b
                        .val()
                        .narrow(0, level, 1)
                        .reshape([1, 1, EDGE_TYPES, 1, dk]);
                    normed
                        .clone()
                        .expand([batch, groups, EDGE_TYPES, nodes, d_model])
                        .matmul(w.expand([batch, groups, EDGE_TYPES, d_model, dk]))
                        + b // [B, G, 3, V, dk]
                };
                let q = project(&self.w_q_list[h], &self.bias_q_list[h]);
                let k = project(&self.w_k_list[h], &self.bias_k_list[h]);
                let v = project(&self.w_v_list[h], &self.bias_v_list[h]);
                let dk = q.dims()[4];
                let scores = (q.matmul(k.swap_dims(3, 4)).div_scalar((dk as f64).sqrt())
                    * graph.types.clone())
                .sum_dim(2)
                .reshape([batch, groups, nodes, nodes]); // [B, G, target, source]
                let max = scores
                    .clone()
                    .mask_fill(not_edge.clone(), f32::MIN)
                    .max()
                    .detach()
                    .reshape([1, 1, 1, 1]);
                let weights = (scores - max)
                    .mask_fill(not_edge.clone(), f32::NEG_INFINITY)
                    .exp();
                let weights = weights.clone() / (weights.sum_dim(3) + SOFTMAX_EPSILON); // [B, G, V, V]
                (weights.unsqueeze_dim::<5>(2) * graph.types.clone())
                    .matmul(v)
                    .sum_dim(2)
                    .reshape([batch, groups, nodes, dk])
            })
            .collect();
        x + gelu(Tensor::cat(heads, 3))
    }
}

/// Node states with their observation mask and times, `[batch, N, patches, steps, ·]`.
struct Nodes {
    x: Tensor<5>,
    mask: Tensor<5>,
    time: Tensor<5>,
}

/// PyOmniTS `Hi_Patch` in classification mode.
#[derive(Module, Debug)]
pub struct HiPatch {
    pub te_scale: Linear,
    pub te_periodic: Linear,
    pub obs_enc: Linear,
    pub nodevec: Embedding,
    pub gcs: Vec<GraphLayer>,
    pub w_q: Param<Tensor<2>>,
    pub w_k: Param<Tensor<2>>,
    pub w_v: Param<Tensor<2>>,
    pub decoder_classification: ReluMlp,
    pub n_patch: usize,
    pub levels: usize,
}

impl HiPatch {
    /// `LearnableTE`: `[te_scale(t), sin(te_periodic(t))]`.
    ///
    /// # Shapes
    /// - t: `[..., 1]` → `[..., D]`
    fn time_embedding<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        learned_time_embedding(&self.te_scale, &self.te_periodic, t)
    }

    /// Applies every graph layer at `level`.
    fn propagate(&self, x: Tensor<4>, graph: &Graph, level: usize) -> Tensor<4> {
        self.gcs
            .iter()
            .fold(x, |x, layer| layer.forward(x, graph, level))
    }

    /// Adds a virtual last patch (a copy of the last one, unobserved, time 0) when there is an
    /// odd number of patches above one.
    fn pad_to_even(nodes: Nodes) -> Nodes {
        let patches = nodes.x.dims()[2];
        if patches <= 1 || patches.is_multiple_of(2) {
            return nodes;
        }
        let last = nodes.x.clone().narrow(2, patches - 1, 1);
        let zeros = nodes.mask.clone().narrow(2, patches - 1, 1).zeros_like();
        Nodes {
            x: Tensor::cat(vec![nodes.x, last], 2),
            mask: Tensor::cat(vec![nodes.mask, zeros.clone()], 2),
            time: Tensor::cat(vec![nodes.time, zeros], 2),
        }
    }

    /// Pools the steps of each patch: query `TE(t̄) w_q` with `t̄ = Σ_l t_l / max(#observed, 1)`,
    /// keys `TE(t_l) w_k`, values `x w_v`, softmax over the steps (unobserved ones −1e10).
    /// Returns the pooled states `[batch, N, patches, D]`, their mask and times `[.., 1]`.
    fn pool(&self, nodes: Nodes) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let [batch, variables, patches, _, d_model] = nodes.x.dims();
        let observed = nodes.mask.clone().sum_dim(3); // [B, N, P, 1, 1]
        let avg_time = nodes.time.clone().sum_dim(3)
            / observed
                .clone()
                .mask_fill(observed.clone().equal_elem(0.0), 1.0);
        let query = self
            .time_embedding(avg_time.clone())
            .matmul(self.w_q.val().unsqueeze::<5>()); // [B, N, P, 1, D]
        let keys = self
            .time_embedding(nodes.time)
            .matmul(self.w_k.val().unsqueeze::<5>()); // [B, N, P, L, D]
        let values = nodes.x.matmul(self.w_v.val().unsqueeze::<5>());
        let scores = keys
            .matmul(query.swap_dims(3, 4))
            .div_scalar((d_model as f64).sqrt()) // [B, N, P, L, 1]
            .mask_fill(nodes.mask.equal_elem(0.0), UNOBSERVED_SCORE);
        let pooled = (values * softmax(scores, 3))
            .sum_dim(3)
            .reshape([batch, variables, patches, d_model]);
        let shape = [batch, variables, patches, 1];
        (
            pooled,
            observed.greater_elem(0.0).float().reshape(shape),
            avg_time.reshape(shape),
        )
    }

    /// The level-0 graph of one patch: nodes `(n, l)` at index `n·L + l`; every ordered pair
    /// of observed nodes is an edge, self loops included; type 1 = same variable, 0 = same
    /// step, 2 = otherwise.
    ///
    /// # Shapes
    /// - observed: `[batch, patches, N·L]`
    fn intra_patch_graph(observed: Tensor<3>, steps: usize) -> Graph {
        let nodes = observed.dims()[2];
        let device = observed.device();
        let index = Tensor::<1, Int>::arange(0..nodes as i64, &device);
        let pairs = |key: Tensor<1, Int>| {
            key.clone()
                .reshape([nodes, 1])
                .expand([nodes, nodes])
                .equal(key.reshape([1, nodes]).expand([nodes, nodes]))
        };
        let same_var = pairs(index.clone().div_scalar(steps as i64));
        let same_step = pairs(index.remainder_scalar(steps as i64));
        Graph {
            edges: Self::observed_pairs(observed),
            types: Self::edge_types(same_var.unsqueeze::<3>(), same_step.unsqueeze::<3>())
                .unsqueeze::<5>(), // [1, 1, 3, V, V]
        }
    }

    /// The graph of an inter-patch level: nodes `(n, t)` at index `n·T + t`; edges between
    /// observed nodes whose patch indices differ by exactly 1; types as in level 0 with the
    /// pooled times `t̄` deciding "same time".
    ///
    /// # Shapes
    /// - observed, time: `[batch, N·T]`
    fn inter_patch_graph(observed: Tensor<2>, time: Tensor<2>, patches: usize) -> Graph {
        let [batch, nodes] = observed.dims();
        let device = observed.device();
        let index = Tensor::<1, Int>::arange(0..nodes as i64, &device);
        let column = |t: Tensor<1, Int>| t.reshape([nodes, 1]).expand([nodes, nodes]);
        let row = |t: Tensor<1, Int>| t.reshape([1, nodes]).expand([nodes, nodes]);
        let var = index.clone().div_scalar(patches as i64);
        let patch = index.remainder_scalar(patches as i64);
        let same_var = column(var.clone()).equal(row(var));
        let adjacent = (column(patch.clone()) - row(patch)).abs().equal_elem(1);
        let same_time = time
            .clone()
            .reshape([batch, nodes, 1])
            .expand([batch, nodes, nodes])
            .equal(
                time.reshape([batch, 1, nodes])
                    .expand([batch, nodes, nodes]),
            );
        let edges = Self::observed_pairs(observed.unsqueeze_dim::<3>(1)).bool_and(
            adjacent
                .reshape([1, 1, nodes, nodes])
                .expand([batch, 1, nodes, nodes]),
        );
        Graph {
            edges,
            types: Self::edge_types(
                same_var.unsqueeze::<3>().expand([batch, nodes, nodes]),
                same_time,
            )
            .unsqueeze_dim::<5>(1),
        }
    }

    /// `[.., target, source]` true where both nodes are observed.
    fn observed_pairs(observed: Tensor<3>) -> Tensor<4, Bool> {
        let [batch, groups, nodes] = observed.dims();
        let observed = observed.greater_elem(0.0);
        let target = observed
            .clone()
            .reshape([batch, groups, nodes, 1])
            .expand([batch, groups, nodes, nodes]);
        let source = observed
            .reshape([batch, groups, 1, nodes])
            .expand([batch, groups, nodes, nodes]);
        target.bool_and(source)
    }

    /// One-hot edge types `[batch, 3, V, V]`: 0 = same time and another variable, 1 = same
    /// variable (self loops included), 2 = neither.
    fn edge_types(same_var: Tensor<3, Bool>, same_time: Tensor<3, Bool>) -> Tensor<4> {
        let var = same_var.float();
        let time = same_time.float();
        let type0 = time.clone() * (var.clone().neg() + 1.0);
        let type2 = (var.clone().neg() + 1.0) * (time.neg() + 1.0);
        Tensor::stack(vec![type0, var, type2], 1)
    }
}

impl ZooModel for HiPatch {
    /// Node encoding → level-0 graph per patch → pooling → inter-patch levels → flatten `n·D + j`
    /// → `decoder_classification`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, variables] = input.x.dims();
        let device = input.device();
        let patches = self.n_patch;
        let steps = length / patches;
        let d_model = self.w_q.dims()[0];
        // [B, M, L, N] → [B, N, M, L, 1]
        let values = input
            .x
            .clone()
            .reshape([batch, patches, steps, variables])
            .permute([0, 3, 1, 2])
            .unsqueeze_dim::<5>(4);
        let per_node = |t: Tensor<2>| {
            t.reshape([batch, 1, patches, steps, 1])
                .expand([batch, variables, patches, steps, 1])
        };
        let marks: Vec<f32> = (0..length).map(|t| t as f32 / length as f32).collect();
        let time = per_node(
            Tensor::<2>::from_data(TensorData::new(marks, [1, length]), &device)
                .expand([batch, length]),
        );
        let mask = per_node(input.observed_mask());
        let variable_embedding = self
            .nodevec
            .weight
            .val()
            .reshape([1, variables, 1, 1, d_model]);
        let x = relu(
            self.obs_enc.forward(values) + variable_embedding + self.time_embedding(time.clone()),
        ); // [B, N, M, L, D]

        // Level 0: one graph per patch, nodes (n, l).
        let observed =
            mask.clone()
                .permute([0, 2, 1, 3, 4])
                .reshape([batch, patches, variables * steps]);
        let graph = Self::intra_patch_graph(observed, steps);
        let flat = x
            .permute([0, 2, 1, 3, 4])
            .reshape([batch, patches, variables * steps, d_model]);
        let x = self
            .propagate(flat, &graph, 0)
            .reshape([batch, patches, variables, steps, d_model])
            .permute([0, 2, 1, 3, 4]);
        let (mut x, mut mask, mut time) = self.pool(Self::pad_to_even(Nodes { x, mask, time }));

        // Inter-patch levels: nodes (n, t), pooled in pairs.
        for level in 1..self.levels {
            let patches = x.dims()[2];
            let nodes = variables * patches;
            let graph = Self::inter_patch_graph(
                mask.clone().reshape([batch, nodes]),
                time.clone().reshape([batch, nodes]),
                patches,
            );
            x = self
                .propagate(x.reshape([batch, 1, nodes, d_model]), &graph, level)
                .reshape([batch, variables, patches, d_model]);
            let padded = Self::pad_to_even(Nodes {
                x: x.unsqueeze_dim::<5>(3),
                mask: mask.unsqueeze_dim::<5>(3),
                time: time.unsqueeze_dim::<5>(3),
            });
            let pairs = padded.x.dims()[2] / 2;
            let grouped = |t: Tensor<5>| {
                let width = t.dims()[4];
                t.reshape([batch, variables, pairs, 2, width])
            };
            (x, mask, time) = self.pool(Nodes {
                x: grouped(padded.x),
                mask: grouped(padded.mask),
                time: grouped(padded.time),
            });
        }
        let flat = x.reshape([batch, variables * d_model]);
        relu_mlp_forward(&self.decoder_classification, flat)
    }
}
