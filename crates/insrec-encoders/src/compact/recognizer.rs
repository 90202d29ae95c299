//! The compact model as the pipeline's [`FrameEncoder`] and [`FrameHead`].

use std::sync::{Arc, Mutex};

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use insrec_audio::StreamOptions;
use insrec_core::NUM_CLASSES;
use insrec_features::{EXAMPLE_FRAMES, EXAMPLE_LEN, MEL_BANDS};
use insrec_pipeline::{FrameEncoder, FrameHead, Recognizer};

use super::file::{ModelDescription, load_model};
use super::model::CompactModel;
use crate::Result;

/// A loaded model shared by the encoder and head stages.
#[derive(Clone)]
struct Shared {
    model: Arc<Mutex<CompactModel>>,
    device: Device,
    dim: usize,
}

impl Shared {
    fn with_model<T>(&self, f: impl FnOnce(&CompactModel) -> T) -> std::result::Result<T, String> {
        let model = self
            .model
            .lock()
            .map_err(|_| "model lock poisoned by an earlier panic".to_owned())?;
        Ok(f(&model))
    }
}

struct CompactFrameEncoder(Shared);
struct CompactFrameHead(Shared);

impl FrameEncoder for CompactFrameEncoder {
    fn dim(&self) -> usize {
        self.0.dim
    }

    fn encode(&self, examples: &[f32]) -> std::result::Result<Vec<f32>, String> {
        if !examples.len().is_multiple_of(EXAMPLE_LEN) {
            return Err(format!("{} values are not whole examples", examples.len()));
        }
        let n = examples.len() / EXAMPLE_LEN;
        let input = Tensor::<3>::from_data(
            TensorData::new(examples.to_vec(), [n, EXAMPLE_FRAMES, MEL_BANDS]),
            &self.0.device,
        );
        let out = self.0.with_model(|m| m.encoder.forward(input))?;
        out.into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))
    }
}

impl FrameHead for CompactFrameHead {
    fn frame_probabilities(
        &self,
        embeddings: &[f32],
        dim: usize,
    ) -> std::result::Result<Vec<[f32; NUM_CLASSES]>, String> {
        if dim != self.0.dim || !embeddings.len().is_multiple_of(dim) {
            return Err(format!(
                "{} embedding values of width {dim} (expected width {})",
                embeddings.len(),
                self.0.dim
            ));
        }
        let n = embeddings.len() / dim;
        let input = Tensor::<3>::from_data(
            TensorData::new(embeddings.to_vec(), [1, n, dim]),
            &self.0.device,
        );
        let probs = self.0.with_model(|m| sigmoid(m.head.forward(input)))?;
        let flat = probs
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        Ok(flat
            .chunks_exact(NUM_CLASSES)
            .map(|c| std::array::from_fn(|j| c[j]))
            .collect())
    }
}

/// A [`Recognizer`] running `description` with `weights` (a burn record) on the CPU.
pub fn recognizer(description: ModelDescription, weights: &[u8]) -> Result<Recognizer> {
    let device = Device::flex();
    let model = load_model(&description, weights, &device)?;
    let shared = Shared {
        model: Arc::new(Mutex::new(model)),
        device,
        dim: description.config.encoder.embedding_dim,
    };
    Ok(Recognizer {
        name: description.name,
        stream: StreamOptions::default(),
        encoder: Box::new(CompactFrameEncoder(shared.clone())),
        head: Box::new(CompactFrameHead(shared)),
        thresholds: description.thresholds,
        half_frame_view: true,
    })
}
