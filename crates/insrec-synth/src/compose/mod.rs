//! The composer: picks the instruments of a clip (balanced over the 20 classes, plus distractors),
//! a style, tempo, meter, key and chord progression, gives every instrument a role, and writes its
//! notes (or drum hits) with humanised timing and velocity. Parts may enter and leave mid-clip.

mod bass;
mod drums;
mod harmony;
mod melody;

use insrec_core::Instrument;

use crate::kit::KitPiece;
use crate::rng::ClipRng;
use crate::song::{CLIP_SECONDS, Control, Meter, Note, Role, Song, Style};
use crate::sources::{Kit, MelodicVoice, Palette};
use crate::theory::random_key_and_progression;
use crate::timbre::Family;

/// Probabilities of 1..=5 labelled instruments in a clip.
const INSTRUMENT_COUNT_WEIGHTS: [f64; 5] = [0.12, 0.22, 0.28, 0.23, 0.15];
/// Probabilities of 0, 1 or 2 distractor instruments.
const DISTRACTOR_COUNT_WEIGHTS: [f64; 3] = [0.55, 0.35, 0.10];
/// Share of clips made only of distractors (all-negative clips).
const NEGATIVE_CLIP_SHARE: f64 = 0.03;
/// Weight of the drum kit against one melodic class. A kit carries drums and cymbals in 60 % of
/// clips and one of them in 20 % each, so each of the two classes appears as often as a melodic one.
const KIT_WEIGHT: f64 = 1.25;

/// A drum hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrumHit {
    pub time_s: f64,
    pub piece: KitPiece,
    pub velocity: u8,
}

/// What plays a part.
#[derive(Debug, Clone, Copy)]
pub enum PartSource {
    Melodic(MelodicVoice),
    /// Index into the library's kits.
    Kit(usize),
}

/// One instrument of a clip with its notes.
#[derive(Debug, Clone)]
pub struct ScorePart {
    pub source: PartSource,
    pub role: Role,
    pub notes: Vec<Note>,
    pub controls: Vec<Control>,
    pub hits: Vec<DrumHit>,
    /// Seconds (clip time) in which the part plays.
    pub enter_s: f64,
    pub exit_s: f64,
}

/// The music of one clip.
#[derive(Debug, Clone)]
pub struct Score {
    pub song: Song,
    pub parts: Vec<ScorePart>,
}

/// Which pieces a kit part uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KitUse {
    pub drums: bool,
    pub cymbals: bool,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Melodic(MelodicVoice),
    Kit(usize, KitUse),
}

/// Context handed to every part generator.
pub(crate) struct PartContext<'a> {
    pub song: &'a Song,
    pub low: u8,
    pub high: u8,
    pub family: Family,
    /// Whether another part plays the bass line.
    pub has_bass: bool,
}

