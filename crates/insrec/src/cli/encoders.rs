//! `--encoder vggish|DIR`: the frame encoder that turns audio into the embeddings a zoo
//! classifier reads, shared by `insrec train`, `eval`, `bench` and `analyze`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use insrec_audio::StreamOptions;
use insrec_encoders::compact::ModelDescription;
use insrec_encoders::vggish::VggishOutput;
use insrec_train::embed::{Encoder, content_id};

#[derive(Debug, Args)]
pub struct EncoderArgs {
    /// Encoder for audio: `vggish` (OpenMIC-2018's features: VGGish, PCA, quantised, divided by
    /// 255; OpenMIC's front end) or the folder of an exported compact model.
    #[arg(long, value_name = "vggish|DIR")]
    pub encoder: Option<String>,
    /// VGGish weights for `--encoder vggish` (see `insrec embed --help`).
    #[arg(
        long,
        alias = "weights",
        env = "INSREC_VGGISH_WEIGHTS",
        value_name = "FILE"
    )]
    pub vggish_weights: Option<PathBuf>,
    /// VGGish PCA parameters (found beside the weights when not given).
    #[arg(long, alias = "pca", env = "INSREC_VGGISH_PCA", value_name = "FILE")]
    pub vggish_pca: Option<PathBuf>,
}

impl EncoderArgs {
    /// The encoder named by `--encoder`, if any; VGGish runs `threads` worker threads per batch.
    pub fn load(&self, threads: usize) -> anyhow::Result<Option<Encoder>> {
        match self.encoder.as_deref() {
            None => Ok(None),
            Some("vggish") => self.vggish(threads).map(Some),
            Some(dir) => load_compact(Path::new(dir)).map(Some),
        }
    }

    /// VGGish with OpenMIC's post-processing and front end, identified by the hash of its
    /// weights and PCA.
    fn vggish(&self, threads: usize) -> anyhow::Result<Encoder> {
        let weights = self.vggish_weights.as_deref();
        let vggish = super::embed::load_vggish_encoder(weights, self.vggish_pca.as_deref(), true)?
            .with_output(VggishOutput::OPENMIC_UNIT)?
            .with_threads(threads);
        let mut parts = Vec::new();
        if let Some(path) = weights {
            parts.push(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
        }
        parts.push(format!("{:?}", vggish.pca()).into_bytes());
        let id = content_id(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        Ok(
            Encoder::new(Box::new(vggish), format!("vggish-openmic-{id}"))?
                .with_stream(StreamOptions::openmic()),
        )
    }
}

/// An exported compact model folder as the encoder, identified by the hash of its files.
pub fn load_compact(dir: &Path) -> anyhow::Result<Encoder> {
    let (description, weights) = insrec_encoders::compact::read_dir(dir)
        .with_context(|| format!("loading the encoder {}", dir.display()))?;
    compact_encoder(description, &weights)
        .with_context(|| format!("building the encoder {}", dir.display()))
}

/// The encoder of a compact model read from its folder (`description` and `weights`).
pub fn compact_encoder(description: ModelDescription, weights: &[u8]) -> anyhow::Result<Encoder> {
    let id = content_id(&[
        serde_json::to_string(&description.config)?.as_bytes(),
        weights,
    ]);
    let recognizer = insrec_encoders::compact::recognizer(description, weights)?;
    Ok(Encoder::new(recognizer.encoder, format!("compact-{id}"))?)
}
