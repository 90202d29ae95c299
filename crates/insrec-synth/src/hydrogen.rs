//! Hydrogen drum kits: a folder with `drumkit.xml` and its samples (wav, flac, aiff), played by a
//! small velocity-layered sampler.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use insrec_audio::{AudioDecoder, DecodeLimits};
use rayon::prelude::*;

use crate::kit::{KitPiece, piece_from_name};
use crate::{Result, SynthError};

/// Longest drum sample accepted, in seconds (guards against a wrong file in a kit folder).
const MAX_SAMPLE_S: f64 = 30.0;
/// Fade applied when a closed hi-hat chokes an open one.
const CHOKE_FADE_S: f64 = 0.02;

/// A decoded mono sample.
#[derive(Debug)]
pub struct Sample {
    pub rate_hz: u32,
    pub data: Vec<f32>,
}

/// One velocity layer of an instrument.
#[derive(Debug)]
pub struct Layer {
    /// Velocity range in 0..=1.
    pub min: f32,
    pub max: f32,
    pub gain: f32,
    /// Pitch shift in semitones.
    pub pitch: f32,
    pub sample: Arc<Sample>,
}

/// One instrument of a kit, already classified as a kit piece.
#[derive(Debug)]
pub struct KitInstrument {
    pub name: String,
    pub piece: KitPiece,
    pub gain: f32,
    pub layers: Vec<Layer>,
}

/// A loaded Hydrogen kit.
#[derive(Debug)]
pub struct HydrogenKit {
    pub name: String,
    pub path: PathBuf,
    pub instruments: Vec<KitInstrument>,
}

/// One drum hit for the sampler: time in seconds from the render start, instrument, velocity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerHit {
    pub time_s: f64,
    pub instrument: usize,
    pub velocity: u8,
}

fn child_text<'a>(node: roxmltree::Node<'a, 'a>, tag: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.has_tag_name(tag))
        .and_then(|c| c.text())
        .map(str::trim)
}

fn child_f32(node: roxmltree::Node, tag: &str, default: f32) -> f32 {
    child_text(node, tag)
        .and_then(|t| t.parse().ok())
        .filter(|v: &f32| v.is_finite())
        .unwrap_or(default)
}

fn decode(path: &Path) -> Result<Sample> {
    let mut decoder = AudioDecoder::open(
        path,
        DecodeLimits {
            max_duration_s: MAX_SAMPLE_S,
        },
    )
    .map_err(SynthError::DrumSample)?;
    let rate_hz = decoder.info().sample_rate;
    let mut data = Vec::new();
    while decoder
        .next_mono(&mut data)
        .map_err(SynthError::DrumSample)?
    {}
    Ok(Sample { rate_hz, data })
}

struct LayerSpec {
    instrument: usize,
    file: PathBuf,
    min: f32,
    max: f32,
    gain: f32,
    pitch: f32,
}

