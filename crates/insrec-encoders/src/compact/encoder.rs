//! [`CompactEncoder`]: one 0.96 s log-mel example → one embedding, with mobile-style blocks.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{
    BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d,
    conv::{Conv2d, Conv2dConfig},
};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};
use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};
use serde::{Deserialize, Serialize};

use super::conv::{channel_last, conv3x3};
use super::norm::batch_norm;

/// One block: channels out and stride of its 3×3 convolution.
#[derive(Config, Debug, PartialEq, Copy)]
pub struct BlockSpec {
    pub channels: usize,
    pub stride: usize,
}

impl BlockSpec {
    /// The default model's blocks: three stride-2 blocks, then one stride-1 residual block.
    pub fn default_list() -> Vec<Self> {
        vec![
            Self::new(32, 2),
            Self::new(64, 2),
            Self::new(128, 2),
            Self::new(128, 1),
        ]
    }

    /// Parses a block list written `channels:stride,…`, e.g. `32:2,64:2,128:2,128:1`.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let blocks = text
            .split(',')
            .map(|block| {
                let (channels, stride) = block
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| format!("block `{block}`: expected CHANNELS:STRIDE"))?;
                let number = |v: &str| {
                    v.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("block `{block}`: `{v}` is not a positive integer"))
                };
                Ok(Self::new(number(channels)?, number(stride)?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if blocks.iter().any(|b| b.stride > 2) {
            return Err("strides are 1 or 2".into());
        }
        Ok(blocks)
    }
}

/// How the last feature map `[time, bands, channels]` becomes the embedding's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean over time and frequency: one value per channel.
    Global,
    /// Mean over time per frequency band, so that the projection knows where in the spectrum a
    /// feature is (as VGGish's fully connected layers do).
    Bands,
    /// Mean and maximum over time per frequency band (a short note's onset is not averaged away).
    BandsMax,
}

impl Pooling {
    pub const ALL: [Self; 3] = [Self::Global, Self::Bands, Self::BandsMax];

    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Bands => "bands",
            Self::BandsMax => "bands_max",
        }
    }
}

/// Hyper-parameters of [`CompactEncoder`].
#[derive(Config, Debug, PartialEq)]
pub struct CompactEncoderConfig {
    /// Log-mel frames averaged into one before the stem (1 keeps all 96).
    #[config(default = 2)]
    pub time_pool: usize,
    /// Channels of the stride-2 stem convolution.
    #[config(default = 16)]
    pub stem_channels: usize,
    /// Convolution blocks after the stem.
    #[config(default = "BlockSpec::default_list()")]
    pub blocks: Vec<BlockSpec>,
    /// Squeeze-excitation bottleneck ratio (channels / ratio); 0 disables it.
    #[config(default = 4)]
    pub se_ratio: usize,
    /// Depthwise-separable blocks (depthwise 3×3 + pointwise 1×1) instead of full 3×3
    /// convolutions. Fewer FLOPs, but burn's CPU backend runs grouped convolutions (and their
    /// gradients) far slower than full ones, so full convolutions train faster here.
    #[config(default = false)]
    pub separable: bool,
    /// How the last feature map is pooled into the embedding's input (`None`: global, as in
    /// models written before this could be chosen).
    #[config(default = "None")]
    pub pooling: Option<Pooling>,
    /// Width of the embedding.
    #[config(default = 128)]
    pub embedding_dim: usize,
    /// Log-mel value subtracted before the stem (training-set mean).
    #[config(default = 0.0)]
    pub input_mean: f64,
    /// Log-mel scale divided out before the stem (training-set standard deviation).
    #[config(default = 1.0)]
    pub input_std: f64,
}

impl CompactEncoderConfig {
    /// Builds the encoder with fresh weights.
    pub fn init(&self, device: &Device) -> CompactEncoder {
        let stem = Conv2dConfig::new([1, self.stem_channels], [3, 3])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(device);
        let mut channels = self.stem_channels;
        let blocks = self
            .blocks
            .iter()
            .map(|spec| {
                let block = ConvBlock::new(channels, *spec, self.se_ratio, self.separable, device);
                channels = spec.channels;
                block
            })
            .collect();
        CompactEncoder {
            stem,
            stem_norm: BatchNormConfig::new(self.stem_channels).init(device),
            blocks,
            embedding: LinearConfig::new(self.pooled_width(), self.embedding_dim).init(device),
            per_band: self.pooling() != Pooling::Global,
            time_max: self.pooling() == Pooling::BandsMax,
            time_pool: self.time_pool.max(1),
            input_mean: self.input_mean as f32,
            input_scale: (1.0 / self.input_std) as f32,
        }
    }

