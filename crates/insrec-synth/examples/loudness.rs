//! Compares every corpus preset as rustysynth renders it for the corpus (modulators baked in) with
//! Debian's `fluidsynth` CLI, at 16 velocities and 16 kHz: the level difference (outliers against
//! the preset's median, see `insrec_synth::loudness`) and the spectral difference (RMS over the 64
//! VGGish mel bands of the note's mean log-mel spectrum, its level removed, bands within 50 dB of
//! the note's loudest).
//!
//! ```text
//! apt-get install fluidsynth
//! cargo run --release -p insrec-synth --example loudness -- FONT.sf2... [--table out.tsv] [--preset BANK:PROGRAM]... [--every-velocity] [--raw]
//! ```
//!
//! `--preset` limits the probe to some presets; `--every-velocity` probes velocities 16–127 one by
//! one; `--raw` reads the fonts without baking their modulators (rustysynth as it comes).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use insrec_features::{LOG_OFFSET, LogMelFrontend};
use insrec_synth::loudness::OUTLIER_DB;
use insrec_synth::modulators::baked_soundfont;
use insrec_synth::timbre::{TIMBRES, Timbre};
use rustysynth::{MidiFile, MidiFileSequencer, SoundFont, Synthesizer, SynthesizerSettings};

const RATE: u32 = 16_000;
/// Spectral differences above this (dB RMS over the bands) are listed.
const SPECTRUM_DB: f64 = 3.0;
/// MIDI ticks per second at the default tempo (120 bpm, 480 ticks per quarter).
const TICKS_PER_S: u32 = 960;
const VELOCITIES: [u8; 16] = [
    16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 100, 104, 110, 118, 127,
];

struct Slot {
    timbre: &'static Timbre,
    velocity: u8,
    key: u8,
}

fn vlq(mut v: u32, out: &mut Vec<u8>) {
    let mut bytes = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        bytes.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.extend(bytes.iter().rev());
}

/// A format-0 MIDI file: one note per second, bank and program set 0.2 s before each note.
fn midi_file(slots: &[Slot]) -> Vec<u8> {
    let mut track = Vec::new();
    let mut last = 0;
    let mut event = |tick: u32, bytes: &[u8], track: &mut Vec<u8>| {
        vlq(tick - last, track);
        track.extend_from_slice(bytes);
        last = tick;
    };
    for (i, s) in slots.iter().enumerate() {
        let t0 = i as u32 * TICKS_PER_S;
        event(t0, &[0xB0, 0x00, s.timbre.bank as u8], &mut track);
        event(t0 + 1, &[0xC0, s.timbre.program], &mut track);
        event(t0 + TICKS_PER_S / 5, &[0x90, s.key, s.velocity], &mut track);
        event(t0 + TICKS_PER_S * 7 / 10, &[0x80, s.key, 0], &mut track);
    }
    event(
        slots.len() as u32 * TICKS_PER_S + TICKS_PER_S,
        &[0xFF, 0x2F, 0x00],
        &mut track,
    );
    let mut out = b"MThd".to_vec();
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0x01, 0xE0]);
    out.extend_from_slice(b"MTrk");
    out.extend_from_slice(&(track.len() as u32).to_be_bytes());
    out.extend(track);
    out
}

fn rusty(font: &Arc<SoundFont>, midi: &[u8], seconds: usize) -> Vec<f32> {
    let mut settings = SynthesizerSettings::new(RATE as i32);
    settings.enable_reverb_and_chorus = false;
    let synth = Synthesizer::new(font, &settings).expect("synthesizer");
    let mut seq = MidiFileSequencer::new(synth);
    let file = Arc::new(MidiFile::new(&mut &midi[..]).expect("midi"));
    seq.play(&file, false);
    let n = seconds * RATE as usize;
    let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
    seq.render(&mut l, &mut r);
    l.iter().zip(&r).map(|(a, b)| 0.5 * (a + b)).collect()
}

fn fluid(font: &Path, midi: &[u8], dir: &Path) -> Vec<f32> {
    let mid = dir.join("probe.mid");
    let wav = dir.join("probe.wav");
    std::fs::write(&mid, midi).expect("write midi");
    let status = Command::new("fluidsynth")
        .args([
            "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", "16000", "-T", "wav", "-F",
        ])
        .arg(&wav)
        .arg(font)
        .arg(&mid)
        .status()
        .expect("run fluidsynth (apt-get install fluidsynth)");
    assert!(status.success(), "fluidsynth failed");
    let mut reader =
        hound::WavReader::new(BufReader::new(File::open(&wav).expect("fluidsynth output")))
            .expect("wav");
    let channels = reader.spec().channels as usize;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect();
    samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect()
}

/// The samples of a slot's note: 0.2 s to 0.8 s after the slot starts (or what the render has of it).
fn note(x: &[f32], slot: usize) -> &[f32] {
    let a = slot * RATE as usize + RATE as usize / 5;
    let b = (a + RATE as usize * 6 / 10).min(x.len());
    x.get(a..b).unwrap_or(&[])
}

fn level_db(x: &[f32], slot: usize) -> f64 {
    let note = note(x, slot);
    let p = note
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / note.len().max(1) as f64;
    10.0 * p.max(1e-14).log10()
}

