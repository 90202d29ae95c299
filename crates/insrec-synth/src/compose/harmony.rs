//! Chordal parts: comping patterns, strummed chords, arpeggios and banjo rolls, sustained pads
//! and brass stabs.

use super::PartContext;
use crate::rng::ClipRng;
use crate::song::{Control, Meter, Note, Song, Style, TICKS_PER_BEAT};
use crate::theory::Chord;
use crate::timbre::Family;

/// Sustain pedal controller.
const CC_SUSTAIN: u8 = 64;
/// Expression controller.
const CC_EXPRESSION: u8 = 11;
/// Fifth string of a banjo in open G, a drone the rolls keep coming back to.
const BANJO_DRONE: u8 = 67;

/// (tick, length in ticks, accent) of the chord hits of one bar.
type Pattern = Vec<(u32, u32, f64)>;

fn comp_pattern(meter: Meter, style: Style, rng: &mut ClipRng) -> Pattern {
    let p = |v: &[(u32, u32)]| {
        v.iter()
            .map(|&(t, d)| (t, d, if t == 0 { 8.0 } else { 0.0 }))
            .collect::<Pattern>()
    };
    match meter {
        Meter::Three => match rng.index(3) {
            0 => p(&[(0, 36)]),
            1 => p(&[(0, 12), (12, 10), (24, 10)]),
            _ => p(&[(0, 24), (24, 12)]),
        },
        Meter::SixEight => match rng.index(3) {
            0 => p(&[(0, 24)]),
            1 => p(&[(0, 12), (12, 12)]),
            _ => p(&[(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4)]),
        },
        Meter::Four => match (style, rng.index(3)) {
            (Style::Jazz, 0) => p(&[(0, 5), (18, 5)]),
            (Style::Jazz, 1) => p(&[(6, 5), (24, 5), (42, 5)]),
            (Style::Jazz, _) => p(&[(0, 10), (30, 5)]),
            (Style::Latin, 0) => p(&[(0, 9), (18, 9), (36, 9)]),
            (Style::Latin, _) => p(&[(0, 6), (18, 6), (30, 6), (42, 6)]),
            (Style::Electronic, _) => p(&[(6, 4), (18, 4), (30, 4), (42, 4)]),
            (Style::Ballad | Style::Classical, 0) => p(&[(0, 48)]),
            (Style::Ballad | Style::Classical, _) => p(&[(0, 24), (24, 24)]),
            (Style::Pop, 0) => p(&[(12, 5), (36, 5)]),
            (_, 0) => p(&[(0, 12), (12, 12), (24, 12), (36, 12)]),
            (_, 1) => p(&[
                (0, 6),
                (6, 6),
                (12, 6),
                (18, 6),
                (24, 6),
                (30, 6),
                (36, 6),
                (42, 6),
            ]),
            _ => p(&[(0, 18), (18, 18), (36, 12)]),
        },
    }
}

/// A voicing band around the lower middle of the range.
fn chord_band(ctx: &PartContext) -> (u8, u8) {
    let lo = ctx.low.max(48).min(ctx.high.saturating_sub(12));
    (lo, ctx.high.min(lo + 24))
}