/// Draws the labelled instruments and distractors of a clip.
fn choose_slots(palette: &Palette, kits: &[Kit], rng: &mut ClipRng) -> Vec<Slot> {
    let classes: Vec<Instrument> = Instrument::ALL
        .into_iter()
        .filter(|&c| {
            !matches!(c, Instrument::Drums | Instrument::Cymbals)
                && palette.voices_of(c).next().is_some()
        })
        .collect();
    let full_kits: Vec<usize> = palette
        .kits
        .iter()
        .copied()
        .filter(|&k| kits[k].has_class(Instrument::Drums))
        .collect();
    let cymbal_kits: Vec<usize> = palette
        .kits
        .iter()
        .copied()
        .filter(|&k| kits[k].has_class(Instrument::Cymbals))
        .collect();
    let both_kits: Vec<usize> = full_kits
        .iter()
        .copied()
        .filter(|k| cymbal_kits.contains(k))
        .collect();
    let distractors: Vec<MelodicVoice> = palette
        .melodic
        .iter()
        .copied()
        .filter(|v| v.timbre.class().is_none())
        .collect();

    let mut slots = Vec::new();
    let negative_only = !distractors.is_empty() && rng.chance(NEGATIVE_CLIP_SHARE);
    let labelled = if negative_only {
        0
    } else {
        1 + rng.weighted(&INSTRUMENT_COUNT_WEIGHTS).unwrap_or(2)
    };
    // Candidates: melodic classes (weight 1) and the kit (weight KIT_WEIGHT), drawn without replacement.
    let mut candidates: Vec<(Option<Instrument>, f64)> =
        classes.iter().map(|&c| (Some(c), 1.0)).collect();
    if !full_kits.is_empty() || !cymbal_kits.is_empty() {
        candidates.push((None, KIT_WEIGHT));
    }
    while slots.len() < labelled && !candidates.is_empty() {
        let weights: Vec<f64> = candidates.iter().map(|c| c.1).collect();
        let Some(i) = rng.weighted(&weights) else {
            break;
        };
        let (class, _) = candidates.swap_remove(i);
        match class {
            Some(class) => {
                let voices: Vec<MelodicVoice> = palette.voices_of(class).copied().collect();
                if let Some(&voice) = rng.pick(&voices) {
                    slots.push(Slot::Melodic(voice));
                }
            }
            None => {
                let variant = rng.weighted(&[0.6, 0.2, 0.2]).unwrap_or(0);
                let (pool, kit_use) = match variant {
                    1 => (
                        &full_kits,
                        KitUse {
                            drums: true,
                            cymbals: false,
                        },
                    ),
                    2 => (
                        &cymbal_kits,
                        KitUse {
                            drums: false,
                            cymbals: true,
                        },
                    ),
                    _ => (
                        &both_kits,
                        KitUse {
                            drums: true,
                            cymbals: true,
                        },
                    ),
                };
                let pool = if pool.is_empty() {
                    if full_kits.is_empty() {
                        &cymbal_kits
                    } else {
                        &full_kits
                    }
                } else {
                    pool
                };
                if let Some(&kit) = rng.pick(pool) {
                    let kit_use = KitUse {
                        drums: kit_use.drums && kits[kit].has_class(Instrument::Drums),
                        cymbals: kit_use.cymbals && kits[kit].has_class(Instrument::Cymbals),
                    };
                    let kit_use = if kit_use.drums || kit_use.cymbals {
                        kit_use
                    } else {
                        KitUse {
                            drums: kits[kit].has_class(Instrument::Drums),
                            cymbals: kits[kit].has_class(Instrument::Cymbals),
                        }
                    };
                    slots.push(Slot::Kit(kit, kit_use));
                }
            }
        }
    }
    let extra = if negative_only {
        1 + rng.index(2)
    } else {
        rng.weighted(&DISTRACTOR_COUNT_WEIGHTS).unwrap_or(0)
    };
    for _ in 0..extra {
        if let Some(&voice) = rng.pick(&distractors) {
            slots.push(Slot::Melodic(voice));
        }
    }
    slots
}

/// How much a family pulls the clip towards each style.
fn style_affinity(family: Family, style: Style) -> f64 {
    use Family as F;
    use Style as S;
    match (family, style) {
        (F::DistortedGuitar, S::Rock) => 5.0,
        (F::DistortedGuitar, S::Jazz | S::Classical | S::Folk | S::Latin) => 0.2,
        (F::Banjo | F::Mandolin | F::Ukulele | F::Accordion | F::Harmonica, S::Folk) => 3.0,
        (F::Sax | F::Brass | F::LowBrass, S::Jazz) => 2.5,
        (F::Sax | F::Brass, S::Latin) => 1.8,
        (
            F::Violin | F::Cello | F::Reed | F::LowReed | F::Harp | F::Harpsichord | F::Flute,
            S::Classical,
        ) => 2.5,
        (F::SynthLead | F::SynthPad, S::Electronic) => 3.0,
        (F::SynthLead | F::SynthPad, S::Classical | S::Folk) => 0.3,
        (F::Piano | F::ElectricPiano, S::Ballad | S::Jazz) => 1.6,
        (F::Mallet, S::Jazz | S::Latin) => 1.6,
        (F::Organ, S::Rock | S::Classical) => 1.6,
        (F::Choir, S::Classical | S::Ballad) => 1.8,
        (F::Guitar, S::Pop | S::Rock | S::Folk) => 1.5,
        _ => 1.0,
    }
}

