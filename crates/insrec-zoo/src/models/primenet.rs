//! PrimeNet (models.md §2.25): the clip is cut into patches; per patch, time attention from 128
//! regular reference times to the observed steps (values and mask), a BERT block, mean pooling
//! and a tanh pooler; the patches are averaged and classified by an MLP.
//!
//! Upstream also computes an interpolation path (`pos_emb`, `interp_head`) and a contrastive
//! loss; neither reaches the logits, so their tensors are kept for the checkpoint only.

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, FRAMES_PER_CLIP, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::attention::full_attention;
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::layers::ops::time_marks;
use crate::layers::time_attention::{MultiTimeAttention, learned_time_embedding, linspace};
use crate::model::{SequenceInput, ZooModel};

/// Regular reference times `linspace(0, 1, 128)` (`cls_query`, hard-coded upstream).
const CLS_QUERIES: usize = 128;
/// Hidden width of the classifier MLP.
const CLASSIFIER_HIDDEN: usize = 300;
/// Dropout of the BERT block's residual branches (`TimeBERTConfig.dropout`).
const DROPOUT: f64 = 0.3;
/// Dropout on the BERT block's attention weights.
const ATTENTION_DROPOUT: f64 = 0.2;
/// LayerNorm epsilon of the BERT block.
const LAYER_NORM_EPSILON: f64 = 1e-12;

/// Hyper-parameters of [`PrimeNet`] (PyOmniTS names, production defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrimeNetConfig {
    /// Heads of the time attention and of the BERT block; must divide `hidden`.
    pub n_heads: usize,
    /// Steps per patch; must divide the clip length 10.
    pub patch_len: usize,
    /// Hidden width = time embedding width (`rec_hidden = embed_time = 128`, hard-coded
    /// upstream).
    pub hidden: usize,
}

impl Default for PrimeNetConfig {
    fn default() -> Self {
        Self {
            n_heads: 1,
            patch_len: 5,
            hidden: 128,
        }
    }
}

impl ZooConfig for PrimeNetConfig {
    type Model = PrimeNet;
    const NAME: &'static str = "PrimeNet";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("patch_len", self.patch_len)])?;
        if self.hidden < 2 {
            return Err(Self::invalid("hidden must be at least 2"));
        }
        check_heads::<Self>(self.hidden, self.n_heads)?;
        if !FRAMES_PER_CLIP.is_multiple_of(self.patch_len) {
            return Err(Self::invalid(format!(
                "patch_len {} must divide the clip length {FRAMES_PER_CLIP}",
                self.patch_len
            )));
        }
        Ok(())
    }

    fn init(&self, device: &Device) -> Result<PrimeNet> {
        self.validate()?;
        let h = self.hidden;
        let linear = |input, output| LinearConfig::new(input, output).init(device);
        let sublayer = || SublayerConnection {
            norm: LayerNormConfig::new(h)
                .with_epsilon(LAYER_NORM_EPSILON)
                .init(device),
            dropout: DropoutConfig::new(DROPOUT).init(),
        };
        Ok(PrimeNet {
            model: TimeBertForPretraining {
                bert: TimeBert {
                    time_att: MultiTimeAttention::new(
                        2 * EMBEDDING_DIM,
                        h,
                        h,
                        self.n_heads,
                        device,
                    ),
                    pos_emb: EmbeddingConfig::new(FRAMES_PER_CLIP, h).init(device),
                    transformer: TransformerBlock {
                        attention: MultiHeadedAttention {
                            linear_layers: (0..3).map(|_| linear(h, h)).collect(),
                            output_linear: linear(h, h),
                            dropout: DropoutConfig::new(ATTENTION_DROPOUT).init(),
                            n_heads: self.n_heads,
                        },
                        feed_forward: PositionwiseFeedForward {
                            w_1: linear(h, h),
                            w_2: linear(h, h),
                        },
                        input_sublayer: sublayer(),
                        output_sublayer: sublayer(),
                    },
                    cls_emb: EmbeddingConfig::new(1, h).init(device),
                    pooler: BertPooler {
                        dense: linear(h, h),
                    },
                    periodic: linear(1, h - 1),
                    linear: linear(1, 1),
                },
                interp_head: BertInterpHead {
                    dense: linear(h, 4 * h),
                    project: linear(4 * h, EMBEDDING_DIM),
                },
            },
            decoder_classification: relu_mlp(
                &[h, CLASSIFIER_HIDDEN, CLASSIFIER_HIDDEN, NUM_CLASSES],
                device,
            ),
            patch_len: self.patch_len,
        })
    }
}