/// Rhythmic block chords; pianos add a left-hand root when no bass part plays, sustained styles
/// use the sustain pedal; folk 3/4 and 4/4 become oom-pah.
pub(crate) fn comp(ctx: &PartContext, rng: &mut ClipRng) -> (Vec<Note>, Vec<Control>) {
    let song = ctx.song;
    let (lo, hi) = chord_band(ctx);
    let oom_pah = ctx.family == Family::Accordion || (song.style == Style::Folk && rng.chance(0.5));
    let pattern = if oom_pah {
        match song.meter {
            Meter::Three => vec![(0, 10, 8.0), (12, 8, 0.0), (24, 8, 0.0)],
            Meter::SixEight => vec![(0, 8, 8.0), (12, 8, 0.0)],
            Meter::Four => vec![(0, 10, 8.0), (12, 8, 0.0), (24, 10, 4.0), (36, 8, 0.0)],
        }
    } else {
        comp_pattern(song.meter, song.style, rng)
    };
    let size = if rng.chance(0.5) { 3 } else { 4 };
    let bottom = lo + rng.index(7) as u8;
    let left_hand = matches!(
        ctx.family,
        Family::Piano | Family::ElectricPiano | Family::Harpsichord
    ) && !ctx.has_bass
        && rng.chance(0.6);
    let pedal = matches!(ctx.family, Family::Piano) && pattern.iter().all(|p| p.1 >= 12);
    let base_velocity = rng.range(60.0, 95.0);
    let mut notes = Vec::new();
    let mut controls = Vec::new();
    for bar in 0..song.bars() {
        let chord = song.chord(bar);
        let voicing = chord.voicing(size, bottom, lo, hi);
        let bass_key = chord.lowest_root(ctx.low.max(31), ctx.low.max(31) + 14);
        for (i, &(tick, len, accent)) in pattern.iter().enumerate() {
            let start_s = song.time(bar, tick);
            let end_s = song.time(bar, tick + len);
            let velocity = (base_velocity + accent + rng.normal() * 3.0).clamp(1.0, 127.0) as u8;
            // Oom-pah: the first hit of each half bar is the bass, the others the chord.
            let bass_hit = oom_pah && (accent > 0.0 || i == 0);
            if bass_hit {
                if let Some(k) = bass_key.or_else(|| voicing.first().copied()) {
                    notes.push(Note {
                        start_s,
                        end_s,
                        key: k,
                        velocity,
                    });
                }
                continue;
            }
            for &key in &voicing {
                notes.push(Note {
                    start_s,
                    end_s,
                    key,
                    velocity,
                });
            }
            if left_hand
                && tick == 0
                && let Some(k) = bass_key
            {
                let end = song.time(bar, tick + len.max(TICKS_PER_BEAT * 2));
                notes.push(Note {
                    start_s,
                    end_s: end,
                    key: k,
                    velocity,
                });
            }
        }
        if pedal {
            controls.push(Control {
                time_s: song.time(bar, 0) + 0.02,
                controller: CC_SUSTAIN,
                value: 127,
            });
            controls.push(Control {
                time_s: song.time(bar + 1, 0) - 0.01,
                controller: CC_SUSTAIN,
                value: 0,
            });
        }
    }
    (notes, controls)
}

/// A strummable chord shape for the instrument.
fn strum_shape(family: Family, chord: Chord, low: u8, high: u8) -> Vec<u8> {
    match family {
        Family::DistortedGuitar => {
            let Some(root) = chord.lowest_root(low, low + 12) else {
                return Vec::new();
            };
            vec![root, root + 7, root + 12]
        }
        Family::Ukulele => chord.voicing(4, 60, low, high.min(76)),
        Family::Mandolin => chord.voicing(4, 55, low, high.min(79)),
        Family::Banjo => chord.voicing(4, 55, low, high.min(74)),
        _ => {
            // Guitar: root on a low string, then chord tones at least a minor third apart.
            let Some(root) = chord.lowest_root(low, low + 12) else {
                return Vec::new();
            };
            let mut shape = vec![root];
            for k in chord.keys_in(root + 3, high.min(76)) {
                if shape.len() >= 6 {
                    break;
                }
                if k >= shape[shape.len() - 1] + 3 {
                    shape.push(k);
                }
            }
            shape
        }
    }
}

/// (tick, down stroke?, accent) of one bar of strumming.
fn strum_pattern(
    meter: Meter,
    style: Style,
    family: Family,
    rng: &mut ClipRng,
) -> Vec<(u32, bool, f64)> {
    let d = |v: &[(u32, bool)]| {
        v.iter()
            .map(|&(t, down)| {
                (
                    t,
                    down,
                    if t == 0 {
                        10.0
                    } else if down {
                        3.0
                    } else {
                        -6.0
                    },
                )
            })
            .collect()
    };
    match meter {
        Meter::Three => match rng.index(2) {
            0 => d(&[(0, true), (12, true), (24, true)]),
            _ => d(&[(0, true), (12, true), (18, false), (24, true), (30, false)]),
        },
        Meter::SixEight => match rng.index(2) {
            0 => d(&[(0, true), (8, false), (12, true), (20, false)]),
            _ => d(&[
                (0, true),
                (4, false),
                (8, true),
                (12, true),
                (16, false),
                (20, true),
            ]),
        },
        Meter::Four
            if family == Family::DistortedGuitar || (style == Style::Rock && rng.chance(0.5)) =>
        {
            d(&[
                (0, true),
                (6, true),
                (12, true),
                (18, true),
                (24, true),
                (30, true),
                (36, true),
                (42, true),
            ])
        }
        Meter::Four => match rng.index(4) {
            0 => d(&[(0, true), (12, true), (24, true), (36, true)]),
            1 => d(&[
                (0, true),
                (12, true),
                (18, false),
                (30, false),
                (36, true),
                (42, false),
            ]),
            2 => d(&[
                (0, true),
                (6, false),
                (12, true),
                (18, false),
                (24, true),
                (30, false),
                (36, true),
                (42, false),
            ]),
            _ if family == Family::Mandolin || family == Family::Banjo => (0..16)
                .map(|i| (i * 3, i % 2 == 0, if i % 4 == 0 { 6.0 } else { -4.0 }))
                .collect(),
            _ => d(&[(0, true), (18, false), (24, true), (36, true), (42, false)]),
        },
    }
}