    /// Channels of the last block (before the embedding projection).
    pub fn last_channels(&self) -> usize {
        self.blocks
            .last()
            .map_or(self.stem_channels, |b| b.channels)
    }

    /// Frequency bands of the last feature map.
    pub fn last_bands(&self) -> usize {
        self.blocks
            .iter()
            .fold(MEL_BANDS.div_ceil(2), |w, b| w.div_ceil(b.stride))
    }

    /// How the last feature map is pooled.
    pub fn pooling(&self) -> Pooling {
        self.pooling.unwrap_or(Pooling::Global)
    }

    /// Width of the pooled last map, the embedding projection's input.
    pub fn pooled_width(&self) -> usize {
        let channels = self.last_channels();
        match self.pooling() {
            Pooling::Global => channels,
            Pooling::Bands => channels * self.last_bands(),
            Pooling::BandsMax => 2 * channels * self.last_bands(),
        }
    }
}

/// Squeeze-excitation: channel weights from the globally pooled feature map.
#[derive(Module, Debug)]
pub struct SqueezeExcitation {
    pub reduce: Linear,
    pub expand: Linear,
}

impl SqueezeExcitation {
    /// # Shapes
    /// `[batch, h, w, channels]` → same.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, _, _, channels] = x.dims();
        let pooled = x.clone().mean_dim(2).mean_dim(1).reshape([batch, channels]);
        let weights = sigmoid(self.expand.forward(relu(self.reduce.forward(pooled))));
        x * weights.reshape([batch, 1, 1, channels])
    }
}

/// A 3×3 convolution (strided; full, or depthwise followed by a pointwise 1×1) → BN → ReLU →
/// squeeze-excitation, with a residual connection when the shape is kept.
#[derive(Module, Debug)]
pub struct ConvBlock {
    pub spatial: Conv2d,
    pub spatial_norm: BatchNorm,
    pub excitation: Option<SqueezeExcitation>,
    pub pointwise: Option<Conv2d>,
    pub pointwise_norm: Option<BatchNorm>,
    pub residual: bool,
}

impl ConvBlock {
    fn new(
        channels_in: usize,
        spec: BlockSpec,
        se_ratio: usize,
        separable: bool,
        device: &Device,
    ) -> Self {
        let spatial_out = if separable {
            channels_in
        } else {
            spec.channels
        };
        let excitation = (se_ratio > 0).then(|| {
            let hidden = (spatial_out / se_ratio).max(4);
            SqueezeExcitation {
                reduce: LinearConfig::new(spatial_out, hidden).init(device),
                expand: LinearConfig::new(hidden, spatial_out).init(device),
            }
        });
        Self {
            spatial: Conv2dConfig::new([channels_in, spatial_out], [3, 3])
                .with_stride([spec.stride, spec.stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_groups(if separable { channels_in } else { 1 })
                .with_bias(false)
                .init(device),
            spatial_norm: BatchNormConfig::new(spatial_out).init(device),
            excitation,
            pointwise: separable.then(|| {
                Conv2dConfig::new([channels_in, spec.channels], [1, 1])
                    .with_bias(false)
                    .init(device)
            }),
            pointwise_norm: separable.then(|| BatchNormConfig::new(spec.channels).init(device)),
            residual: spec.stride == 1 && channels_in == spec.channels,
        }
    }

    /// # Shapes
    /// Channel-last: `[batch, h, w, c_in]` → `[batch, h / stride, w / stride, c_out]` (rounded
    /// up).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = batch_norm(&self.spatial_norm, conv3x3(&self.spatial, x.clone()));
        if let (Some(pointwise), Some(norm)) = (&self.pointwise, &self.pointwise_norm) {
            y = relu(y);
            if let Some(se) = &self.excitation {
                y = se.forward(y);
            }
            y = batch_norm(norm, channel_last(pointwise, y));
        } else if let Some(se) = &self.excitation {
            y = se.forward(relu(y));
        }
        if self.residual { relu(y + x) } else { relu(y) }
    }
}

/// Log-mel example `[96, 64]` → embedding: stride-2 stem, strided 3×3 convolution blocks with
/// squeeze-excitation, global average pooling and a linear projection.
#[derive(Module, Debug)]
pub struct CompactEncoder {
    pub stem: Conv2d,
    pub stem_norm: BatchNorm,
    pub blocks: Vec<ConvBlock>,
    pub embedding: Linear,
    /// Pool over time only, keeping the frequency bands ([`Pooling::Bands`]).
    pub per_band: bool,
    /// Add the maximum over time to the mean ([`Pooling::BandsMax`]).
    pub time_max: bool,
    pub time_pool: usize,
    pub input_mean: f32,
    pub input_scale: f32,
}

impl CompactEncoder {
    /// # Shapes
    /// `[n, 96, 64]` → `[n, embedding_dim]`.
    pub fn forward(&self, examples: Tensor<3>) -> Tensor<2> {
        let [n, _, _] = examples.dims();
        let rows = EXAMPLE_FRAMES / self.time_pool;
        let x = examples
            .narrow(1, 0, rows * self.time_pool)
            .reshape([n, rows, self.time_pool, MEL_BANDS])
            .mean_dim(2)
            .reshape([n, rows, MEL_BANDS, 1]);
        let x = (x - self.input_mean) * self.input_scale;
        // Channel-last from here: [n, rows / 2, 32, stem]
        let mut x = relu(batch_norm(&self.stem_norm, conv3x3(&self.stem, x)));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [_, _, bands, channels] = x.dims();
        let pooled = if !self.per_band {
            x.mean_dim(2).mean_dim(1).reshape([n, channels])
        } else if self.time_max {
            Tensor::cat(
                vec![
                    x.clone().mean_dim(1).reshape([n, bands * channels]),
                    x.max_dim(1).reshape([n, bands * channels]),
                ],
                1,
            )
        } else {
            x.mean_dim(1).reshape([n, bands * channels])
        };
        self.embedding.forward(pooled)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};
    use insrec_features::{EXAMPLE_FRAMES, MEL_BANDS};

