//! Bass lines: sustained roots, root–fifth, eighth-note pumping, off-beat octaves and jazz walking.

use super::PartContext;
use crate::rng::ClipRng;
use crate::song::{Meter, Note, Style, TICKS_PER_BEAT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Whole,
    RootFifth,
    Pump,
    OffbeatOctave,
    Walking,
    Syncopated,
}

fn pattern(meter: Meter, style: Style, rng: &mut ClipRng) -> Pattern {
    use Pattern::*;
    if meter != Meter::Four {
        return if rng.chance(0.5) { Whole } else { RootFifth };
    }
    let options: &[Pattern] = match style {
        Style::Jazz => &[Walking, Walking, RootFifth],
        Style::Rock => &[Pump, Pump, RootFifth],
        Style::Electronic => &[OffbeatOctave, Pump],
        Style::Latin => &[Syncopated, RootFifth],
        Style::Ballad | Style::Classical => &[Whole, RootFifth],
        Style::Folk => &[RootFifth, RootFifth, Whole],
        Style::Pop => &[Pump, Syncopated, RootFifth, Whole],
    };
    options[rng.index(options.len())]
}

/// A bass line following the chords in the lowest octave of the instrument.
pub(crate) fn bass_line(ctx: &PartContext, rng: &mut ClipRng) -> Vec<Note> {
    let song = ctx.song;
    let pattern = pattern(song.meter, song.style, rng);
    let low = ctx.low;
    let high = ctx.high.min(low + 24);
    let base_velocity = rng.range(80.0, 108.0);
    let beat = TICKS_PER_BEAT;
    let bar_ticks = song.meter.bar_ticks();
    let mut notes = Vec::new();
    for bar in 0..song.bars() {
        let chord = song.chord(bar);
        let next_chord = song.chord(bar + 1);
        let Some(root) = chord.lowest_root(low, low + 12) else {
            continue;
        };
        let fifth = if root + 7 <= high {
            root + 7
        } else {
            root.saturating_sub(5).max(low)
        };
        let octave = if root + 12 <= high { root + 12 } else { root };
        // (tick, ticks, key, accent)
        let hits: Vec<(u32, u32, u8, f64)> = match pattern {
            Pattern::Whole => vec![(0, bar_ticks, root, 6.0)],
            Pattern::RootFifth => {
                if song.meter == Meter::Four {
                    vec![(0, 2 * beat, root, 6.0), (2 * beat, 2 * beat, fifth, 0.0)]
                } else {
                    vec![
                        (0, bar_ticks / 2, root, 6.0),
                        (bar_ticks / 2, bar_ticks / 2, fifth, 0.0),
                    ]
                }
            }
            Pattern::Pump => (0..8)
                .map(|i| {
                    (
                        i * beat / 2,
                        beat / 2,
                        root,
                        if i % 2 == 0 { 4.0 } else { -4.0 },
                    )
                })
                .collect(),
            Pattern::OffbeatOctave => (0..4)
                .map(|i| {
                    (
                        i * beat + beat / 2,
                        beat / 2,
                        if i % 2 == 0 { root } else { octave },
                        0.0,
                    )
                })
                .collect(),
            Pattern::Syncopated => vec![
                (0, 18, root, 6.0),
                (18, 6, fifth, 0.0),
                (24, 12, octave, 2.0),
                (36, 12, root, 0.0),
            ],
            Pattern::Walking => {
                let target = next_chord.lowest_root(low, low + 12).unwrap_or(root);
                let tones = chord.keys_in(low, high);
                let mid = tones
                    .get(1 + rng.index(tones.len().saturating_sub(1).max(1)))
                    .copied()
                    .unwrap_or(fifth);
                let third = tones
                    .iter()
                    .copied()
                    .filter(|&k| k > root)
                    .nth(rng.index(2))
                    .unwrap_or(fifth);
                // Beat 4 approaches the next root by a semitone.
                let approach = if rng.chance(0.5) {
                    target + 1
                } else {
                    target.saturating_sub(1).max(low)
                };
                vec![
                    (0, beat, root, 6.0),
                    (beat, beat, third, 0.0),
                    (2 * beat, beat, mid, 2.0),
                    (3 * beat, beat, approach.min(high), 0.0),
                ]
            }
        };
        for (tick, len, key, accent) in hits {
            let start_s = song.time(bar, tick);
            let end_s = start_s + song.ticks_s(len) * 0.9;
            let velocity = (base_velocity + accent + rng.normal() * 3.0).clamp(1.0, 127.0) as u8;
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
