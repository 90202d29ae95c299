//! Melodies and counter-melodies: a repeated rhythmic motif per phrase, a scale walk that lands on
//! chord tones on strong beats, breaths between phrases, and mandolin tremolo.

use super::PartContext;
use crate::rng::ClipRng;
use crate::song::{Note, TICKS_PER_BEAT};
use crate::timbre::Family;

/// Mandolin tremolo: repeated notes per second.
const TREMOLO_HZ: f64 = 13.0;

/// One bar of note lengths in ticks (they sum to the bar).
fn rhythm_bar(units: &[u32], bar_ticks: u32, rng: &mut ClipRng) -> Vec<u32> {
    let smallest = units.iter().copied().min().unwrap_or(TICKS_PER_BEAT);
    let primary = units[rng.index(units.len())];
    let mut out = Vec::new();
    let mut used = 0;
    while used < bar_ticks {
        let choice = match rng.weighted(&[0.55, 0.2, 0.1, 0.15]) {
            Some(1) => primary * 2,
            Some(2) => primary / 2,
            Some(3) => primary * 3 / 2,
            _ => primary,
        };
        let left = bar_ticks - used;
        let mut d =
            if choice >= smallest && units.iter().any(|&u| choice % u == 0 || u % choice == 0) {
                choice
            } else {
                primary
            };
        d = d.min(left);
        if left - d < smallest {
            d = left;
        }
        out.push(d);
        used += d;
    }
    out
}

/// A melody (or, with `counter`, a slower line lower in the range built on guide tones).
pub(crate) fn melody(ctx: &PartContext, counter: bool, rng: &mut ClipRng) -> Vec<Note> {
    let song = ctx.song;
    let bar_ticks = song.meter.bar_ticks();
    let span = f64::from(ctx.high - ctx.low);
    let center = (f64::from(ctx.low) + span * if counter { 0.4 } else { 0.62 }).round() as u8;
    let band_lo = ctx.low.max(center.saturating_sub(10));
    let band_hi = ctx.high.min(center + 10);
    let scale = song.key.scale_keys(band_lo, band_hi);
    if scale.len() < 3 {
        return Vec::new();
    }
    let min_note_s = 1.0 / ctx.family.max_notes_per_s();
    let all_units: &[u32] = if song.meter.compound() {
        &[2, 4, 12, 24]
    } else {
        &[3, 6, 12, 24]
    };
    let mut units: Vec<u32> = all_units
        .iter()
        .copied()
        .filter(|&u| song.ticks_s(u) >= min_note_s)
        .collect();
    if counter {
        units.retain(|&u| u >= TICKS_PER_BEAT);
    }
    if units.is_empty() {
        units.push(*all_units.last().unwrap_or(&TICKS_PER_BEAT));
    }
    let phrase_bars = if song.bar_s() < 2.5 { 2 } else { 1 };
    let staccato =
        matches!(ctx.family, Family::Brass | Family::Sax | Family::Mallet) && rng.chance(0.25);
    let legato = if staccato {
        0.55
    } else if ctx.family.sustained() {
        0.93
    } else {
        0.98
    };
    let rest_p = if counter { 0.15 } else { 0.1 };
    let tremolo = ctx.family == Family::Mandolin && rng.chance(0.7);

    let mut notes = Vec::new();
    let mut idx = scale
        .iter()
        .position(|&k| k >= center)
        .unwrap_or(scale.len() / 2);
    let motif = rhythm_bar(&units, bar_ticks, rng);
    let mut bar = 0;
    while bar < song.bars() {
        let base_velocity = rng.range(62.0, 102.0);
        for b in 0..phrase_bars {
            let this_bar = bar + b;
            if this_bar >= song.bars() {
                break;
            }
            let rhythm = if b == 0 || rng.chance(0.5) {
                motif.clone()
            } else {
                rhythm_bar(&units, bar_ticks, rng)
            };
            let chord = song.chord(this_bar);
            let mut tick = 0;
            for (n, &dur) in rhythm.iter().enumerate() {
                let last_of_phrase = b + 1 == phrase_bars && n + 1 == rhythm.len();
                let start_tick = tick;
                tick += dur;
                if (n > 0 || b > 0) && rng.chance(rest_p) {
                    continue;
                }
                // Pitch: chord tones on strong beats, otherwise steps and small leaps.
                let strong = start_tick % TICKS_PER_BEAT == 0;
                let toward_center = if scale[idx] > center + 4 {
                    -1
                } else if scale[idx] + 4 < center {
                    1
                } else {
                    0
                };
                let dir = if toward_center != 0 && rng.chance(0.7) {
                    toward_center
                } else if rng.chance(0.5) {
                    1
                } else {
                    -1
                };
                let step = match rng.weighted(&[0.6, 0.25, 0.15]) {
                    Some(1) => 2,
                    Some(2) => 3 + rng.index(2) as i32,
                    _ => 1,
                };
                let step = if counter && rng.chance(0.4) { 0 } else { step };
                idx = (idx as i32 + dir * step).clamp(0, scale.len() as i32 - 1) as usize;
                if (strong || counter)
                    && !chord.contains(scale[idx])
                    && rng.chance(if counter { 0.85 } else { 0.65 })
                    && let Some(k) = chord.nearest(scale[idx], band_lo, band_hi)
                {
                    idx = scale.iter().position(|&s| s >= k).unwrap_or(idx);
                }
                let key = scale[idx];
                let start_s = song.time(this_bar, start_tick);
                let mut end_s = song.time(this_bar, start_tick + dur);
                let length = end_s - start_s;
                end_s = start_s
                    + length
                        * if last_of_phrase && ctx.family.sustained() {
                            0.75
                        } else {
                            legato
                        };
                let accent = if start_tick == 0 {
                    8.0
                } else if strong {
                    3.0
                } else {
                    -5.0
                };
                let velocity = (base_velocity + accent + b as f64 * 3.0).clamp(1.0, 127.0) as u8;
                if tremolo && length >= song.beat_s() * 0.9 {
                    let count = (length * TREMOLO_HZ).round().max(2.0) as usize;
                    for r in 0..count {
                        let s = start_s + length * r as f64 / count as f64;
                        let v = if r % 2 == 0 {
                            velocity
                        } else {
                            velocity.saturating_sub(12).max(1)
                        };
                        notes.push(Note {
                            start_s: s,
                            end_s: s + length / count as f64 * 0.95,
                            key,
                            velocity: v,
                        });
                    }
                } else {
                    notes.push(Note {
                        start_s,
                        end_s,
                        key,
                        velocity,
                    });
                }
            }
        }
        bar += phrase_bars;
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhythm_bars_fill_the_bar_exactly() {
        let mut rng = ClipRng::for_clip(5, 5);
        for bar_ticks in [24, 36, 48] {
            for _ in 0..200 {
                let r = rhythm_bar(&[3, 6, 12, 24], bar_ticks, &mut rng);
                assert_eq!(r.iter().sum::<u32>(), bar_ticks, "{r:?}");
                assert!(r.iter().all(|&d| d >= 3), "{r:?}");
            }
        }
    }
}
