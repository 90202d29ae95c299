//! Renders each part of a score to its own mono stem: melodic parts and SoundFont kits with
//! rustysynth (its built-in reverb and chorus off; effects are added to the mix), Hydrogen kits
//! with the sampler. A kit part gives one stem per class (drums, cymbals, auxiliary percussion), so
//! that each class is labelled from its own energy.

use std::collections::BTreeMap;
use std::sync::Arc;

use insrec_core::Instrument;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use crate::compose::{DrumHit, PartSource, Score, ScorePart};
use crate::hydrogen::SamplerHit;
use crate::kit::KitPiece;
use crate::loudness::MIN_VELOCITY;
use crate::rng::ClipRng;
use crate::song::{CLIP_SECONDS, Control, Note};
use crate::sources::{KitVoice, Library};
use crate::timbre::Label;
use crate::{Result, SynthError};

/// Voices per synthesizer (strummed chords with long release and the sustain pedal need many).
const POLYPHONY: usize = 128;
/// Label blocks are 20 ms; the render window starts on one.
pub const BLOCK_S: f64 = 0.02;

/// The stretch of time rendered: from `start_s` (≤ 0, a whole number of blocks) to the clip end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub rate_hz: u32,
    /// Samples before the clip start (pre-roll, so that the clip can begin mid-song).
    pub preroll: usize,
    /// Total samples (pre-roll + clip).
    pub len: usize,
}

impl Window {
    /// A window at `rate_hz` (a multiple of 50 Hz) starting at or before `start_s`.
    pub fn new(rate_hz: u32, start_s: f64) -> Self {
        let blocks = (-start_s / BLOCK_S).ceil().max(0.0) as usize;
        let block = (rate_hz / 50) as usize;
        let clip = (CLIP_SECONDS * f64::from(rate_hz)).round() as usize;
        Self {
            rate_hz,
            preroll: blocks * block,
            len: blocks * block + clip,
        }
    }

    /// Seconds of the first sample (clip time).
    pub fn start_s(&self) -> f64 {
        -(self.preroll as f64) / f64::from(self.rate_hz)
    }

    /// Sample index of a clip time, clamped to the window.
    pub fn index(&self, time_s: f64) -> usize {
        (((time_s - self.start_s()) * f64::from(self.rate_hz))
            .round()
            .max(0.0) as usize)
            .min(self.len)
    }
}

/// What a stem is labelled as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StemLabel {
    Class(Instrument),
    /// Audible but none of the 20 classes (distractor instruments, auxiliary percussion).
    Negative,
}

/// One rendered stem, mono, covering the window.
#[derive(Debug, Clone)]
pub struct Stem {
    /// Index of the score part it belongs to.
    pub part: usize,
    pub label: StemLabel,
    pub samples: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Off { key: u8 },
    Control { controller: u8, value: u8 },
    On { key: u8, velocity: u8 },
}

impl Event {
    /// At equal times: note-offs first, then controllers, then note-ons.
    fn order(&self) -> u8 {
        match self {
            Self::Off { .. } => 0,
            Self::Control { .. } => 1,
            Self::On { .. } => 2,
        }
    }
}

/// A rustysynth instance playing one preset.
struct PresetPlayer {
    synth: Synthesizer,
    channel: i32,
}

impl PresetPlayer {
    fn new(font: &Arc<SoundFont>, rate_hz: u32, bank: u16, program: u8) -> Result<Self> {
        let mut settings = SynthesizerSettings::new(rate_hz as i32);
        settings.enable_reverb_and_chorus = false;
        settings.maximum_polyphony = POLYPHONY;
        // 128-sample control blocks (envelopes, LFOs, filter sweeps; 2.7–8 ms) instead of 64:
        // 6 % less render time, finer than any articulation the parts play.
        settings.block_size = 128;
        let mut synth =
            Synthesizer::new(font, &settings).map_err(|e| SynthError::BadSoundFont {
                path: font.get_info().get_bank_name().into(),
                reason: e.to_string(),
            })?;
        // Percussion banks (≥ 128) play on the GM drum channel, whose bank is offset by 128.
        let (channel, bank_msb) = if bank >= 128 {
            (9, i32::from(bank - 128))
        } else {
            (0, i32::from(bank))
        };
        synth.process_midi_message(channel, 0xB0, 0x00, bank_msb);
        synth.process_midi_message(channel, 0xC0, i32::from(program), 0);
        Ok(Self { synth, channel })
    }

    /// Plays the timed events over the window and returns the mono sum of the two channels.
    fn play(mut self, mut events: Vec<(usize, Event)>, len: usize) -> Vec<f32> {
        events.sort_by_key(|(pos, e)| (*pos, e.order()));
        let mut mono = Vec::with_capacity(len);
        for (at, event) in events {
            self.render_until(&mut mono, at.min(len));
            match event {
                Event::Off { key } => self.synth.note_off(self.channel, i32::from(key)),
                Event::On { key, velocity } => {
                    self.synth
                        .note_on(self.channel, i32::from(key), i32::from(velocity))
                }
                Event::Control { controller, value } => self.synth.process_midi_message(
                    self.channel,
                    0xB0,
                    i32::from(controller),
                    i32::from(value),
                ),
            }
        }
        self.render_until(&mut mono, len);
        mono
    }

    /// Renders until `mono` holds `end` samples, through small stereo buffers.
    fn render_until(&mut self, mono: &mut Vec<f32>, end: usize) {
        const CHUNK: usize = 1024;
        let (mut left, mut right) = ([0.0f32; CHUNK], [0.0f32; CHUNK]);
        while mono.len() < end {
            let n = (end - mono.len()).min(CHUNK);
            self.synth.render(&mut left[..n], &mut right[..n]);
            mono.extend(
                left[..n]
                    .iter()
                    .zip(&right[..n])
                    .map(|(l, r)| 0.5 * (l + r)),
            );
        }
    }
}

