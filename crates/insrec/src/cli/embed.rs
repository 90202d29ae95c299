//! `insrec embed`: audio files → VGGish features `[N, 10, 128]` laid out like OpenMIC-2018's `X`,
//! with a `.keys.tsv` sidecar naming each row.
//!
//! Each file's 0.96 s examples are grouped into clips of 10 (a 10-s OpenMIC clip is exactly one
//! row); a short last clip is zero-padded and its real length is in the sidecar.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use insrec_audio::{AudioSource, AudioStream, StreamOptions};
use insrec_core::FRAMES_PER_CLIP;
use insrec_encoders::vggish::{EMBEDDING_DIM, Pca, Rounding, VggishConfig, VggishEncoder};
use insrec_features::{Examples, LogMelFrontend, clips};

use super::inputs::{expand_inputs, files_bar};

/// Examples encoded per network call while a file streams in.
const ENCODE_BATCH: usize = 64;
/// Seconds per example.
const EXAMPLE_SECONDS: f64 = 0.96;
/// PCA files looked for beside the weights when `--pca` is not given.
const PCA_FILE_NAMES: [&str; 2] = ["vggish_pca_params-970ea276.pth", "vggish_pca_params.npz"];

const WEIGHTS_HELP: &str = "\
VGGish needs its weight files, which InsRec does not ship:
  vggish-10086976.pth             https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth
  vggish_pca_params-970ea276.pth  https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish_pca_params-970ea276.pth
