//! `insrec analyze`: which instruments play in each file, and when.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Args, ValueEnum};
use insrec_audio::AudioSource;
use insrec_core::{AnalysisReport, FileReport, Instrument, NUM_CLASSES};
use insrec_pipeline::{AnalyzeOptions, Recognizer};

use super::encoders::EncoderArgs;
use super::inputs::{expand_inputs, files_bar};
use super::{parse_seconds, recognizers};

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Audio files, or directories searched recursively for audio files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Model: `default` (embedded), the folder of a compact model (`insrec train --model
    /// compact`), or with `--encoder` a zoo run folder or `.safetensors` trained on that encoder's
    /// embeddings.
    #[arg(long, default_value = "default")]
    pub model: String,
    #[command(flatten)]
    pub encoding: EncoderArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Instruments shown in the table's ranking and timeline (1–20).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=20))]
    pub top_k: u8,
    /// One decision threshold for every class, instead of the model's tuned per-class thresholds.
    #[arg(long, value_parser = parse_probability)]
    pub threshold: Option<f32>,
    /// Files analysed in parallel (default: number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Longest audio accepted, in seconds (checked against the header, then while decoding); a
    /// longer file is reported as an error and the others still complete. Default 24 hours.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub max_duration_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable summary, ranking and timeline.
    Table,
    /// The analysis report (schema in README).
    Json,
    /// The timeline: one row per file and 0.96 s frame, 20 class columns.
    Csv,
}

fn parse_probability(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not in [0, 1]"))
    }
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let files = expand_inputs(&args.inputs)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores).max(1);
    // VGGish parallelises inside a file when files are not analysed in parallel.
    let encoder_threads = if jobs.min(files.len()) > 1 { 1 } else { cores };
    let started = Instant::now();
    let mut recognizer = match args.encoding.load(encoder_threads)? {
        Some(encoder) => recognizers::load_zoo(&args.model, encoder)?,
        None => recognizers::load(&args.model)?,
    };
    tracing::info!(
        model = recognizer.name,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "model loaded"
    );
    if let Some(t) = args.threshold {
        recognizer.thresholds = [t; NUM_CLASSES];
    }
    if let Some(limit) = args.max_duration_s {
        recognizer.stream.limits.max_duration_s = limit;
    }
    let reports = analyze_all(&recognizer, &files, jobs);

    let mut report = AnalysisReport::new(recognizer.name.clone());
    report.files = reports;
    let failed = report.files.iter().filter(|f| f.error.is_some()).count();
    for file in report.files.iter().filter(|f| f.error.is_some()) {
        eprintln!(
            "insrec: error: {}",
            file.error.as_deref().unwrap_or_default()
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Csv => write_csv(&mut out, &report)?,
        Format::Table => write_table(&mut out, &report, args.top_k as usize)?,
    }
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Analyses every file on `jobs` threads; a failed file becomes a report with its error.
fn analyze_all(recognizer: &Recognizer, files: &[PathBuf], jobs: usize) -> Vec<FileReport> {
    let progress = files_bar(files.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileReport>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let report = recognizer
                        .analyze(&AudioSource::File(path.clone()), &AnalyzeOptions::default())
                        .unwrap_or_else(|e| {
                            FileReport::failed(path.display().to_string(), e.to_string())
                        });
                    progress.set_message(path.display().to_string());
                    progress.inc(1);
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(report);
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(files)
        .map(|(r, path)| {
            r.unwrap_or_else(|| {
                FileReport::failed(path.display().to_string(), "analysis thread failed")
            })
        })
        .collect()
}

fn write_csv(out: &mut impl Write, report: &AnalysisReport) -> std::io::Result<()> {
    writeln!(out, "path,start_s,{}", report.classes.join(","))?;
    for file in &report.files {
        for frame in &file.frames {
            write!(out, "{},{:.2}", csv_field(&file.path), frame.start_s)?;
            for score in frame.scores {
                write!(out, ",{score:.4}")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_table(out: &mut impl Write, report: &AnalysisReport, top_k: usize) -> std::io::Result<()> {
    for file in report.files.iter().filter(|f| f.error.is_none()) {
        writeln!(
            out,
            "{}  ({:.1} s, model {})",
            file.path, file.duration_s, report.model
        )?;
        let present: Vec<&str> = file.present.iter().map(|i| i.name()).collect();
        writeln!(
            out,
            "  present: {}",
            if present.is_empty() {
                "none".to_string()
            } else {
                present.join(", ")
            }
        )?;
        let ranked = file.scores.ranked();
        for (inst, score) in &ranked {
            let bar = "█".repeat((score * 20.0).round() as usize);
            writeln!(out, "  {:<18} {score:>5.3} {bar}", inst.name())?;
        }
        let top: Vec<Instrument> = ranked.iter().take(top_k).map(|(i, _)| *i).collect();
        write!(out, "  {:>8}", "time")?;
        for inst in &top {
            write!(out, " {:>9.9}", inst.name())?;
        }
        writeln!(out)?;
        for frame in &file.frames {
            write!(out, "  {:>7.2}s", frame.start_s)?;
            for inst in &top {
                write!(out, " {:>9.3}", frame.scores[inst.index()])?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    Ok(())
}