/// BERT `MultiHeadedAttention`: `linear_layers.{0,1,2}` project queries, keys and values,
/// `output_linear` the concatenated heads.
#[derive(Module, Debug)]
pub struct MultiHeadedAttention {
    pub linear_layers: Vec<Linear>,
    pub output_linear: Linear,
    pub dropout: Dropout,
    pub n_heads: usize,
}

impl MultiHeadedAttention {
    /// Self-attention `softmax(QKᵀ/√d_k)V` per head.
    ///
    /// # Shapes
    /// - x: `[batch, length, hidden]` → `[batch, length, hidden]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, length, hidden] = x.dims();
        let heads = |i: usize| {
            self.linear_layers[i].forward(x.clone()).reshape([
                batch,
                length,
                self.n_heads,
                hidden / self.n_heads,
            ])
        };
        let out = full_attention(heads(0), heads(1), heads(2), None, &self.dropout);
        self.output_linear
            .forward(out.reshape([batch, length, hidden]))
    }
}

/// `PositionwiseFeedForward`: `w_2(gelu_tanh(w_1 x))`.
#[derive(Module, Debug)]
pub struct PositionwiseFeedForward {
    pub w_1: Linear,
    pub w_2: Linear,
}

/// `SublayerConnection`: `norm(x + dropout(sublayer(x)))`; the LayerNorm (`a_2`, `b_2`) has
/// eps 1e-12.
#[derive(Module, Debug)]
pub struct SublayerConnection {
    pub norm: LayerNorm,
    pub dropout: Dropout,
}

impl SublayerConnection {
    /// # Shapes
    /// - x, branch: `[batch, length, hidden]` → `[batch, length, hidden]`
    fn forward(&self, x: Tensor<3>, branch: Tensor<3>) -> Tensor<3> {
        self.norm.forward(x + self.dropout.forward(branch))
    }
}

/// BERT `TransformerBlock` (post-norm): attention, then the feed-forward block.
#[derive(Module, Debug)]
pub struct TransformerBlock {
    pub attention: MultiHeadedAttention,
    pub feed_forward: PositionwiseFeedForward,
    pub input_sublayer: SublayerConnection,
    pub output_sublayer: SublayerConnection,
}

impl TransformerBlock {
    /// # Shapes
    /// - x: `[batch, length, hidden]` → `[batch, length, hidden]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self
            .input_sublayer
            .forward(x.clone(), self.attention.forward(x));
        let ff = &self.feed_forward;
        let y = ff.w_2.forward(gelu_approximate(ff.w_1.forward(x.clone())));
        self.output_sublayer.forward(x, y)
    }
}

/// `BertPooler`: `tanh(dense x)`.
#[derive(Module, Debug)]
pub struct BertPooler {
    pub dense: Linear,
}

/// `BertInterpHead` of the interpolation path (unused for the logits).
#[derive(Module, Debug)]
pub struct BertInterpHead {
    pub dense: Linear,
    pub project: Linear,
}

/// `TimeBERT`: learned time embedding, time attention, BERT block, pooler.
#[derive(Module, Debug)]
pub struct TimeBert {
    pub time_att: MultiTimeAttention,
    /// Positions of the interpolation path (unused for the logits).
    pub pos_emb: Embedding,
    pub transformer: TransformerBlock,
    /// Used only by the `att`/`bert` poolings; PyOmniTS runs `ave`.
    pub cls_emb: Embedding,
    pub pooler: BertPooler,
    pub periodic: Linear,
    pub linear: Linear,
}