    use super::{BlockSpec, CompactEncoderConfig, Pooling};
    use crate::compact::{CompactConfig, HeadKind, flops_per_frame};

    #[test]
    fn pooling_sets_the_projection_width_and_older_configs_read_as_global() {
        let device = Device::flex();
        let input = Tensor::<3>::from_data(
            TensorData::new(
                (0..2 * EXAMPLE_FRAMES * MEL_BANDS)
                    .map(|i| ((i % 97) as f32 / 97.0).sin())
                    .collect::<Vec<_>>(),
                [2, EXAMPLE_FRAMES, MEL_BANDS],
            ),
            &device,
        );
        let mut flops = Vec::new();
        for (pooling, width) in [
            (Pooling::Global, 128),
            (Pooling::Bands, 128 * 4),
            (Pooling::BandsMax, 2 * 128 * 4),
        ] {
            let mut config = CompactConfig::with_head_kind(HeadKind::Tcn);
            config.encoder.pooling = Some(pooling);
            assert_eq!(config.encoder.pooled_width(), width, "{pooling:?}");
            let encoder = config.encoder.init(&device);
            assert_eq!(encoder.embedding.weight.dims(), [width, 128]);
            let out = encoder.forward(input.clone());
            assert_eq!(out.dims(), [2, 128]);
            let values = out.into_data().iter::<f32>().collect::<Vec<_>>();
            assert!(values.iter().all(|v| v.is_finite()), "{pooling:?}");
            flops.push(flops_per_frame(&config));
        }
        assert!(flops[0] < flops[1] && flops[1] < flops[2], "{flops:?}");

        let json = serde_json::to_value(CompactEncoderConfig::new()).expect("config JSON");
        let mut older = json.clone();
        older
            .as_object_mut()
            .expect("object")
            .remove("pooling")
            .expect("a pooling field");
        let read: CompactEncoderConfig = serde_json::from_value(older).expect("older config");
        assert_eq!(read.pooling(), Pooling::Global);
        assert_eq!(read, CompactEncoderConfig::new());
    }

    #[test]
    fn block_lists_parse_and_bad_ones_are_refused() {
        assert_eq!(
            BlockSpec::parse_list("32:2, 64:2,128:2,128:1"),
            Ok(BlockSpec::default_list())
        );
        for bad in ["", "32", "32:0", "0:2", "32:3", "32:2,", "a:2"] {
            assert!(BlockSpec::parse_list(bad).is_err(), "{bad}");
        }
    }
}
