//! `insrec features`: audio file → VGGish log-mel examples `[N, 96, 64]` as `.npy`.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use insrec_audio::{AudioSource, AudioStream, ResamplerKind, StreamOptions};
use insrec_features::{EXAMPLE_FRAMES, Examples, LogMelFrontend, MEL_BANDS};

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Audio file (wav, mp3, ogg, opus, flac, m4a/aac, alac, aiff, webm/mkv).
    pub file: PathBuf,
    /// Write the examples here as float32 `.npy` `[N, 96, 64]`; without it only the summary is printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resampling algorithm.
    #[arg(long, value_enum, default_value_t = ResamplerArg::Fast)]
    pub resampler: ResamplerArg,
    /// Divide by the peak |sample| before resampling, as OpenMIC's extractor did.
    #[arg(long)]
    pub normalize: bool,
    /// OpenMIC-2018's front end: `--resampler resampy-legacy --normalize`.
    #[arg(long)]
    pub openmic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResamplerArg {
    /// rubato FFT resampler (default).
    Fast,
    /// resampy ≤ 0.2.2 kaiser_best, as used for OpenMIC-2018's features.
    ResampyLegacy,
}

impl FeaturesArgs {
    fn stream_options(&self) -> StreamOptions {
        if self.openmic {
            return StreamOptions::openmic();
        }
        StreamOptions {
            resampler: match self.resampler {
                ResamplerArg::Fast => ResamplerKind::Fast,
                ResamplerArg::ResampyLegacy => ResamplerKind::ResampyLegacy,
            },
            peak_normalize: self.normalize,
            ..StreamOptions::default()
        }
    }
}

pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut stream =
        AudioStream::open(&AudioSource::File(args.file.clone()), args.stream_options())?
            .decode_ahead();
    let info = stream.info().clone();
    let mut writer = args.out.as_deref().map(NpyF32Writer::create).transpose()?;
    let mut frontend = LogMelFrontend::new();
    let (mut block, mut examples, mut count) = (Vec::new(), Examples::default(), 0usize);
    while stream.next_block(&mut block)? {
        frontend.push(&block, &mut examples);
        count += examples.count();
        if let Some(w) = writer.as_mut() {
            w.write(&examples.data)
                .with_context(|| format!("writing {}", w.path.display()))?;
        }
        block.clear();
        examples.data.clear();
    }
    let duration_s = stream.decoded_seconds();
    if count == 0 {
        if let Some(w) = writer {
            w.abandon();
        }
        bail!(
            "{}: too short: {duration_s:.3} s of audio, one example needs at least 0.975 s",
            args.file.display()
        );
    }
    if let Some(w) = writer {
        w.finish(&[count, EXAMPLE_FRAMES, MEL_BANDS])?;
    }
    println!(
        "{}: {duration_s:.2} s, {} Hz, {} ch, {} → {count} examples{} in {:.3} s",
        args.file.display(),
        info.sample_rate,
        info.channels,
        info.codec,
        args.out
            .as_ref()
            .map(|p| format!(" → {}", p.display()))
            .unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Streams a float32 C-order `.npy` whose first dimension is only known at the end: the header
/// reserves room for any shape and is rewritten by `finish`. Written to a temporary name and
/// renamed, so a failed run never leaves a partial file under the requested name.
struct NpyF32Writer {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
}

/// Header length (magic + version + length + dict), a multiple of 64 as NumPy writes.
const NPY_HEADER_LEN: usize = 128;

impl NpyF32Writer {
    fn create(path: &Path) -> anyhow::Result<Self> {
        let tmp = path.with_extension("npy.partial");
        let file =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = Self {
            path: path.to_path_buf(),
            tmp,
            file: BufWriter::new(file),
        };
        w.file
            .write_all(&npy_header(&[0, EXAMPLE_FRAMES, MEL_BANDS]))?;
        Ok(w)
    }

    fn write(&mut self, values: &[f32]) -> std::io::Result<()> {
        for v in values {
            self.file.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    fn finish(mut self, shape: &[usize]) -> anyhow::Result<()> {
        let context = || format!("writing {}", self.path.display());
        self.file.seek(SeekFrom::Start(0)).with_context(context)?;
        self.file
            .write_all(&npy_header(shape))
            .with_context(context)?;
        self.file.flush().with_context(context)?;
        std::fs::rename(&self.tmp, &self.path).with_context(context)?;
        Ok(())
    }

    fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
        dims.join(", ")
    );
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend_from_slice(&((NPY_HEADER_LEN - 10) as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.resize(NPY_HEADER_LEN - 1, b' ');
    header.push(b'\n');
    header
}