/// Strummed chords: strings sound one after another (low to high on a down stroke, the top
/// strings high to low on an up stroke), with palm-muted strokes now and then.
pub(crate) fn strum(ctx: &PartContext, rng: &mut ClipRng) -> Vec<Note> {
    let song = ctx.song;
    let pattern = strum_pattern(song.meter, song.style, ctx.family, rng);
    let spread_s = rng.range(0.008, 0.02);
    let mute_p = if ctx.family == Family::DistortedGuitar {
        rng.range(0.0, 0.6)
    } else {
        rng.range(0.0, 0.2)
    };
    let base_velocity = rng.range(70.0, 100.0);
    let mut notes = Vec::new();
    for bar in 0..song.bars() {
        let shape = strum_shape(ctx.family, song.chord(bar), ctx.low, ctx.high);
        if shape.is_empty() {
            continue;
        }
        for (i, &(tick, down, accent)) in pattern.iter().enumerate() {
            let start_s = song.time(bar, tick);
            let next_s = pattern
                .get(i + 1)
                .map_or_else(|| song.time(bar + 1, 0), |n| song.time(bar, n.0));
            let muted = rng.chance(mute_p);
            let end_s = if muted {
                start_s + rng.range(0.08, 0.15)
            } else {
                next_s - 0.01
            };
            let strings: Vec<u8> = if down {
                shape.clone()
            } else {
                shape
                    .iter()
                    .rev()
                    .take(4.min(shape.len()))
                    .copied()
                    .collect()
            };
            let spread = if down { spread_s } else { spread_s * 0.6 };
            for (s, &key) in strings.iter().enumerate() {
                let t = start_s + s as f64 * spread;
                let velocity = (base_velocity + accent - s as f64 * 1.5 + rng.normal() * 3.0)
                    .clamp(1.0, 127.0) as u8;
                notes.push(Note {
                    start_s: t,
                    end_s: end_s.max(t + 0.05),
                    key,
                    velocity,
                });
            }
        }
    }
    notes
}

/// Broken chords (up, down, up-down, Alberti) or, on a banjo, forward rolls over a drone.
pub(crate) fn arpeggio(ctx: &PartContext, rng: &mut ClipRng) -> Vec<Note> {
    let song = ctx.song;
    let max_rate = if ctx.family.sustained() {
        ctx.family.max_notes_per_s()
    } else {
        10.0
    };
    let eighth = song.meter.eighth_ticks();
    let step = if song.ticks_s(eighth / 2) >= 1.0 / max_rate && rng.chance(0.5) {
        eighth / 2
    } else {
        eighth
    };
    let step = if song.ticks_s(step) < 1.0 / max_rate {
        eighth * 2
    } else {
        step
    };
    let banjo_roll = ctx.family == Family::Banjo;
    let shape_kind = rng.index(4);
    let span = f64::from(ctx.high - ctx.low);
    let lo = (f64::from(ctx.low) + span * 0.2).round() as u8;
    let hi = (lo + rng.int(12, 19) as u8).min(ctx.high);
    let ring = if ctx.family.sustained() {
        0.9
    } else {
        rng.range(1.5, 3.0)
    };
    let base_velocity = rng.range(58.0, 92.0);
    let mut notes = Vec::new();
    for bar in 0..song.bars() {
        let chord = song.chord(bar);
        let tones = if banjo_roll {
            chord.voicing(3, 55, 50, 74)
        } else {
            chord.keys_in(lo, hi)
        };
        if tones.is_empty() {
            continue;
        }
        let n = tones.len();
        let steps = song.meter.bar_ticks() / step;
        for i in 0..steps {
            let i = i as usize;
            let key = if banjo_roll {
                // Forward roll thumb-index-middle; the thumb often plays the drone string.
                let finger = [0, 1, 2, 0, 1, 2, 0, 2][i % 8];
                if finger == 0 && i % 2 == 1 {
                    BANJO_DRONE
                } else {
                    tones[finger.min(n - 1)]
                }
            } else {
                match shape_kind {
                    0 => tones[i % n],
                    1 => tones[n - 1 - i % n],
                    2 => {
                        let period = (2 * n).saturating_sub(2).max(1);
                        let j = i % period;
                        tones[if j < n { j } else { period - j }]
                    }
                    _ => tones[[0, n - 1, n / 2, n - 1][i % 4]],
                }
            };
            let tick = i as u32 * step;
            let start_s = song.time(bar, tick);
            let end_s = start_s + song.ticks_s(step) * ring;
            let accent = if tick.is_multiple_of(TICKS_PER_BEAT) {
                6.0
            } else {
                0.0
            };
            let velocity = (base_velocity + accent + rng.normal() * 4.0).clamp(1.0, 127.0) as u8;
            notes.push(Note {
                start_s,
                end_s,
                key,
                velocity,
            });
        }
    }
    notes
}

