//! `insrec synth`: render a labelled training corpus from SoundFonts and drum kits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use insrec_synth::{CorpusArgs, Generator, Manifest, SourcePaths};

/// Render N ten-second multi-instrument clips with clip and frame labels.
///
/// Output: `<out>/clips/<id>.wav` (16 kHz mono), `<out>/clips/<id>.json`, `<out>/labels.csv`,
/// `<out>/frame_labels.npy` ([clips, 10, 20]) and `<out>/manifest.json`. Re-running the same
/// command resumes an interrupted run; the same arguments always give the same corpus.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// SoundFont 2 files for training clips (melodic presets and their GM drum kits).
    #[arg(long = "soundfont", value_name = "SF2", num_args = 1.., required = true)]
    soundfonts: Vec<PathBuf>,
    /// Drum kits for training clips: a Hydrogen kit folder, a folder of kits, or a drum-kit .sf2.
    #[arg(long = "drumkit", value_name = "PATH", num_args = 1..)]
    drumkits: Vec<PathBuf>,
    /// SoundFonts used only for the test split (never heard in training).
    #[arg(long = "holdout-soundfont", value_name = "SF2", num_args = 1..)]
    holdout_soundfonts: Vec<PathBuf>,
    /// Drum kits used only for the test split.
    #[arg(long = "holdout-drumkit", value_name = "PATH", num_args = 1..)]
    holdout_drumkits: Vec<PathBuf>,
    /// Number of clips.
    #[arg(long, value_name = "N")]
    clips: u64,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Random seed; the same seed and sources give a byte-identical corpus.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "J")]
    jobs: Option<usize>,
    /// Share of clips in the validation split (rendered from the training sources).
    #[arg(long, default_value_t = 0.1)]
    valid_fraction: f64,
    /// Share of clips in the test split (default 0.1 with held-out sources, else 0).
    #[arg(long)]
    test_fraction: Option<f64>,
}

/// Renders the corpus; exit code 1 when some clips failed.
pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    let has_holdout = !args.holdout_soundfonts.is_empty() || !args.holdout_drumkits.is_empty();
    let corpus_args = CorpusArgs {
        sources: SourcePaths {
            soundfonts: args.soundfonts,
            drumkits: args.drumkits,
            holdout_soundfonts: args.holdout_soundfonts,
            holdout_drumkits: args.holdout_drumkits,
        },
        clips: args.clips,
        seed: args.seed,
        valid_fraction: args.valid_fraction,
        test_fraction: args
            .test_fraction
            .unwrap_or(if has_holdout { 0.1 } else { 0.0 }),
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    eprintln!("insrec synth: loading sources");
    let generator = Generator::new(corpus_args, &args.out)
        .with_context(|| format!("preparing {}", args.out.display()))?;
    let pending = generator.pending().len() as u64;
    let bar = ProgressBar::new(pending);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} clips, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let summary = generator
        .run(jobs, &|| bar.inc(1))
        .context("rendering the corpus")?;
    bar.finish_and_clear();

    let rtf = summary.real_time_factor();
    println!(
        "rendered {} clips ({:.0} s of audio) in {:.1} s with {jobs} jobs: {:.0}x real time, {:.0}x per job; {} already done, {} failed",
        summary.rendered,
        summary.rendered as f64 * 10.0,
        summary.elapsed.as_secs_f64(),
        rtf,
        rtf / jobs as f64,
        summary.skipped,
        summary.failed.len(),
    );
    let manifest = Manifest::read(&args.out).context("reading the manifest")?;
    for (split, stats) in &manifest.statistics {
        let counts: Vec<String> = stats
            .clips_per_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!(
            "{}: {} clips, {:.2} labels/clip; {}",
            split.name(),
            stats.clips,
            stats.mean_labels_per_clip,
            counts.join(", ")
        );
    }
    for (index, reason) in &summary.failed {
        eprintln!(
            "insrec synth: clip {}: {reason}",
            insrec_synth::clip_id(*index)
        );
    }
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