fn choose_style(families: &[Family], rng: &mut ClipRng) -> Style {
    let base = [1.0, 0.8, 0.6, 0.6, 0.5, 0.5, 0.4, 0.6];
    let weights: Vec<f64> = Style::ALL
        .iter()
        .zip(base)
        .map(|(&s, b)| {
            b * families
                .iter()
                .map(|&f| style_affinity(f, s))
                .product::<f64>()
        })
        .collect();
    Style::ALL[rng.weighted(&weights).unwrap_or(0)]
}

fn make_song(style: Style, rng: &mut ClipRng) -> Song {
    let (lo, hi) = match style {
        Style::Pop => (88.0, 128.0),
        Style::Rock => (100.0, 160.0),
        Style::Jazz => (90.0, 200.0),
        Style::Folk => (80.0, 140.0),
        Style::Classical => (60.0, 130.0),
        Style::Electronic => (110.0, 135.0),
        Style::Latin => (90.0, 140.0),
        Style::Ballad => (60.0, 86.0),
    };
    let meter_weights = match style {
        Style::Pop | Style::Rock | Style::Electronic => [0.92, 0.0, 0.08],
        Style::Jazz => [0.85, 0.15, 0.0],
        Style::Folk => [0.55, 0.25, 0.2],
        Style::Classical => [0.5, 0.35, 0.15],
        Style::Latin => [1.0, 0.0, 0.0],
        Style::Ballad => [0.6, 0.2, 0.2],
    };
    let meter = match rng.weighted(&meter_weights) {
        Some(1) => Meter::Three,
        Some(2) => Meter::SixEight,
        _ => Meter::Four,
    };
    let mut tempo_bpm = rng.range(lo, hi).round();
    if meter == Meter::SixEight {
        // The 6/8 beat is a dotted quarter: 40–75 of them per minute.
        tempo_bpm = (tempo_bpm / 1.75).round().clamp(40.0, 75.0);
    }
    let swing = match style {
        Style::Jazz => rng.range(0.6, 1.0),
        Style::Folk if rng.chance(0.2) => 0.6,
        Style::Pop if rng.chance(0.1) => 0.4,
        _ => 0.0,
    };
    let (key, progression) = random_key_and_progression(rng);
    let bar_s = 60.0 / tempo_bpm * f64::from(meter.beats());
    let start_s = -rng.range(0.0, bar_s);
    let bars = ((CLIP_SECONDS - start_s) / bar_s).ceil() as usize + 1;
    let bars_per_chord = if bar_s < 1.4 && rng.chance(0.5) { 2 } else { 1 };
    let chords = (0..bars)
        .map(|b| progression[(b / bars_per_chord) % progression.len()])
        .collect();
    Song {
        style,
        tempo_bpm,
        meter,
        key,
        chords,
        start_s,
        swing,
    }
}

