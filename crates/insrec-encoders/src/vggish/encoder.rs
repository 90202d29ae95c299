//! [`VggishEncoder`]: the network plus, optionally, the post-processor, as the pipeline's
//! [`FrameEncoder`].

use std::path::Path;

use burn::tensor::Device;
use insrec_features::EXAMPLE_LEN;
use insrec_pipeline::FrameEncoder;

use super::error::{Result, VggishError};
use super::fast::FastVggish;
use super::network::{EMBEDDING_DIM, Vggish, VggishConfig};
use super::pca::{Pca, Rounding};
use super::weights::load_vggish;

/// Examples per network call: bounds activation memory (about 3 MB per example).
const MAX_BATCH: usize = 16;

/// Range of quantised features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeatureScale {
    /// 0..=255, as OpenMIC-2018's `X`.
    #[default]
    Bytes,
    /// Divided by 255 into [0, 1], as the seed trained its classifiers on `X / 255`.
    Unit,
}

/// What the encoder returns per example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VggishOutput {
    /// The 128-d network embedding.
    Embedding,
    /// PCA, clip and 8-bit quantisation (needs the PCA parameters).
    Quantized {
        rounding: Rounding,
        scale: FeatureScale,
    },
}

impl VggishOutput {
    /// OpenMIC-2018's features: TensorFlow truncation, 0..=255.
    pub const OPENMIC: Self = Self::Quantized {
        rounding: Rounding::Truncate,
        scale: FeatureScale::Bytes,
    };
    /// What the seed's zoo models were trained on: OpenMIC's features divided by 255.
    pub const OPENMIC_UNIT: Self = Self::Quantized {
        rounding: Rounding::Truncate,
        scale: FeatureScale::Unit,
    };
}

/// VGGish on the CPU, splitting each batch over worker threads. Clones share the weights.
#[derive(Debug, Clone)]
pub struct VggishEncoder {
    model: Vggish,
    fast: FastVggish,
    pca: Option<Pca>,
    output: VggishOutput,
    threads: usize,
}

impl VggishEncoder {
    /// Wraps a network (precomputing its fast inference form on `device`); returns embeddings,
    /// on every available core.
    pub fn new(model: Vggish, device: Device) -> Result<Self> {
        Ok(Self {
            fast: FastVggish::new(&model, &device)?,
            model,
            pca: None,
            output: VggishOutput::Embedding,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    /// Loads the network from `weights` and the PCA parameters from `pca`, or from the weight
    /// file itself when it carries them (torchvggish `pproc.*`).
    pub fn load(weights: &Path, pca: Option<&Path>, config: &VggishConfig) -> Result<Self> {
        let device = Device::flex();
        let loaded = load_vggish(weights, config, &device)?;
        let pca = match pca {
            Some(path) => Some(Pca::load(path)?),
            None => loaded.pca,
        };
        Ok(Self {
            pca,
            ..Self::new(loaded.model, device)?
        })
    }

    /// Sets the post-processor.
    pub fn with_pca(mut self, pca: Pca) -> Self {
        self.pca = Some(pca);
        self
    }

    /// Sets what [`FrameEncoder::encode`] returns; quantised output needs the PCA parameters.
    pub fn with_output(mut self, output: VggishOutput) -> Result<Self> {
        if matches!(output, VggishOutput::Quantized { .. }) && self.pca.is_none() {
            return Err(VggishError::MissingPca);
        }
        self.output = output;
        Ok(self)
    }

    /// Worker threads per batch (1 when files are already analysed in parallel).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    pub fn model(&self) -> &Vggish {
        &self.model
    }

    pub fn pca(&self) -> Option<&Pca> {
        self.pca.as_ref()
    }

    /// Network embeddings: `examples` [n, 96, 64] row-major → [n, 128].
    pub fn embed(&self, examples: &[f32]) -> Result<Vec<f32>> {
        if !examples.len().is_multiple_of(EXAMPLE_LEN) {
            return Err(VggishError::BadInput {
                len: examples.len(),
            });
        }
        let n = examples.len() / EXAMPLE_LEN;
        let per_thread = n.div_ceil(self.threads).max(1);
        let chunks: Vec<&[f32]> = examples.chunks(per_thread * EXAMPLE_LEN).collect();
        if chunks.len() <= 1 {
            return self.embed_serial(examples);
        }
        std::thread::scope(|scope| {
            let workers: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || self.embed_serial(chunk)))
                .collect();
            let mut out = Vec::with_capacity(n * EMBEDDING_DIM);
            for worker in workers {
                out.extend(worker.join().map_err(|_| VggishError::WorkerPanicked)??);
            }
            Ok(out)
        })
    }

    /// Quantised features: `examples` [n, 96, 64] → [n, 128] in 0..=255.
    pub fn quantize(&self, examples: &[f32], rounding: Rounding) -> Result<Vec<u8>> {
        let pca = self.pca.as_ref().ok_or(VggishError::MissingPca)?;
        let embeddings: Vec<f64> = self.embed(examples)?.into_iter().map(f64::from).collect();
        Ok(pca.quantize(&embeddings, rounding))
    }

    fn embed_serial(&self, examples: &[f32]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(examples.len() / EXAMPLE_LEN * EMBEDDING_DIM);
        for batch in examples.chunks(MAX_BATCH * EXAMPLE_LEN) {
            out.extend(self.fast.forward(batch)?);
        }
        Ok(out)
    }
}

impl FrameEncoder for VggishEncoder {
    fn dim(&self) -> usize {
        EMBEDDING_DIM
    }

    fn encode(&self, examples: &[f32]) -> std::result::Result<Vec<f32>, String> {
        let features = match self.output {
            VggishOutput::Embedding => self.embed(examples),
            VggishOutput::Quantized { rounding, scale } => {
                self.quantize(examples, rounding).map(|q| {
                    let divisor = match scale {
                        FeatureScale::Bytes => 1.0,
                        FeatureScale::Unit => 255.0,
                    };
                    q.into_iter()
                        .map(|v| (f64::from(v) / divisor) as f32)
                        .collect()
                })
            }
        };
        features.map_err(|e| e.to_string())
    }
}