impl TimeBert {
    /// The pooled representation of each patch (`cls_pooling`): time attention from the
    /// reference times, BERT block, mean over the references, pooler.
    ///
    /// # Shapes
    /// - value: `[patches, steps, 256]`, time: `[patches, steps, 1]`, mask: `[patches, steps]`
    /// - output: `[patches, hidden]`
    fn cls_pooling(&self, value: Tensor<3>, time: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        let device = value.device();
        let key = learned_time_embedding(&self.linear, &self.periodic, time);
        let reference = linspace(0.0, 1.0, CLS_QUERIES, &device).unsqueeze_dim::<3>(2);
        let query = learned_time_embedding(&self.linear, &self.periodic, reference);
        let out = self.time_att.forward(query, key, value, Some(mask)); // [patches, 128, hidden]
        let [patches, _, hidden] = out.dims();
        let pooled = self
            .transformer
            .forward(out)
            .mean_dim(1)
            .reshape([patches, hidden]);
        self.pooler.dense.forward(pooled).tanh()
    }
}

/// `TimeBERTForPretrainingV2`, of which classification uses `bert`'s pooled output.
#[derive(Module, Debug)]
pub struct TimeBertForPretraining {
    pub bert: TimeBert,
    pub interp_head: BertInterpHead,
}

/// PyOmniTS `PrimeNet` in classification mode.
#[derive(Module, Debug)]
pub struct PrimeNet {
    pub model: TimeBertForPretraining,
    /// `Linear(hidden → 300), ReLU, Linear(300 → 300), ReLU, Linear(300 → 20)`.
    pub decoder_classification: ReluMlp,
    pub patch_len: usize,
}

impl ZooModel for PrimeNet {
    /// `[x, M]` at times `t/10`, cut into patches of `patch_len` steps → pooled patch
    /// representations → mean over patches → `decoder_classification`.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, features] = input.x.dims();
        let device = input.device();
        let steps = self.patch_len;
        let patches = length / steps;
        let mask = input.observed_mask(); // [batch, 10]
        let observed = mask
            .clone()
            .unsqueeze_dim::<3>(2)
            .expand([batch, length, features]);
        let value = Tensor::cat(vec![input.x.clone(), observed], 2).reshape([
            batch * patches,
            steps,
            2 * features,
        ]);
        let time = time_marks(batch, length, &device).reshape([batch * patches, steps, 1]);
        let pooled =
            self.model
                .bert
                .cls_pooling(value, time, mask.reshape([batch * patches, steps]));
        let hidden = pooled.dims()[1];
        let clip = pooled
            .reshape([batch, patches, hidden])
            .mean_dim(1)
            .reshape([batch, hidden]);
        relu_mlp_forward(&self.decoder_classification, clip)
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &[
            (r"\.norm\.a_2$", ".norm.gamma"),
            (r"\.norm\.b_2$", ".norm.beta"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Steps masked out in a partly observed patch do not reach the logits; observed ones do.
    #[test]
    fn masked_steps_are_ignored() {
        let device = Device::flex();
        let model = PrimeNetConfig {
            hidden: 16,
            n_heads: 2,
            ..PrimeNetConfig::default()
        }
        .init(&device)
        .expect("builds");
        let shape = [1, FRAMES_PER_CLIP, EMBEDDING_DIM];
        let x = Tensor::<3>::random(shape, Distribution::Default, &device);
        let mask: Vec<f32> = (0..FRAMES_PER_CLIP).map(|t| (t < 7) as u8 as f32).collect();
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [1, FRAMES_PER_CLIP]), &device);
        let logits = |x: Tensor<3>| {
            let input = SequenceInput::new(x)
                .and_then(|i| i.with_mask(mask.clone()))
                .expect("clip shape");
            model.forward(&input)
        };
        let bump = |step: usize| {
            let mut values = vec![0f32; FRAMES_PER_CLIP * EMBEDDING_DIM];
            values[step * EMBEDDING_DIM..(step + 1) * EMBEDDING_DIM].fill(5.0);
            x.clone() + Tensor::<3>::from_data(TensorData::new(values, shape), &device)
        };
        let base = logits(x.clone());
        let diff = |other: Tensor<2>| (other - base.clone()).abs().max().into_scalar::<f32>();
        assert_eq!(
            diff(logits(bump(8))),
            0.0,
            "masked step 8 changed the logits"
        );
        assert!(
            diff(logits(bump(6))) > 1e-6,
            "observed step 6 had no effect"
        );
    }
}