/// Gives every part a role: kits play drums, basses the bass line; the rest draw from their
/// family's roles, avoiding a second melody or bass and favouring harmony when none is present yet.
fn assign_roles(slots: &[Slot], rng: &mut ClipRng) -> Vec<Role> {
    let mut roles: Vec<Option<Role>> = slots
        .iter()
        .map(|s| match s {
            Slot::Kit(..) => Some(Role::Drums),
            Slot::Melodic(v) if v.timbre.family == Family::Bass => Some(Role::Bass),
            Slot::Melodic(_) => None,
        })
        .collect();
    let mut order: Vec<usize> = (0..slots.len()).filter(|&i| roles[i].is_none()).collect();
    // A random order so that no class always gets the first pick.
    for i in (1..order.len()).rev() {
        order.swap(i, rng.index(i + 1));
    }
    for i in order {
        let Slot::Melodic(voice) = slots[i] else {
            continue;
        };
        let taken: Vec<Role> = roles.iter().flatten().copied().collect();
        let harmony = taken
            .iter()
            .any(|r| matches!(r, Role::Comp | Role::Strum | Role::Arpeggio | Role::Pad));
        let weights: Vec<f64> = voice
            .timbre
            .family
            .roles()
            .iter()
            .map(|&(role, w)| {
                let repeats = taken.iter().filter(|&&t| t == role).count() as f64;
                let mut w = w * match role {
                    Role::Melody => 0.08f64.powf(repeats),
                    Role::Bass => 0.0f64.powf(repeats),
                    _ => 0.5f64.powf(repeats),
                };
                if !harmony && matches!(role, Role::Comp | Role::Strum | Role::Arpeggio | Role::Pad)
                {
                    w *= 2.0;
                }
                w
            })
            .collect();
        let pick = rng.weighted(&weights).unwrap_or(0);
        let fallback = if taken.contains(&Role::Melody) {
            Role::CounterMelody
        } else {
            Role::Melody
        };
        roles[i] = Some(
            voice
                .timbre
                .family
                .roles()
                .get(pick)
                .map_or(fallback, |r| r.0),
        );
    }
    roles
        .into_iter()
        .map(|r| r.unwrap_or(Role::Melody))
        .collect()
}

/// When a part plays: the whole clip, or entering and/or leaving at a bar line.
fn active_span(song: &Song, always: bool, rng: &mut ClipRng) -> (f64, f64) {
    let bar_line = |t: f64| song.time(song.bar_at(t), 0);
    let whole = (f64::NEG_INFINITY, f64::INFINITY);
    if always {
        return whole;
    }
    match rng.weighted(&[0.5, 0.2, 0.15, 0.15]) {
        Some(1) => (bar_line(rng.range(1.5, 6.0)), whole.1),
        Some(2) => (whole.0, bar_line(rng.range(4.5, 9.0)).max(3.0)),
        Some(3) => {
            let enter = bar_line(rng.range(1.0, 4.0));
            (
                enter,
                bar_line(rng.range(enter + 3.0, 9.5)).max(enter + 2.5),
            )
        }
        _ => whole,
    }
}

/// Random timing and velocity deviations, as a player would make.
fn humanize(notes: &mut [Note], timing_s: f64, velocity: f64, rng: &mut ClipRng) {
    for n in notes {
        let shift = (rng.normal() * timing_s).clamp(-3.0 * timing_s, 3.0 * timing_s);
        n.start_s += shift;
        n.end_s = (n.end_s + shift).max(n.start_s + 0.03);
        n.velocity = (f64::from(n.velocity) + rng.normal() * velocity)
            .round()
            .clamp(1.0, 127.0) as u8;
    }
}

/// Keeps the notes inside the active span (cutting held notes at the exit), and ends a note
/// before the next note on the same key begins.
fn trim(notes: &mut Vec<Note>, enter_s: f64, exit_s: f64) {
    notes.retain(|n| {
        n.start_s >= enter_s - 1e-9 && n.start_s < exit_s - 0.05 && n.start_s < CLIP_SECONDS
    });
    for n in notes.iter_mut() {
        n.end_s = n.end_s.min(exit_s);
    }
    notes.sort_by(|a, b| a.start_s.total_cmp(&b.start_s).then(a.key.cmp(&b.key)));
    let mut keep = vec![true; notes.len()];
    for i in 0..notes.len() {
        let next_same = notes[i + 1..]
            .iter()
            .find(|m| m.key == notes[i].key)
            .map(|m| m.start_s);
        if let Some(next) = next_same {
            notes[i].end_s = notes[i].end_s.min(next - 0.005);
            // A repeat closer than 15 ms would be a flam of one key: keep only the later note.
            keep[i] = notes[i].end_s - notes[i].start_s >= 0.015;
        }
    }
    let mut flags = keep.into_iter();
    notes.retain(|_| flags.next().unwrap_or(true));
}

