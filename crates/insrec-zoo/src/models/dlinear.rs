//! DLinear (models.md §2.2): moving-average decomposition, one `Linear(10 → 10)` per component
//! along time, and a linear head.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::ZooConfig;
use crate::error::Result;
use crate::layers::decomp::series_decomp;
use crate::model::{SequenceInput, ZooModel};

/// Moving-average kernel, hard-coded in PyOmniTS (`moving_avg` from the config is ignored).
const KERNEL_SIZE: usize = 25;

/// Hyper-parameters of [`DLinear`]: none matter in classification (`individual = 0`, kernel 25).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DLinearConfig {}

impl ZooConfig for DLinearConfig {
    type Model = DLinear;
    const NAME: &'static str = "DLinear";

    fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<DLinear> {
        let over_time = || LinearConfig::new(FRAMES_PER_CLIP, FRAMES_PER_CLIP).init(device);
        Ok(DLinear {
            linear_seasonal: over_time(),
            linear_trend: over_time(),
            decoder_classification: LinearConfig::new(FRAMES_PER_CLIP * EMBEDDING_DIM, NUM_CLASSES)
                .init(device),
        })
    }
}

/// PyOmniTS `DLinear` in classification mode; `Linear_Seasonal`/`Linear_Trend` in PyTorch.
#[derive(Module, Debug)]
pub struct DLinear {
    pub linear_seasonal: Linear,
    pub linear_trend: Linear,
    pub decoder_classification: Linear,
}

impl ZooModel for DLinear {
    /// `S, T = series_decomp(x)`; `Linear_Seasonal(Sᵀ) + Linear_Trend(Tᵀ)` per channel; flatten
    /// time-major → head.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, channels] = input.x.dims();
        let (seasonal, trend) = series_decomp(input.x.clone(), KERNEL_SIZE);
        let seasonal = self.linear_seasonal.forward(seasonal.swap_dims(1, 2)); // [batch, channels, length]
        let trend = self.linear_trend.forward(trend.swap_dims(1, 2));
        let y = (seasonal + trend).swap_dims(1, 2); // [batch, length, channels]
        self.decoder_classification
            .forward(y.reshape([batch, length * channels]))
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"^Linear_Seasonal\.", "linear_seasonal."),
            (r"^Linear_Trend\.", "linear_trend."),
        ]
    }
}