/// The note's mean mel spectrum (dB per band), over the same span as [`level_db`].
fn mel_db(x: &[f32], slot: usize) -> Vec<f64> {
    let samples: Vec<f64> = note(x, slot).iter().map(|&s| f64::from(s)).collect();
    let mut sum = vec![0.0; 64];
    let mut frames = 0;
    LogMelFrontend::new().push_frames(&samples, |frame| {
        for (s, v) in sum.iter_mut().zip(frame) {
            *s += (v.exp() - LOG_OFFSET).max(1e-9);
        }
        frames += 1;
    });
    sum.iter()
        .map(|s| 20.0 * (s / f64::from(frames.max(1))).max(1e-9).log10())
        .collect()
}

/// RMS difference of two mel spectra over the bands within 50 dB of the reference's loudest, with
/// the mean difference (the level) removed.
fn spectrum_rms(ours: &[f64], reference: &[f64]) -> f64 {
    let peak = reference.iter().copied().fold(f64::MIN, f64::max);
    let d: Vec<f64> = ours
        .iter()
        .zip(reference)
        .filter(|(_, r)| **r > peak - 50.0)
        .map(|(o, r)| o - r)
        .collect();
    let mean = d.iter().sum::<f64>() / d.len().max(1) as f64;
    (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len().max(1) as f64).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

fn main() {
    let mut fonts = Vec::new();
    let mut table: Option<PathBuf> = None;
    let mut presets: Vec<(u16, u8)> = Vec::new();
    let mut velocities = VELOCITIES.to_vec();
    let mut raw = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--table" => table = args.next().map(PathBuf::from),
            "--every-velocity" => velocities = (16..=127).collect(),
            "--raw" => raw = true,
            "--preset" => {
                let spec = args.next().unwrap_or_default();
                let (b, p) = spec.split_once(':').expect("--preset BANK:PROGRAM");
                presets.push((b.parse().expect("bank"), p.parse().expect("program")));
            }
            _ => fonts.push(PathBuf::from(a)),
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tsv = table.map(|p| File::create(p).expect("table file"));
    for path in fonts {
        let file = File::open(&path).expect("open font");
        let reader: Box<dyn std::io::Read> = if raw {
            Box::new(file)
        } else {
            baked_soundfont(file).expect("read the font's modulators").0
        };
        let font = Arc::new(SoundFont::new(&mut BufReader::new(reader)).expect("soundfont"));
        let bank_name = font.get_info().get_bank_name().to_owned();
        let has = |t: &Timbre| {
            (presets.is_empty() || presets.contains(&(t.bank, t.program)))
                && font.get_presets().iter().any(|p| {
                    p.get_bank_number() == i32::from(t.bank)
                        && p.get_patch_number() == i32::from(t.program)
                })
        };
        let timbres: Vec<&Timbre> = TIMBRES.iter().filter(|t| has(t)).collect();
        let slots: Vec<Slot> = timbres
            .iter()
            .flat_map(|&t| {
                velocities.iter().map(move |&velocity| Slot {
                    timbre: t,
                    velocity,
                    key: ((u16::from(t.low) + u16::from(t.high)) / 2).min(72) as u8,
                })
            })
            .collect();
        let seconds = slots.len() + 2;
        let midi = midi_file(&slots);
        let reference = fluid(&path, &midi, dir.path());
        let ours = rusty(&font, &midi, seconds);
        let diffs: Vec<f64> = (0..slots.len())
            .map(|i| level_db(&ours, i) - level_db(&reference, i))
            .collect();
        let spectra: Vec<f64> = (0..slots.len())
            .map(|i| spectrum_rms(&mel_db(&ours, i), &mel_db(&reference, i)))
            .collect();
        let offset = median(diffs.clone());
        println!(
            "\n# {} ({bank_name}){}: rustysynth - fluidsynth median {offset:+.1} dB; spectral RMS \
             median {:.2} dB, 90th percentile {:.2} dB",
            path.display(),
            if raw { ", modulators not baked" } else { "" },
            median(spectra.clone()),
            percentile(spectra.clone(), 0.9),
        );
        let mut outliers = 0;
        let n = velocities.len();
        for ((t, chunk), spectrum) in timbres.iter().zip(diffs.chunks(n)).zip(spectra.chunks(n)) {
            let preset_median = median(chunk.to_vec());
            for (&v, &d) in velocities.iter().zip(chunk) {
                if let Some(f) = tsv.as_mut() {
                    let _ = writeln!(
                        f,
                        "{}\t{}\t{}\t{}\t{v}\t{:.2}",
                        path.display(),
                        t.bank,
                        t.program,
                        t.name,
                        d - offset
                    );
                }
                if (d - preset_median).abs() > OUTLIER_DB {
                    outliers += 1;
                    println!(
                        "  outlier {}:{} {:<24} velocity {v:>3}: {:+.1} dB from the preset median",
                        t.bank,
                        t.program,
                        t.name,
                        d - preset_median
                    );
                }
            }
            if (preset_median - offset).abs() > 12.0 {
                println!(
                    "  preset {}:{} {} is {:+.1} dB off overall (normalised away by the mixer)",
                    t.bank,
                    t.program,
                    t.name,
                    preset_median - offset
                );
            }
            let spectrum = median(spectrum.to_vec());
            if spectrum > SPECTRUM_DB {
                println!(
                    "  spectrum {}:{} {:<24} median {spectrum:.1} dB RMS from fluidsynth's",
                    t.bank, t.program, t.name
                );
            }
        }
        println!("  {outliers} outliers in {} notes", slots.len());
    }
}
