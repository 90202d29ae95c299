//! mTAN (models.md §2.24): multi-time attention from the 10 observed times (values and mask) to
//! fixed reference points, a bidirectional GRU to a Gaussian latent path, `k_iwae` random
//! samples of it, each classified by a GRU and an MLP, logits averaged over the samples.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use insrec_core::{EMBEDDING_DIM, NUM_CLASSES};
use serde::{Deserialize, Serialize};

use crate::config::{ZooConfig, check_heads, check_positive};
use crate::error::Result;
use crate::layers::gru::{GRU_KEY_REMAPPING, Gru};
use crate::layers::mlp::{ReluMlp, relu_mlp, relu_mlp_forward};
use crate::layers::ops::time_marks;
use crate::layers::random::DrawSource;
use crate::layers::time_attention::{MultiTimeAttention, learned_time_embedding, linspace};
use crate::model::{SequenceInput, ZooModel};

/// Latent width per reference point (`latent_dim`, hard-coded upstream).
const LATENT_DIM: usize = 16;
/// Encoder GRU and classifier GRU width (`rec_hidden`, hard-coded upstream).
const REC_HIDDEN: usize = 64;
/// Decoder GRU width (`gen_hidden`, hard-coded upstream).
const GEN_HIDDEN: usize = 50;
/// Width of the learned time embedding (`embed_time`, hard-coded upstream).
const EMBED_TIME: usize = 128;
/// Latent samples per clip (`k_iwae`, hard-coded upstream).
const K_IWAE: usize = 8;
/// Hidden width of `hiddens_to_z0` and `z0_to_obs`.
const BRIDGE_HIDDEN: usize = 50;
/// Hidden width of the classifier MLP.
const CLASSIFIER_HIDDEN: usize = 300;

/// Hyper-parameters of [`MTan`] (PyOmniTS names, production defaults; the widths are
/// hard-coded upstream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MTanConfig {
    /// Heads of both multi-time attentions; must divide the time embedding width 128.
    pub n_heads: usize,
    /// Reference points `linspace(0, 1, R)` the encoder attends from.
    pub mtan_num_ref_points: usize,
}

impl Default for MTanConfig {
    fn default() -> Self {
        Self {
            n_heads: 8,
            mtan_num_ref_points: 8,
        }
    }
}

impl ZooConfig for MTanConfig {
    type Model = MTan;
    const NAME: &'static str = "mTAN";

    fn validate(&self) -> Result<()> {
        check_positive::<Self>(&[("mtan_num_ref_points", self.mtan_num_ref_points)])?;
        check_heads::<Self>(EMBED_TIME, self.n_heads)
    }

    fn init(&self, device: &Device) -> Result<MTan> {
        self.validate()?;
        let time_embedding = || {
            (
                LinearConfig::new(1, EMBED_TIME - 1).init(device),
                LinearConfig::new(1, 1).init(device),
            )
        };
        let (enc_periodic, enc_linear) = time_embedding();
        let (dec_periodic, dec_linear) = time_embedding();
        Ok(MTan {
            enc: Encoder {
                att: MultiTimeAttention::new(
                    2 * EMBEDDING_DIM,
                    REC_HIDDEN,
                    EMBED_TIME,
                    self.n_heads,
                    device,
                ),
                gru_rnn: Gru::new(REC_HIDDEN, REC_HIDDEN, true, device),
                hiddens_to_z0: relu_mlp(&[2 * REC_HIDDEN, BRIDGE_HIDDEN, 2 * LATENT_DIM], device),
                periodic: enc_periodic,
                linear: enc_linear,
            },
            dec: Decoder {
                att: MultiTimeAttention::new(
                    2 * GEN_HIDDEN,
                    2 * GEN_HIDDEN,
                    EMBED_TIME,
                    self.n_heads,
                    device,
                ),
                gru_rnn: Gru::new(LATENT_DIM, GEN_HIDDEN, true, device),
                z0_to_obs: relu_mlp(&[2 * GEN_HIDDEN, BRIDGE_HIDDEN, EMBEDDING_DIM], device),
                periodic: dec_periodic,
                linear: dec_linear,
            },
            classifier: Classifier {
                gru_rnn: Gru::new(LATENT_DIM, REC_HIDDEN, false, device),
                classifier: relu_mlp(
                    &[
                        REC_HIDDEN,
                        CLASSIFIER_HIDDEN,
                        CLASSIFIER_HIDDEN,
                        NUM_CLASSES,
                    ],
                    device,
                ),
            },
            num_ref_points: self.mtan_num_ref_points,
        })
    }
}

/// `enc_mtan_rnn`: time attention from the reference points, bidirectional GRU, `hiddens_to_z0`.
#[derive(Module, Debug)]
pub struct Encoder {
    pub att: MultiTimeAttention,
    pub gru_rnn: Gru,
    /// `Linear(128 → 50), ReLU, Linear(50 → 2·16)`: mean and log-variance per reference point.
    pub hiddens_to_z0: ReluMlp,
    pub periodic: Linear,
    pub linear: Linear,
}