fn note_events(
    notes: &[Note],
    controls: &[Control],
    window: &Window,
    velocity: impl Fn(u8) -> u8,
) -> Vec<(usize, Event)> {
    let mut events = Vec::with_capacity(notes.len() * 2 + controls.len());
    for n in notes {
        events.push((
            window.index(n.start_s),
            Event::On {
                key: n.key,
                velocity: velocity(n.velocity),
            },
        ));
        events.push((window.index(n.end_s), Event::Off { key: n.key }));
    }
    for c in controls {
        events.push((
            window.index(c.time_s),
            Event::Control {
                controller: c.controller,
                value: c.value,
            },
        ));
    }
    events
}

fn stem_label(piece: KitPiece) -> StemLabel {
    piece.class().map_or(StemLabel::Negative, StemLabel::Class)
}

/// Renders every part of a score. `rng` picks which sample of a kit piece is used and detunes
/// Hydrogen kits slightly.
pub fn render_score(
    score: &Score,
    library: &Library,
    window: &Window,
    rng: &mut ClipRng,
) -> Result<Vec<Stem>> {
    let mut stems = Vec::new();
    for (index, part) in score.parts.iter().enumerate() {
        match part.source {
            PartSource::Melodic(voice) => {
                let font = &library.fonts[voice.font];
                let (bank, program) = (voice.timbre.bank, voice.timbre.program);
                let player = PresetPlayer::new(&font.font, window.rate_hz, bank, program)?;
                let events = note_events(&part.notes, &part.controls, window, |v| {
                    v.clamp(MIN_VELOCITY, 127)
                });
                let label = match voice.timbre.label {
                    Label::Class(c) => StemLabel::Class(c),
                    Label::Distractor => StemLabel::Negative,
                };
                let samples = player.play(events, window.len);
                if samples.iter().any(|s| !s.is_finite()) {
                    return Err(SynthError::BadSoundFont {
                        path: font.path.clone(),
                        reason: format!("preset {bank}:{program} rendered non-finite samples"),
                    });
                }
                stems.push(Stem {
                    part: index,
                    label,
                    samples,
                });
            }
            PartSource::Kit(kit) => {
                stems.extend(render_kit(index, part, library, kit, window, rng)?)
            }
        }
    }
    Ok(stems)
}

fn render_kit(
    index: usize,
    part: &ScorePart,
    library: &Library,
    kit: usize,
    window: &Window,
    rng: &mut ClipRng,
) -> Result<Vec<Stem>> {
    let kit = &library.kits[kit];
    // Resolve each wanted piece once per clip: the piece the kit has, and which of its samples.
    let mut chosen: BTreeMap<KitPiece, Option<(KitPiece, u16)>> = BTreeMap::new();
    let mut groups: BTreeMap<StemLabel, Vec<(DrumHit, u16)>> = BTreeMap::new();
    for hit in &part.hits {
        let slot = *chosen.entry(hit.piece).or_insert_with(|| {
            let piece = kit.resolve(hit.piece)?;
            let slots = kit.pieces.get(&piece)?;
            Some((piece, *rng.pick(slots)?))
        });
        if let Some((piece, slot)) = slot {
            groups
                .entry(stem_label(piece))
                .or_default()
                .push((DrumHit { piece, ..*hit }, slot));
        }
    }
    let mut stems = Vec::new();
    let pitch_ratio = 2f64.powf(rng.range(-0.5, 0.5) / 12.0);
    for (label, hits) in groups {
        let samples = match &kit.voice {
            KitVoice::Font {
                font,
                bank,
                program,
            } => {
                let font = &library.fonts[*font];
                let player = PresetPlayer::new(&font.font, window.rate_hz, *bank, *program)?;
                let notes: Vec<Note> = hits
                    .iter()
                    .map(|(h, slot)| Note {
                        start_s: h.time_s,
                        end_s: h.time_s + 0.2,
                        key: *slot as u8,
                        velocity: h.velocity,
                    })
                    .collect();
                player.play(
                    note_events(&notes, &[], window, |v| v.max(MIN_VELOCITY)),
                    window.len,
                )
            }
            KitVoice::Hydrogen(h) => {
                let sampler_hits: Vec<SamplerHit> = hits
                    .iter()
                    .map(|(hit, slot)| SamplerHit {
                        time_s: hit.time_s - window.start_s(),
                        instrument: usize::from(*slot),
                        velocity: hit.velocity,
                    })
                    .collect();
                let mut out = vec![0.0f32; window.len];
                h.render(&sampler_hits, window.rate_hz, pitch_ratio, &mut out);
                out
            }
        };
        stems.push(Stem {
            part: index,
            label,
            samples,
        });
    }
    Ok(stems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_on_a_block_and_cover_the_clip() {
        for rate in [16_000, 22_050, 32_000, 44_100, 48_000] {
            let w = Window::new(rate, -0.337);
            assert_eq!(w.preroll, 17 * (rate as usize / 50), "rate {rate}");
            assert_eq!(w.len - w.preroll, 10 * rate as usize);
            assert_eq!(w.index(0.0), w.preroll);
            assert_eq!(w.index(-5.0), 0);
            assert_eq!(w.index(20.0), w.len);
            assert!((w.start_s() + 0.34).abs() < 1e-9);
        }
        assert_eq!(Window::new(16_000, 0.0).preroll, 0);
    }
}
