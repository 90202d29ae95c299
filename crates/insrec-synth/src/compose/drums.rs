//! Drum grooves per style and meter: hi-hat or ride time, kick and snare (or side stick), ghost
//! notes, open hi-hats, fills on toms or snare at the end of four-bar phrases and crashes after
//! them. A kit part can be restricted to drums only or cymbals only.

use super::{DrumHit, KitUse};
use crate::kit::KitPiece::{self, *};
use crate::rng::ClipRng;
use crate::song::{Meter, Song, Style};

/// (tick, piece, velocity) hits of one bar.
type Bar = Vec<(u32, KitPiece, f64)>;

fn even(pieces: KitPiece, every: u32, bar_ticks: u32, velocity: f64, accent: f64) -> Bar {
    (0..bar_ticks / every)
        .map(|i| {
            (
                i * every,
                pieces,
                if (i * every).is_multiple_of(12) {
                    velocity + accent
                } else {
                    velocity
                },
            )
        })
        .collect()
}

/// The basic groove of one bar.
fn groove_bar(song: &Song, time_piece: KitPiece, sixteenths: bool, variant: usize) -> Bar {
    let bar_ticks = song.meter.bar_ticks();
    let mut hits = Bar::new();
    match (song.meter, song.style) {
        (Meter::Three, _) => {
            hits.extend(even(time_piece, 12, bar_ticks, 70.0, 8.0));
            hits.push((0, Kick, 100.0));
            hits.push((12, Snare, 80.0));
            hits.push((24, Snare, 75.0));
        }
        (Meter::SixEight, _) => {
            hits.extend(even(time_piece, 4, bar_ticks, 68.0, 12.0));
            hits.push((0, Kick, 100.0));
            hits.push((12, Snare, 95.0));
            if variant % 2 == 1 {
                hits.push((20, Kick, 80.0));
            }
        }
        (Meter::Four, Style::Jazz) => {
            for (t, v) in [
                (0, 80.0),
                (12, 85.0),
                (20, 65.0),
                (24, 80.0),
                (36, 85.0),
                (44, 65.0),
            ] {
                hits.push((t, Ride, v));
            }
            hits.push((12, HatPedal, 70.0));
            hits.push((36, HatPedal, 70.0));
            for t in [0, 12, 24, 36] {
                hits.push((t, Kick, 35.0));
            }
            hits.push(([20, 32, 44][variant % 3], Snare, 50.0));
        }
        (Meter::Four, Style::Electronic) => {
            for t in [0, 12, 24, 36] {
                hits.push((t, Kick, 110.0));
            }
            if variant.is_multiple_of(2) {
                for t in [6, 18, 30, 42] {
                    hits.push((t, HatOpen, 75.0));
                }
            } else {
                hits.extend(even(HatClosed, 3, bar_ticks, 60.0, 15.0));
            }
            hits.push((12, Snare, 100.0));
            hits.push((36, Snare, 100.0));
        }
        (Meter::Four, Style::Latin) => {
            hits.extend(even(time_piece, 6, bar_ticks, 65.0, 10.0));
            for t in [0, 18, 24, 42] {
                hits.push((t, Kick, 85.0));
            }
            let clave: &[u32] = if variant.is_multiple_of(2) {
                &[0, 9, 18, 30, 36]
            } else {
                &[6, 24, 36]
            };
            for &t in clave {
                hits.push((t, SideStick, 85.0));
            }
        }
        (Meter::Four, Style::Ballad | Style::Classical) => {
            hits.extend(even(time_piece, 6, bar_ticks, 55.0, 10.0));
            hits.push((0, Kick, 90.0));
            if variant % 2 == 1 {
                hits.push((30, Kick, 75.0));
            }
            hits.push((12, SideStick, 80.0));
            hits.push((36, SideStick, 80.0));
        }
        (Meter::Four, _) => {
            let every = if sixteenths { 3 } else { 6 };
            hits.extend(even(time_piece, every, bar_ticks, 70.0, 14.0));
            hits.push((0, Kick, 105.0));
            hits.push((24, Kick, 100.0));
            match variant % 4 {
                1 => hits.push((30, Kick, 85.0)),
                2 => hits.push((18, Kick, 85.0)),
                3 => hits.push((42, Kick, 80.0)),
                _ => {}
            }
            hits.push((12, Snare, 105.0));
            hits.push((36, Snare, 105.0));
        }
    }
    hits
}

/// A fill over the last `beats` beats of a bar: sixteenths down the toms, or a snare run.
fn fill(song: &Song, beats: u32, on_toms: bool) -> Bar {
    let bar_ticks = song.meter.bar_ticks();
    let step = if song.meter.compound() { 4 } else { 3 };
    let start = bar_ticks - beats * 12;
    let count = beats * 12 / step;
    let toms = [
        TomHigh, TomHigh, TomMid, TomMid, TomLow, TomLow, TomFloor, TomFloor,
    ];
    (0..count)
        .map(|i| {
            let piece = if on_toms {
                toms[(i * 8 / count.max(1)) as usize % 8]
            } else {
                Snare
            };
            (
                start + i * step,
                piece,
                70.0 + 40.0 * f64::from(i) / f64::from(count.max(1)),
            )
        })
        .collect()
}