impl Encoder {
    /// # Shapes
    /// - value: `[batch, 10, 256]` (embeddings and mask), time: `[batch, 10, 1]`,
    ///   reference: `[1, R, 1]`, mask: `[batch, 10]`
    /// - output: `[batch, R, 2·16]`
    fn forward(
        &self,
        value: Tensor<3>,
        time: Tensor<3>,
        reference: Tensor<3>,
        mask: Tensor<2>,
    ) -> Tensor<3> {
        let key = learned_time_embedding(&self.linear, &self.periodic, time);
        let query = learned_time_embedding(&self.linear, &self.periodic, reference);
        let attended = self.att.forward(query, key, value, Some(mask)); // [batch, R, 64]
        let (hidden, _) = self.gru_rnn.forward(attended); // [batch, R, 128]
        relu_mlp_forward(&self.hiddens_to_z0, hidden)
    }
}

/// `dec_mtan_rnn`: reconstructs the input from the latent path. Its output never reaches the
/// logits (it only feeds the training loss upstream), so it is kept for the checkpoint only.
#[derive(Module, Debug)]
pub struct Decoder {
    pub att: MultiTimeAttention,
    pub gru_rnn: Gru,
    pub z0_to_obs: ReluMlp,
    pub periodic: Linear,
    pub linear: Linear,
}

/// `create_classifier`: GRU over the reference points, MLP on its final state.
#[derive(Module, Debug)]
pub struct Classifier {
    pub gru_rnn: Gru,
    /// `Linear(64 → 300), ReLU, Linear(300 → 300), ReLU, Linear(300 → 20)`.
    pub classifier: ReluMlp,
}

/// PyOmniTS `mTAN` in classification mode.
#[derive(Module, Debug)]
pub struct MTan {
    pub enc: Encoder,
    pub dec: Decoder,
    pub classifier: Classifier,
    pub num_ref_points: usize,
}

impl ZooModel for MTan {
    /// Encoder on `[x, M]` at times `t/10` → `z = ε·exp(logσ²/2) + μ` for `k_iwae` draws `ε`
    /// (replayed from `input.draws` when given) → classifier per sample → mean over samples.
    fn forward(&self, input: &SequenceInput) -> Tensor<2> {
        let [batch, length, features] = input.x.dims();
        let device = input.device();
        let mask = input.observed_mask(); // [batch, 10]
        let observed = mask
            .clone()
            .unsqueeze_dim::<3>(2)
            .expand([batch, length, features]);
        let value = Tensor::cat(vec![input.x.clone(), observed], 2); // [batch, 10, 256]
        let reference = linspace(0.0, 1.0, self.num_ref_points, &device).unsqueeze_dim::<3>(2);
        let out = self
            .enc
            .forward(value, time_marks(batch, length, &device), reference, mask); // [batch, R, 32]
        let refs = self.num_ref_points;
        let mean = out.clone().narrow(2, 0, LATENT_DIM).unsqueeze::<4>();
        let logvar = out.narrow(2, LATENT_DIM, LATENT_DIM).unsqueeze::<4>();
        let epsilon = DrawSource::new(input).randn([K_IWAE, batch, refs, LATENT_DIM], &device);
        let z0 = (epsilon * logvar.mul_scalar(0.5).exp() + mean).reshape([
            K_IWAE * batch,
            refs,
            LATENT_DIM,
        ]); // sample-major
        let (_, last) = self.classifier.gru_rnn.forward(z0); // [1, K·batch, 64]
        let logits = relu_mlp_forward(
            &self.classifier.classifier,
            last.reshape([K_IWAE * batch, REC_HIDDEN]),
        );
        logits
            .reshape([K_IWAE, batch, NUM_CLASSES])
            .mean_dim(0)
            .reshape([batch, NUM_CLASSES])
    }

    fn key_remapping() -> &'static [(&'static str, &'static str)] {
        &GRU_KEY_REMAPPING
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insrec_core::FRAMES_PER_CLIP;

    /// Without recorded draws, two calls sample different latents and so give different logits;
    /// with the same recorded draws they agree exactly.
    #[test]
    fn logits_follow_the_draws() {
        let device = Device::flex();
        let model = MTanConfig::default().init(&device).expect("builds");
        let x = Tensor::<3>::random(
            [2, FRAMES_PER_CLIP, EMBEDDING_DIM],
            burn::tensor::Distribution::Default,
            &device,
        );
        let fresh = SequenceInput::new(x).expect("clip shape");
        let diff = |a: Tensor<2>, b: Tensor<2>| (a - b).abs().max().into_scalar::<f32>();
        assert!(diff(model.forward(&fresh), model.forward(&fresh)) > 0.0);
        let epsilon = Tensor::<4>::random(
            [K_IWAE, 2, 8, LATENT_DIM],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let replayed = fresh.with_draws(vec![epsilon.into_data()]);
        assert_eq!(
            diff(model.forward(&replayed), model.forward(&replayed)),
            0.0
        );
    }
}