fn melodic_part(
    voice: MelodicVoice,
    role: Role,
    song: &Song,
    has_bass: bool,
    rng: &mut ClipRng,
) -> (Vec<Note>, Vec<Control>) {
    let t = voice.timbre;
    let ctx = PartContext {
        song,
        low: t.low,
        high: t.high,
        family: t.family,
        has_bass,
    };
    match role {
        Role::Melody => (melody::melody(&ctx, false, rng), Vec::new()),
        Role::CounterMelody => (melody::melody(&ctx, true, rng), Vec::new()),
        Role::Comp => harmony::comp(&ctx, rng),
        Role::Strum => (harmony::strum(&ctx, rng), Vec::new()),
        Role::Arpeggio => (harmony::arpeggio(&ctx, rng), Vec::new()),
        Role::Pad => harmony::pad(&ctx, rng),
        Role::Stabs => (harmony::stabs(&ctx, rng), Vec::new()),
        Role::Bass => (bass::bass_line(&ctx, rng), Vec::new()),
        Role::Drums => (Vec::new(), Vec::new()),
    }
}

/// Composes one clip from a palette. Returns `None` when the palette has nothing to play.
pub fn compose(palette: &Palette, kits: &[Kit], rng: &mut ClipRng) -> Option<Score> {
    let slots = choose_slots(palette, kits, &mut rng.fork());
    if slots.is_empty() {
        return None;
    }
    let families: Vec<Family> = slots
        .iter()
        .filter_map(|s| match s {
            Slot::Melodic(v) => Some(v.timbre.family),
            Slot::Kit(..) => None,
        })
        .collect();
    let style = choose_style(&families, &mut rng.fork());
    let song = make_song(style, &mut rng.fork());
    let roles = assign_roles(&slots, &mut rng.fork());
    let has_bass = roles.contains(&Role::Bass);
    let anchor = rng.index(slots.len());
    let mut parts = Vec::new();
    for (i, (slot, role)) in slots.iter().zip(&roles).enumerate() {
        let mut part_rng = rng.fork();
        let (enter_s, exit_s) = active_span(&song, i == anchor, &mut part_rng);
        let part = match *slot {
            Slot::Melodic(voice) => {
                let (mut notes, controls) =
                    melodic_part(voice, *role, &song, has_bass, &mut part_rng);
                let timing = if voice.timbre.family.sustained() {
                    0.012
                } else {
                    0.008
                };
                humanize(&mut notes, timing, 5.0, &mut part_rng);
                trim(&mut notes, enter_s, exit_s);
                ScorePart {
                    source: PartSource::Melodic(voice),
                    role: *role,
                    notes,
                    controls,
                    hits: Vec::new(),
                    enter_s,
                    exit_s,
                }
            }
            Slot::Kit(kit, kit_use) => {
                let mut hits = drums::groove(&song, kit_use, &mut part_rng);
                hits.retain(|h| {
                    h.time_s >= enter_s - 0.02 && h.time_s < exit_s && h.time_s < CLIP_SECONDS
                });
                for h in &mut hits {
                    h.time_s += (part_rng.normal() * 0.004).clamp(-0.012, 0.012);
                    h.velocity = (f64::from(h.velocity) + part_rng.normal() * 4.0)
                        .round()
                        .clamp(1.0, 127.0) as u8;
                }
                ScorePart {
                    source: PartSource::Kit(kit),
                    role: Role::Drums,
                    notes: Vec::new(),
                    controls: Vec::new(),
                    hits,
                    enter_s,
                    exit_s,
                }
            }
        };
        if !part.notes.is_empty() || !part.hits.is_empty() {
            parts.push(part);
        }
    }
    (!parts.is_empty()).then_some(Score { song, parts })
}

#[cfg(test)]
mod tests;