/// Sustained chords, one per chord change; notes common to two chords are held over. Monophonic
/// instruments hold the chord tone nearest their last note. Optional expression swells.
pub(crate) fn pad(ctx: &PartContext, rng: &mut ClipRng) -> (Vec<Note>, Vec<Control>) {
    let song = ctx.song;
    let (lo, hi) = chord_band(ctx);
    let size = if ctx.family.monophonic() {
        1
    } else if rng.chance(0.5) {
        3
    } else {
        4
    };
    let bottom = lo + rng.index(7) as u8;
    let velocity = rng.range(55.0, 90.0) as u8;
    let mut notes: Vec<Note> = Vec::new();
    let mut held: Vec<usize> = Vec::new();
    let mut last_key = bottom;
    let mut bar = 0;
    while bar < song.bars() {
        let chord = song.chord(bar);
        let mut end_bar = bar + 1;
        while end_bar < song.bars() && song.chord(end_bar) == chord {
            end_bar += 1;
        }
        let voicing = if size == 1 {
            chord.nearest(last_key, lo, hi).into_iter().collect()
        } else {
            chord.voicing(size, bottom, lo, hi)
        };
        let start_s = song.time(bar, 0);
        let end_s = song.time(end_bar, 0) - 0.03;
        let mut still_held = Vec::new();
        for &key in &voicing {
            if let Some(&i) = held.iter().find(|&&i| notes[i].key == key) {
                notes[i].end_s = end_s;
                still_held.push(i);
            } else {
                still_held.push(notes.len());
                notes.push(Note {
                    start_s,
                    end_s,
                    key,
                    velocity,
                });
            }
        }
        last_key = voicing.first().copied().unwrap_or(last_key);
        held = still_held;
        bar = end_bar;
    }
    let mut controls = Vec::new();
    if rng.chance(0.5) {
        // Swell within every bar: 70 → 115 → 90 in steps of 50 ms.
        for bar in 0..song.bars() {
            let (t0, t1) = (song.time(bar, 0), song.time(bar + 1, 0));
            let steps = ((t1 - t0) / 0.05) as usize;
            for s in 0..steps {
                let x = s as f64 / steps.max(1) as f64;
                let value = if x < 0.5 {
                    70.0 + 90.0 * x
                } else {
                    115.0 - 50.0 * (x - 0.5)
                };
                controls.push(Control {
                    time_s: t0 + s as f64 * 0.05,
                    controller: CC_EXPRESSION,
                    value: value as u8,
                });
            }
        }
    }
    (notes, controls)
}

/// Short accented hits on syncopated positions, in some bars only.
pub(crate) fn stabs(ctx: &PartContext, rng: &mut ClipRng) -> Vec<Note> {
    let song: &Song = ctx.song;
    let (lo, hi) = chord_band(ctx);
    let positions: Vec<u32> = match song.meter {
        Meter::Four => {
            [vec![18, 42], vec![12, 36], vec![0, 18, 36], vec![6, 30]][rng.index(4)].clone()
        }
        Meter::Three => vec![12, 24],
        Meter::SixEight => vec![8, 20],
    };
    let size = if ctx.family.monophonic() { 1 } else { 3 };
    let length_s = rng.range(0.09, 0.2);
    let mut notes = Vec::new();
    for bar in 0..song.bars() {
        if !rng.chance(0.75) {
            continue;
        }
        let chord = song.chord(bar);
        let mut voicing = chord.voicing(3, lo + (hi - lo) / 3, lo, hi);
        if size == 1 {
            voicing = voicing.last().copied().into_iter().collect();
        }
        for &tick in &positions {
            let start_s = song.time(bar, tick);
            let velocity = rng.range(92.0, 122.0) as u8;
            for &key in &voicing {
                notes.push(Note {
                    start_s,
                    end_s: start_s + length_s,
                    key,
                    velocity,
                });
            }
        }
    }
    notes
}