Point InsRec at them with --weights PATH [--pca PATH], or set INSREC_VGGISH_WEIGHTS (and
INSREC_VGGISH_PCA; a PCA file named as above beside the weights is found on its own).
torchaudio's VGGISH state dict and .safetensors files with either naming are read too.";

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Audio files, or directories searched recursively for audio files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Frame encoder.
    #[arg(long, value_enum, default_value_t = EncoderArg::Vggish)]
    pub encoder: EncoderArg,
    /// VGGish weights: torchvggish `vggish-10086976.pth`, a torchaudio state dict, or safetensors.
    #[arg(long, env = "INSREC_VGGISH_WEIGHTS")]
    pub weights: Option<PathBuf>,
    /// PCA parameters: torchvggish `vggish_pca_params-970ea276.pth` or TF `vggish_pca_params.npz`.
    #[arg(long, env = "INSREC_VGGISH_PCA")]
    pub pca: Option<PathBuf>,
    /// Output `.npy`: uint8 `[N, 10, 128]` (float32 with `--embeddings`); keys go beside it in
    /// `<name>.keys.tsv`.
    #[arg(long)]
    pub out: PathBuf,
    /// OpenMIC-2018's front end: legacy resampy and peak normalisation.
    #[arg(long)]
    pub openmic: bool,
    /// Quantisation rounding: `truncate` (TensorFlow, OpenMIC's X) or `half-even` (torchvggish).
    #[arg(long, value_enum, default_value_t = RoundingArg::Truncate)]
    pub rounding: RoundingArg,
    /// Write the raw 128-d network embeddings (float32) instead of PCA'd, quantised features.
    #[arg(long, conflicts_with = "rounding")]
    pub embeddings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncoderArg {
    /// VGGish (AudioSet), the encoder of OpenMIC-2018's features.
    Vggish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoundingArg {
    /// Truncation to uint8, as TensorFlow's post-processor and OpenMIC-2018.
    Truncate,
    /// Round half to even, as torchvggish.
    HalfEven,
}

impl From<RoundingArg> for Rounding {
    fn from(arg: RoundingArg) -> Self {
        match arg {
            RoundingArg::Truncate => Rounding::Truncate,
            RoundingArg::HalfEven => Rounding::HalfEven,
        }
    }
}

pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let EncoderArg::Vggish = args.encoder;
    let started = Instant::now();
    let encoder = load_vggish_encoder(
        args.weights.as_deref(),
        args.pca.as_deref(),
        !args.embeddings,
    )?;
    let files = expand_inputs(&args.inputs)?;
    let stream = if args.openmic {
        StreamOptions::openmic()
    } else {
        StreamOptions::default()
    };
    let mut writer = FeatureWriter::create(&args.out, args.embeddings)?;
    let progress = files_bar(files.len());
    let mut failed = 0usize;
    for path in &files {
        progress.set_message(path.display().to_string());
        match embed_file(
            &encoder,
            path,
            stream,
            args.embeddings,
            args.rounding.into(),
        ) {
            Ok(rows) => writer
                .push_file(path, &rows)
                .with_context(|| format!("writing {}", args.out.display()))?,
            Err(e) => {
                failed += 1;
                progress.suspend(|| eprintln!("insrec: error: {}: {e:#}", path.display()));
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    if writer.clips == 0 {
        writer.abandon();
        bail!(
            "no features written: none of the {} file(s) could be embedded",
            files.len()
        );
    }
    let (clips, keys) = (writer.clips, writer.keys_path.clone());
    writer.finish()?;
    println!(
        "{} file(s) → {clips} clips [{clips}, {FRAMES_PER_CLIP}, {EMBEDDING_DIM}] → {} (keys {}) in {:.1} s{}",
        files.len() - failed,
        args.out.display(),
        keys.display(),
        started.elapsed().as_secs_f64(),
        if failed > 0 {
            format!("; {failed} failed")
        } else {
            String::new()
        }
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The VGGish encoder from `--weights`/`INSREC_VGGISH_WEIGHTS` and `--pca`/`INSREC_VGGISH_PCA`.
/// With `need_pca`, the PCA parameters are also looked for in the weight file and beside it;
/// their absence is an error. Shared with `analyze --encoder vggish`.
pub(super) fn load_vggish_encoder(
    weights: Option<&Path>,
    pca: Option<&Path>,
    need_pca: bool,
) -> anyhow::Result<VggishEncoder> {
    let Some(weights) = weights else {
        bail!("no VGGish weights given.\n{WEIGHTS_HELP}");
    };
    if !weights.is_file() {
        bail!(
            "VGGish weights {} not found (from --weights or INSREC_VGGISH_WEIGHTS).\n{WEIGHTS_HELP}",
            weights.display()
        );
    }
    let encoder = VggishEncoder::load(weights, pca, &VggishConfig::new())
        .with_context(|| format!("loading VGGish from {}", weights.display()))?;
    if !need_pca || encoder.pca().is_some() {
        return Ok(encoder);
    }
    let sibling = weights
        .parent()
        .into_iter()
        .flat_map(|dir| PCA_FILE_NAMES.map(|name| dir.join(name)))
        .find(|p| p.is_file());
    let Some(pca_path) = sibling else {
        bail!(
            "no VGGish PCA parameters: pass --pca PATH (or set INSREC_VGGISH_PCA), or use \
             `insrec embed --embeddings` for raw embeddings.\n{WEIGHTS_HELP}"
        );
    };
    let pca = Pca::load(&pca_path)
        .with_context(|| format!("loading VGGish PCA parameters from {}", pca_path.display()))?;
    Ok(encoder.with_pca(pca))
}

/// One file → `[examples, 128]` features (quantised, or raw embeddings), as f32.
fn embed_file(
    encoder: &VggishEncoder,
    path: &Path,
    options: StreamOptions,
    raw: bool,
    rounding: Rounding,
) -> anyhow::Result<Vec<f32>> {
    let mut stream = AudioStream::open(&AudioSource::File(path.to_owned()), options)?;
    let mut frontend = LogMelFrontend::new();
    let (mut block, mut examples, mut rows) = (Vec::new(), Examples::default(), Vec::new());
    loop {
        let more = stream.next_block(&mut block)?;
        frontend.push(&block, &mut examples);
        block.clear();
        if examples.count() >= ENCODE_BATCH || (!more && examples.count() > 0) {
            if raw {
                rows.extend(encoder.embed(&examples.data)?);
            } else {
                let q = encoder.quantize(&examples.data, rounding)?;
                rows.extend(q.into_iter().map(f32::from));
            }
            examples.data.clear();
        }
        if !more {
            break;
        }
    }
    if rows.is_empty() {
        bail!(
            "too short: {:.3} s of audio, one example needs at least 0.975 s",
            stream.decoded_seconds()
        );
    }
    Ok(rows)
}

/// Streams `[N, 10, 128]` rows into a `.npy` whose first dimension is written at the end, and the
/// keys into `<stem>.keys.tsv`. Both go to temporary names and are renamed by `finish`.
struct FeatureWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
    keys_path: PathBuf,
    keys_tmp: PathBuf,
    keys: BufWriter<File>,
    float: bool,
    clips: usize,
}

/// Header length (magic + version + length + dict), a multiple of 64 as NumPy writes.
const NPY_HEADER_LEN: usize = 128;

impl FeatureWriter {
    fn create(path: &Path, float: bool) -> anyhow::Result<Self> {
        let tmp = path.with_extension("npy.partial");
        let keys_path = path.with_extension("keys.tsv");
        let keys_tmp = path.with_extension("keys.tsv.partial");
        let open = |p: &Path| {
            File::create(p)
                .map(BufWriter::new)
                .with_context(|| format!("cannot create {}", p.display()))
        };
        let mut w = Self {
            path: path.to_owned(),
            file: open(&tmp)?,
            tmp,
            keys: open(&keys_tmp)?,
            keys_path,
            keys_tmp,
            float,
            clips: 0,
        };
        w.file.write_all(&npy_header(float, 0))?;
        writeln!(w.keys, "sample_key\tfile\tstart_s\tframes")?;
        Ok(w)
    }

    /// Appends one file's rows `[n, 128]` as `ceil(n / 10)` clips.
    fn push_file(&mut self, source: &Path, rows: &[f32]) -> std::io::Result<()> {
        let stem = source.file_stem().map_or_else(
            || source.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let file_clips = clips(rows, EMBEDDING_DIM);
        let single = file_clips.len() == 1;
        for clip in &file_clips {
            let start_s = clip.first_frame as f64 * EXAMPLE_SECONDS;
            let key = if single {
                stem.clone()
            } else {
                format!("{stem}_{}", clip.first_frame * 960)
            };
            writeln!(
                self.keys,
                "{key}\t{}\t{start_s:.2}\t{}",
                source.display(),
                clip.real_frames()
            )?;
            if self.float {
                for v in &clip.data {
                    self.file.write_all(&v.to_le_bytes())?;
                }
            } else {
                let bytes: Vec<u8> = clip.data.iter().map(|&v| v as u8).collect();
                self.file.write_all(&bytes)?;
            }
            self.clips += 1;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        let context = || format!("writing {}", self.path.display());
        self.file.seek(SeekFrom::Start(0)).with_context(context)?;
        self.file
            .write_all(&npy_header(self.float, self.clips))
            .with_context(context)?;
        self.file.flush().with_context(context)?;
        self.keys.flush().with_context(context)?;
        std::fs::rename(&self.tmp, &self.path).with_context(context)?;
        std::fs::rename(&self.keys_tmp, &self.keys_path).with_context(context)?;
        Ok(())
    }

    fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
        let _ = std::fs::remove_file(&self.keys_tmp);
    }
}

fn npy_header(float: bool, clips: usize) -> Vec<u8> {
    let descr = if float { "<f4" } else { "|u1" };
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({clips}, {FRAMES_PER_CLIP}, {EMBEDDING_DIM}), }}"
    );
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&((NPY_HEADER_LEN - 10) as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.resize(NPY_HEADER_LEN - 1, b' ');
    header.push(b'\n');
    header
}