/// Drum hits for the whole song (clip seconds).
pub(crate) fn groove(song: &Song, kit_use: KitUse, rng: &mut ClipRng) -> Vec<DrumHit> {
    let time_piece = match song.style {
        Style::Jazz => Ride,
        _ if rng.chance(0.2) => Ride,
        _ => HatClosed,
    };
    let sixteenths = song.tempo_bpm < 110.0 && rng.chance(0.35);
    let variant = rng.index(12);
    let fill_p = rng.range(0.3, 0.8);
    let ghost_p = if matches!(song.style, Style::Pop | Style::Rock | Style::Latin) {
        rng.range(0.0, 0.5)
    } else {
        0.0
    };
    let open_hat_p = rng.range(0.0, 0.4);
    let aux = match song.style {
        Style::Pop | Style::Latin | Style::Folk if rng.chance(0.25) => {
            Some(if rng.chance(0.5) { Tambourine } else { Shaker })
        }
        _ => None,
    };
    let base = rng.range(-12.0, 8.0);
    let mut crash_next = rng.chance(0.4);
    let mut hits = Vec::new();
    for bar in 0..song.bars() {
        let mut bar_hits = groove_bar(
            song,
            time_piece,
            sixteenths,
            variant + (bar as usize % 2) * rng.index(2),
        );
        let bar_ticks = song.meter.bar_ticks();
        if crash_next {
            bar_hits.retain(|h| !(h.0 == 0 && matches!(h.1, HatClosed | Ride)));
            bar_hits.push((0, Crash, 105.0));
            bar_hits.push((0, Kick, 105.0));
            crash_next = false;
        }
        if rng.chance(ghost_p) {
            bar_hits.push((
                [9, 21, 33, 45][rng.index(4)].min(bar_ticks - 3),
                Snare,
                rng.range(22.0, 40.0),
            ));
        }
        if time_piece == HatClosed && rng.chance(open_hat_p) {
            let last_off = bar_ticks - 6;
            bar_hits.retain(|h| !(h.0 == last_off && h.1 == HatClosed));
            bar_hits.push((last_off, HatOpen, 80.0));
        }
        if let Some(piece) = aux {
            let every = if piece == Shaker { 6 } else { 12 };
            for t in (0..bar_ticks).step_by(every as usize) {
                if piece == Shaker || (t / 12) % 2 == 1 {
                    bar_hits.push((t, piece, if t % 12 == 0 { 70.0 } else { 55.0 }));
                }
            }
        }
        if bar % 4 == 3 && rng.chance(fill_p) {
            let beats = if rng.chance(0.4) { 2 } else { 1 }.min(song.meter.beats());
            let start = bar_ticks - beats * 12;
            bar_hits.retain(|h| h.0 < start || h.1 == Kick && h.0 == start);
            bar_hits.extend(fill(song, beats, rng.chance(0.65)));
            crash_next = true;
        }
        for (tick, piece, velocity) in bar_hits {
            let wanted = match piece.class() {
                Some(insrec_core::Instrument::Drums) => kit_use.drums,
                Some(insrec_core::Instrument::Cymbals) => kit_use.cymbals,
                _ => kit_use.drums || kit_use.cymbals,
            };
            if !wanted {
                continue;
            }
            let velocity = (velocity + base).clamp(1.0, 127.0) as u8;
            hits.push(DrumHit {
                time_s: song.time(bar, tick),
                piece,
                velocity,
            });
        }
    }
    if kit_use.drums && !kit_use.cymbals {
        // Without cymbals, keep time on the floor tom in some clips.
        if rng.chance(0.4) {
            let beat_s = song.beat_s();
            let n = ((10.0 - song.start_s) / beat_s) as usize;
            hits.extend((0..n).map(|i| DrumHit {
                time_s: song.start_s + i as f64 * beat_s,
                piece: TomFloor,
                velocity: 70,
            }));
        }
    }
    hits.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::{Chord, Key, Mode, Quality};
    use insrec_core::Instrument;

    fn song(style: Style, meter: Meter) -> Song {
        Song {
            style,
            tempo_bpm: 100.0,
            meter,
            key: Key {
                tonic: 0,
                mode: Mode::Major,
            },
            chords: vec![
                Chord {
                    root: 0,
                    quality: Quality::Major
                };
                6
            ],
            start_s: -0.3,
            swing: 0.0,
        }
    }

    #[test]
    fn grooves_respect_the_kit_restriction() {
        let mut rng = ClipRng::for_clip(2, 2);
        for style in Style::ALL {
            for meter in [Meter::Four, Meter::Three, Meter::SixEight] {
                let s = song(style, meter);
                let full = groove(
                    &s,
                    KitUse {
                        drums: true,
                        cymbals: true,
                    },
                    &mut rng,
                );
                assert!(
                    full.iter()
                        .any(|h| h.piece.class() == Some(Instrument::Drums)),
                    "{style:?} {meter:?}"
                );
                assert!(
                    full.iter()
                        .any(|h| h.piece.class() == Some(Instrument::Cymbals)),
                    "{style:?} {meter:?}"
                );
                let drums = groove(
                    &s,
                    KitUse {
                        drums: true,
                        cymbals: false,
                    },
                    &mut rng,
                );
                assert!(
                    drums
                        .iter()
                        .all(|h| h.piece.class() != Some(Instrument::Cymbals))
                );
                let cymbals = groove(
                    &s,
                    KitUse {
                        drums: false,
                        cymbals: true,
                    },
                    &mut rng,
                );
                assert!(!cymbals.is_empty());
                assert!(
                    cymbals
                        .iter()
                        .all(|h| h.piece.class() != Some(Instrument::Drums))
                );
                assert!(full.windows(2).all(|w| w[0].time_s <= w[1].time_s));
            }
        }
    }
}
