//! Embeddings of `layers/Formers/Embed.py` (models.md §1.4).

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::ops::pad_circular;

/// `TokenEmbedding`: Conv1d over time (kernel 3, circular padding 1, no bias), weight
/// `tokenConv.weight [d_model, c_in, 3]` (renamed `token_conv` on import, see
/// [`crate::weights`]).
#[derive(Module, Debug)]
pub struct TokenEmbedding {
    pub token_conv: Conv1d,
}

impl TokenEmbedding {
    /// A randomly initialised embedding of `c_in` channels into `d_model`.
    pub fn new(c_in: usize, d_model: usize, device: &Device) -> Self {
        let conv = Conv1dConfig::new(c_in, d_model, 3)
            .with_bias(false)
            .init(device);
        Self { token_conv: conv }
    }

    /// # Shapes
    /// - x: `[batch, length, c_in]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = pad_circular(x.swap_dims(1, 2), 1, 1); // [batch, c_in, length + 2]
        self.token_conv.forward(x).swap_dims(1, 2)
    }
}

/// The sinusoid table `pe[:length]` of `PositionalEmbedding` (the checkpoint's `pe` buffer is
/// recomputed, not loaded), `[length, d_model]`.
pub fn positional_embedding(length: usize, d_model: usize, device: &Device) -> Tensor<2> {
    let mut table = vec![0f32; length * d_model];
    for p in 0..length {
        for i in (0..d_model).step_by(2) {
            let div_term = (i as f64 * -(10000f64.ln() / d_model as f64)).exp();
            let angle = p as f64 * div_term;
            table[p * d_model + i] = angle.sin() as f32;
            if i + 1 < d_model {
                table[p * d_model + i + 1] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_data(TensorData::new(table, [length, d_model]), device)
}

/// `TimeFeatureEmbedding` (`embed='timeF'`): `embed [d_model, 4]` is never usable with the
/// one-feature mark, so the mark always goes through `general_embed [d_model, 1]`.
#[derive(Module, Debug)]
pub struct TimeFeatureEmbedding {
    pub embed: Linear,
    pub general_embed: Linear,
}

impl TimeFeatureEmbedding {
    /// A randomly initialised embedding into `d_model`.
    pub fn new(d_model: usize, device: &Device) -> Self {
        Self {
            embed: LinearConfig::new(4, d_model).with_bias(false).init(device),
            general_embed: LinearConfig::new(1, d_model).with_bias(false).init(device),
        }
    }

    /// # Shapes
    /// - mark: `[batch, length, 1]` → `[batch, length, d_model]`
    pub fn forward(&self, mark: Tensor<3>) -> Tensor<3> {
        self.general_embed.forward(mark)
    }
}

/// `DataEmbedding`: token conv + optional time-mark embedding + sinusoid positions.
/// Parameter names `value_embedding.tokenConv.weight`, `temporal_embedding.{embed,general_embed}.weight`.
#[derive(Module, Debug)]
pub struct DataEmbedding {
    pub value_embedding: TokenEmbedding,
    pub temporal_embedding: TimeFeatureEmbedding,
}

impl DataEmbedding {
    /// A randomly initialised embedding of `c_in` channels into `d_model`.
    pub fn new(c_in: usize, d_model: usize, device: &Device) -> Self {
        Self {
            value_embedding: TokenEmbedding::new(c_in, d_model, device),
            temporal_embedding: TimeFeatureEmbedding::new(d_model, device),
        }
    }

    /// `tok(x) + [general_embed(mark)] + pe[:length]` (`DataEmbedding.forward`).
    ///
    /// # Shapes
    /// - x: `[batch, length, c_in]`, mark: `[batch, length, 1]` → `[batch, length, d_model]`
    pub fn forward(&self, x: Tensor<3>, mark: Option<Tensor<3>>) -> Tensor<3> {
        let [_, length, _] = x.dims();
        let device = x.device();
        let mut out = self.value_embedding.forward(x);
        let d_model = out.dims()[2];
        if let Some(mark) = mark {
            out = out + self.temporal_embedding.forward(mark);
        }
        out + positional_embedding(length, d_model, &device).unsqueeze::<3>()
    }

    /// `tok(x) + [general_embed(mark)]` without positions (`DataEmbedding_wo_pos`).
    ///
    /// # Shapes
    /// - x: `[batch, length, c_in]`, mark: `[batch, length, 1]` → `[batch, length, d_model]`
    pub fn forward_without_position(&self, x: Tensor<3>, mark: Option<Tensor<3>>) -> Tensor<3> {
        let out = self.value_embedding.forward(x);
        match mark {
            Some(mark) => out + self.temporal_embedding.forward(mark),
            None => out,
        }
    }
}