impl HydrogenKit {
    /// Reads `dir/drumkit.xml` and decodes the samples of every instrument whose name names a kit
    /// piece. Missing sample files are skipped (Debian removed a few); a kit with no usable
    /// instrument is an error.
    pub fn load(dir: &Path) -> Result<Self> {
        let xml_path = dir.join("drumkit.xml");
        let text = std::fs::read_to_string(&xml_path).map_err(SynthError::io(&xml_path))?;
        let bad = |reason: String| SynthError::BadDrumKit {
            path: xml_path.clone(),
            reason,
        };
        let doc = roxmltree::Document::parse(&text).map_err(|e| bad(e.to_string()))?;
        let root = doc.root_element();
        let name = child_text(root, "name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let mut instruments = Vec::new();
        let mut specs = Vec::new();
        for inst in root.descendants().filter(|n| n.has_tag_name("instrument")) {
            let inst_name = child_text(inst, "name").unwrap_or("");
            let Some(piece) = piece_from_name(inst_name) else {
                continue;
            };
            if child_text(inst, "isMuted") == Some("true") {
                continue;
            }
            let index = instruments.len();
            let gain = child_f32(inst, "volume", 1.0) * child_f32(inst, "gain", 1.0);
            let layers: Vec<_> = inst
                .descendants()
                .filter(|n| n.has_tag_name("layer"))
                .collect();
            if layers.is_empty() {
                // Old format: one sample per instrument, directly under <instrument>.
                if let Some(file) = child_text(inst, "filename") {
                    specs.push(LayerSpec {
                        instrument: index,
                        file: dir.join(file),
                        min: 0.0,
                        max: 1.0,
                        gain: 1.0,
                        pitch: 0.0,
                    });
                }
            }
            for layer in layers {
                let Some(file) = child_text(layer, "filename") else {
                    continue;
                };
                specs.push(LayerSpec {
                    instrument: index,
                    file: dir.join(file),
                    min: child_f32(layer, "min", 0.0),
                    max: child_f32(layer, "max", 1.0),
                    gain: child_f32(layer, "gain", 1.0),
                    pitch: child_f32(layer, "pitch", 0.0),
                });
            }
            instruments.push(KitInstrument {
                name: inst_name.to_owned(),
                piece,
                gain,
                layers: Vec::new(),
            });
        }
        let specs: Vec<LayerSpec> = specs
            .into_iter()
            .filter(|s| {
                let exists = s.file.is_file();
                if !exists {
                    tracing::debug!(file = %s.file.display(), "drum kit sample missing, layer skipped");
                }
                exists
            })
            .collect();
        let samples: Vec<Result<Sample>> = specs.par_iter().map(|s| decode(&s.file)).collect();
        for (spec, sample) in specs.into_iter().zip(samples) {
            let sample = Arc::new(sample?);
            instruments[spec.instrument].layers.push(Layer {
                min: spec.min,
                max: spec.max,
                gain: spec.gain,
                pitch: spec.pitch,
                sample,
            });
        }
        instruments.retain(|i| !i.layers.is_empty());
        if instruments.is_empty() {
            return Err(bad(
                "no instrument is a recognisable kit piece with a sample".into(),
            ));
        }
        Ok(Self {
            name,
            path: dir.to_path_buf(),
            instruments,
        })
    }

    /// The layer to play at a MIDI velocity: the one whose range holds it, else the nearest.
    fn layer(&self, instrument: usize, velocity: u8) -> Option<&Layer> {
        let v = f32::from(velocity) / 127.0;
        let layers = &self.instruments.get(instrument)?.layers;
        layers
            .iter()
            .find(|l| l.min <= v && v <= l.max)
            .or_else(|| {
                layers.iter().min_by(|a, b| {
                    let da = (a.min - v).abs().min((a.max - v).abs());
                    let db = (b.min - v).abs().min((b.max - v).abs());
                    da.total_cmp(&db)
                })
            })
    }

    /// Adds the hits to `out` (mono, `rate_hz`), transposed by `pitch_ratio`. An open hi-hat is
    /// choked by the next closed or pedal hi-hat.
    pub fn render(&self, hits: &[SamplerHit], rate_hz: u32, pitch_ratio: f64, out: &mut [f32]) {
        let rate = f64::from(rate_hz);
        let is_closing = |h: &SamplerHit| {
            self.instruments
                .get(h.instrument)
                .is_some_and(|i| matches!(i.piece, KitPiece::HatClosed | KitPiece::HatPedal))
        };
        for (n, hit) in hits.iter().enumerate() {
            let Some(inst) = self.instruments.get(hit.instrument) else {
                continue;
            };
            let Some(layer) = self.layer(hit.instrument, hit.velocity) else {
                continue;
            };
            let choke_s = (inst.piece == KitPiece::HatOpen)
                .then(|| {
                    hits[n + 1..]
                        .iter()
                        .find(|h| h.time_s > hit.time_s && is_closing(h))
                        .map(|h| h.time_s)
                })
                .flatten();
            let amp = f32::from(hit.velocity) / 127.0 * layer.gain * inst.gain;
            let step = f64::from(layer.sample.rate_hz) / rate
                * pitch_ratio
                * 2f64.powf(f64::from(layer.pitch) / 12.0);
            let start = (hit.time_s * rate).round().max(0.0) as usize;
            let data = &layer.sample.data;
            let choke_at = choke_s.map(|c| (c * rate) as usize);
            let fade_len = (CHOKE_FADE_S * rate) as usize;
            for (i, slot) in out.iter_mut().enumerate().skip(start) {
                let pos = (i - start) as f64 * step;
                let idx = pos as usize;
                if idx + 1 >= data.len() {
                    break;
                }
                let mut gain = amp;
                if let Some(c) = choke_at.filter(|&c| i >= c) {
                    let k = i - c;
                    if k >= fade_len {
                        break;
                    }
                    gain *= 1.0 - k as f32 / fade_len as f32;
                }
                let frac = (pos - idx as f64) as f32;
                *slot += gain * (data[idx] + (data[idx + 1] - data[idx]) * frac);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a two-piece kit (kick = low sine burst, open and closed hat = noise-like bursts).
    pub(crate) fn write_test_kit(dir: &Path) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let tone = |name: &str, hz: f64, seconds: f64| {
            let mut w = hound::WavWriter::create(dir.join(name), spec).expect("create wav");
            let n = (22_050.0 * seconds) as usize;
            for i in 0..n {
                let t = i as f64 / 22_050.0;
                let v = (std::f64::consts::TAU * hz * t).sin() * (1.0 - i as f64 / n as f64);
                w.write_sample((v * 20_000.0) as i16).expect("write");
            }
            w.finalize().expect("finalize");
        };
        tone("kick.wav", 60.0, 0.4);
        tone("hat.wav", 7_000.0, 1.0);
        let xml = r#"<?xml version="1.0"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>Test Kit</name>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name><volume>1</volume><gain>1</gain>
   <layer><filename>kick.wav</filename><min>0</min><max>1</max><gain>1</gain><pitch>0</pitch></layer>
  </instrument>
  <instrument><id>1</id><name>Open HH</name><volume>0.5</volume>
   <layer><filename>hat.wav</filename><min>0</min><max>1</max><gain>1</gain><pitch>0</pitch></layer>
  </instrument>
  <instrument><id>2</id><name>Closed HH</name><filename>hat.wav</filename></instrument>
  <instrument><id>3</id><name>Whistle</name><filename>kick.wav</filename></instrument>
  <instrument><id>4</id><name>Crash</name><filename>missing.wav</filename></instrument>
 </instrumentList>
</drumkit_info>"#;
        std::fs::write(dir.join("drumkit.xml"), xml).expect("write xml");
    }

    #[test]
    fn loads_both_layer_formats_and_skips_unknown_or_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_test_kit(dir.path());
        let kit = HydrogenKit::load(dir.path()).expect("load kit");
        assert_eq!(kit.name, "Test Kit");
        let pieces: Vec<KitPiece> = kit.instruments.iter().map(|i| i.piece).collect();
        assert_eq!(
            pieces,
            vec![KitPiece::Kick, KitPiece::HatOpen, KitPiece::HatClosed]
        );
        assert_eq!(kit.instruments[0].layers[0].sample.rate_hz, 22_050);
        assert!((kit.instruments[1].gain - 0.5).abs() < 1e-6);
    }

    #[test]
    fn sampler_places_hits_and_chokes_open_hats() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_test_kit(dir.path());
        let kit = HydrogenKit::load(dir.path()).expect("load kit");
        let rate = 16_000;
        let mut out = vec![0.0f32; rate as usize * 2];
        let hits = [
            SamplerHit {
                time_s: 0.5,
                instrument: 0,
                velocity: 127,
            },
            SamplerHit {
                time_s: 1.0,
                instrument: 1,
                velocity: 127,
            },
            SamplerHit {
                time_s: 1.2,
                instrument: 2,
                velocity: 1,
            },
        ];
        kit.render(&hits, rate, 1.0, &mut out);
        let energy = |a: f64, b: f64| -> f32 {
            out[(a * 16_000.0) as usize..(b * 16_000.0) as usize]
                .iter()
                .map(|x| x * x)
                .sum()
        };
        assert_eq!(energy(0.0, 0.5), 0.0, "nothing before the first hit");
        assert!(energy(0.5, 0.6) > 1.0);
        // The open hat rings until the closed hat at 1.2 s chokes it; the quiet closed hat is far weaker.
        assert!(
            energy(1.1, 1.2) > 100.0 * energy(1.3, 1.4),
            "{} vs {}",
            energy(1.1, 1.2),
            energy(1.3, 1.4)
        );
    }

    #[test]
    fn a_folder_without_a_kit_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = HydrogenKit::load(dir.path()).expect_err("no drumkit.xml");
        assert!(err.to_string().contains("drumkit.xml"), "{err}");
    }
}
