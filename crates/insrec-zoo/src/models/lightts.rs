//! LightTS (models.md §2.3): continuous and interval sampling of the clip into chunks, IEBlock
//! MLPs over each, a third IEBlock across channels, an autoregressive highway and a linear head.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::ZooConfig;
use crate::error::Result;
use crate::model::{SequenceInput, ZooModel};

/// `nn.LeakyReLU()` default slope.
const LEAKY_SLOPE: f64 = 0.01;

/// Hyper-parameters of [`LightTs`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LightTsConfig {
    /// Width: the chunk IEBlocks use `d_model / 4`, the channel IEBlock `d_model / 2`.
    pub d_model: usize,
    /// Chunk size (capped at the clip length 10); must divide 10.
    pub patch_len: usize,
}

impl Default for LightTsConfig {
    fn default() -> Self {
        Self {
            d_model: 512,
            patch_len: 5,
        }
    }
}

impl LightTsConfig {
    /// `chunk_size = min(seq_len, patch_len)`.
    fn chunk_size(&self) -> usize {
        self.patch_len.min(FRAMES_PER_CLIP)
    }
}

impl ZooConfig for LightTsConfig {
    type Model = LightTs;
    const NAME: &'static str = "LightTS";

    fn validate(&self) -> Result<()> {
        if self.d_model < 16 || !self.d_model.is_multiple_of(4) {
            return Err(Self::invalid(format!(
                "d_model ({}) must be a multiple of 4 and at least 16",
                self.d_model
            )));
        }
        if self.patch_len == 0 || !FRAMES_PER_CLIP.is_multiple_of(self.chunk_size()) {
            return Err(Self::invalid(format!(
                "patch_len ({}) must divide the clip length {FRAMES_PER_CLIP}",
                self.patch_len
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<LightTs> {
        self.validate()?;
        let chunk_size = self.chunk_size();
        let num_chunks = FRAMES_PER_CLIP / chunk_size;
        let quarter = self.d_model / 4;
        let half = self.d_model / 2;
        let chunk_block = || IeBlock::new(chunk_size, quarter, quarter, num_chunks, device);
        Ok(LightTs {
            layer_1: chunk_block(),
            chunk_proj_1: LinearConfig::new(num_chunks, 1).init(device),
            layer_2: chunk_block(),
            chunk_proj_2: LinearConfig::new(num_chunks, 1).init(device),
            layer_3: IeBlock::new(half, half, FRAMES_PER_CLIP, EMBEDDING_DIM, device),
            ar: LinearConfig::new(FRAMES_PER_CLIP, FRAMES_PER_CLIP).init(device),
            projection: LinearConfig::new(FRAMES_PER_CLIP * EMBEDDING_DIM, NUM_CLASSES)
                .init(device),
            chunk_size,
        })
    }
}

/// `IEBlock(input_dim, hid_dim, output_dim, num_node)`: an MLP over the feature axis, a
/// residual linear mix over the node axis and an output projection.
#[derive(Module, Debug)]
pub struct IeBlock {
    /// `spatial_proj.0`: `Linear(input_dim → hid_dim)`, then LeakyReLU.
    pub spatial_proj_in: Linear,
    /// `spatial_proj.2`: `Linear(hid_dim → hid_dim / 4)`.
    pub spatial_proj_out: Linear,
    /// `Linear(num_node → num_node)`, initialised to the identity.
    pub channel_proj: Linear,
    /// `Linear(hid_dim / 4 → output_dim)`.
    pub output_proj: Linear,
}

impl IeBlock {
    fn new(input: usize, hidden: usize, output: usize, nodes: usize, device: &Device) -> Self {
        let mut channel_proj = LinearConfig::new(nodes, nodes).init(device);
        channel_proj.weight = Param::from_tensor(Tensor::eye(nodes, device));
        Self {
            spatial_proj_in: LinearConfig::new(input, hidden).init(device),
            spatial_proj_out: LinearConfig::new(hidden, hidden / 4).init(device),
            channel_proj,
            output_proj: LinearConfig::new(hidden / 4, output).init(device),
        }
    }

    /// # Shapes
    /// - z: `[batch, input_dim, num_node]` → `[batch, output_dim, num_node]`
    fn forward(&self, z: Tensor<3>) -> Tensor<3> {
        let a = self.spatial_proj_in.forward(z.swap_dims(1, 2)); // [batch, nodes, hid]
        let a = self
            .spatial_proj_out
            .forward(leaky_relu(a, LEAKY_SLOPE))
            .swap_dims(1, 2); // [batch, hid/4, nodes]
        let a = a.clone() + self.channel_proj.forward(a);
        self.output_proj.forward(a.swap_dims(1, 2)).swap_dims(1, 2) // [batch, out, nodes]
    }
}

/// PyOmniTS `LightTS` in classification mode.
#[derive(Module, Debug)]
pub struct LightTs {
    /// IEBlock on continuous chunks (`[B·N, chunk, num_chunks]`).
    pub layer_1: IeBlock,
    pub chunk_proj_1: Linear,
    /// IEBlock on interval samples.
    pub layer_2: IeBlock,
    pub chunk_proj_2: Linear,
    /// IEBlock across the 128 channels, output 10 time steps.
    pub layer_3: IeBlock,
    /// Highway `Linear(10 → 10)` along time.
    pub ar: Linear,
    pub projection: Linear,
    pub chunk_size: usize,
}

impl LightTs {
    /// One sampling branch: `[B·N, chunk, num_chunks]` → IEBlock → chunk projection → `[B·N, D/4]`.
    fn branch(block: &IeBlock, chunk_proj: &Linear, z: Tensor<3>) -> Tensor<2> {
        chunk_proj.forward(block.forward(z)).squeeze_dim(2)
    }
}

impl ZooModel for LightTs {
    /// Highway `ar(Xᵀ)ᵀ` + `layer_3` over the concatenated continuous/interval chunk features;
    /// flatten time-major → `projection`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let x = input.x.clone();
        let (chunk, chunks) = (self.chunk_size, length / self.chunk_size);
        let highway = self.ar.forward(x.clone().swap_dims(1, 2)).swap_dims(1, 2); // [B, L, N]

        // Continuous: chunk c holds times c·chunk .. c·chunk + chunk − 1.
        let continuous = x
            .clone()
            .reshape([batch, chunks, chunk, channels])
            .permute([0, 3, 2, 1])
            .reshape([batch * channels, chunk, chunks]);
        let x1 = Self::branch(&self.layer_1, &self.chunk_proj_1, continuous);
        // Interval: time i·chunks + j sits at [i, j].
        let interval = x
            .reshape([batch, chunk, chunks, channels])
            .permute([0, 3, 1, 2])
            .reshape([batch * channels, chunk, chunks]);
        let x2 = Self::branch(&self.layer_2, &self.chunk_proj_2, interval);

        let x3 = Tensor::cat(vec![x1, x2], 1); // [B·N, D/2]
        let half = x3.dims()[1];
        let x3 = x3.reshape([batch, channels, half]).swap_dims(1, 2); // [B, D/2, N]
        let out = self.layer_3.forward(x3) + highway; // [B, L, N]
        self.projection
            .forward(out.reshape([batch, length * channels]))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"\.spatial_proj\.0\.", ".spatial_proj_in."),
            (r"\.spatial_proj\.2\.", ".spatial_proj_out."),
        ]
    }
}
