//! The music of one clip: tempo, meter, key, chords, and the timed notes of each part.

use crate::theory::{Chord, Key};

/// Length of every clip in seconds.
pub const CLIP_SECONDS: f64 = 10.0;
/// Subdivisions of one beat used by rhythm patterns (divisible by 2, 3 and 4).
pub const TICKS_PER_BEAT: u32 = 12;

/// Time signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    /// 4/4, beat = quarter note.
    Four,
    /// 3/4, beat = quarter note.
    Three,
    /// 6/8, beat = dotted quarter (two beats of three eighths).
    SixEight,
}

impl Meter {
    /// Beats per bar (6/8 counts two dotted-quarter beats).
    pub fn beats(self) -> u32 {
        match self {
            Self::Four => 4,
            Self::Three => 3,
            Self::SixEight => 2,
        }
    }

    /// Whether a beat divides in three (6/8) rather than two.
    pub fn compound(self) -> bool {
        self == Self::SixEight
    }

    /// Ticks per bar.
    pub fn bar_ticks(self) -> u32 {
        self.beats() * TICKS_PER_BEAT
    }

    /// Ticks of the basic subdivision: an eighth note (a third of a 6/8 beat).
    pub fn eighth_ticks(self) -> u32 {
        if self.compound() {
            TICKS_PER_BEAT / 3
        } else {
            TICKS_PER_BEAT / 2
        }
    }

    /// The name written in the clip's metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Four => "4/4",
            Self::Three => "3/4",
            Self::SixEight => "6/8",
        }
    }
}

/// Broad style: steers tempo, grooves and comping patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Pop,
    Rock,
    Jazz,
    Folk,
    Classical,
    Electronic,
    Latin,
    Ballad,
}

impl Style {
    /// All styles, in a fixed order.
    pub const ALL: [Style; 8] = [
        Self::Pop,
        Self::Rock,
        Self::Jazz,
        Self::Folk,
        Self::Classical,
        Self::Electronic,
        Self::Latin,
        Self::Ballad,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pop => "pop",
            Self::Rock => "rock",
            Self::Jazz => "jazz",
            Self::Folk => "folk",
            Self::Classical => "classical",
            Self::Electronic => "electronic",
            Self::Latin => "latin",
            Self::Ballad => "ballad",
        }
    }
}

/// The musical job of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Melody,
    CounterMelody,
    /// Rhythmic block chords (piano, organ, accordion oom-pah).
    Comp,
    /// Strummed chords (guitar, ukulele, banjo, mandolin).
    Strum,
    /// Broken chords and banjo rolls.
    Arpeggio,
    Bass,
    /// Sustained chords.
    Pad,
    /// Short accented brass/sax hits.
    Stabs,
    /// A drum-kit groove with fills.
    Drums,
}

impl Role {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Melody => "melody",
            Self::CounterMelody => "countermelody",
            Self::Comp => "comp",
            Self::Strum => "strum",
            Self::Arpeggio => "arpeggio",
            Self::Bass => "bass",
            Self::Pad => "pad",
            Self::Stabs => "stabs",
            Self::Drums => "drums",
        }
    }
}

/// One note: seconds from the clip start (negative before it), MIDI key and velocity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub start_s: f64,
    pub end_s: f64,
    pub key: u8,
    pub velocity: u8,
}

/// A MIDI controller change (sustain pedal, expression) at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Control {
    pub time_s: f64,
    pub controller: u8,
    pub value: u8,
}

/// Tempo, meter, key and harmony of a clip, and the mapping from bars and ticks to seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Song {
    pub style: Style,
    pub tempo_bpm: f64,
    pub meter: Meter,
    pub key: Key,
    /// One chord per bar, cycling the progression.
    pub chords: Vec<Chord>,
    /// Time of bar 0 relative to the clip start (≤ 0: the song may start before the clip).
    pub start_s: f64,
    /// 0 = straight eighths, 1 = triplet swing.
    pub swing: f64,
}

impl Song {
    /// Seconds per beat.
    pub fn beat_s(&self) -> f64 {
        60.0 / self.tempo_bpm
    }

    /// Seconds per bar.
    pub fn bar_s(&self) -> f64 {
        self.beat_s() * f64::from(self.meter.beats())
    }

    /// Number of bars, enough to cover the clip.
    pub fn bars(&self) -> u32 {
        self.chords.len() as u32
    }

    /// The chord of a bar.
    pub fn chord(&self, bar: u32) -> Chord {
        self.chords[bar as usize % self.chords.len()]
    }

    /// Seconds of a position (bar, tick within the bar, which may exceed a bar), with swing applied
    /// to off-beat eighths in simple meters.
    pub fn time(&self, bar: u32, tick: u32) -> f64 {
        let mut beats = f64::from(tick) / f64::from(TICKS_PER_BEAT);
        if !self.meter.compound() && tick % TICKS_PER_BEAT == TICKS_PER_BEAT / 2 {
            beats += self.swing / 6.0;
        }
        self.start_s + f64::from(bar) * self.bar_s() + beats * self.beat_s()
    }

    /// Seconds covered by `ticks`.
    pub fn ticks_s(&self, ticks: u32) -> f64 {
        f64::from(ticks) / f64::from(TICKS_PER_BEAT) * self.beat_s()
    }

    /// The bar playing at `time_s` (clamped to the song).
    pub fn bar_at(&self, time_s: f64) -> u32 {
        let bar = ((time_s - self.start_s) / self.bar_s()).floor().max(0.0) as u32;
        bar.min(self.bars().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::{Mode, Quality};

    fn song(meter: Meter, swing: f64) -> Song {
        let chord = Chord {
            root: 0,
            quality: Quality::Major,
        };
        Song {
            style: Style::Pop,
            tempo_bpm: 120.0,
            meter,
            key: Key {
                tonic: 0,
                mode: Mode::Major,
            },
            chords: vec![chord; 8],
            start_s: -0.5,
            swing,
        }
    }

    #[test]
    fn positions_map_to_seconds() {
        let s = song(Meter::Four, 0.0);
        assert!((s.bar_s() - 2.0).abs() < 1e-12);
        assert!((s.time(1, 0) - 1.5).abs() < 1e-12);
        assert!((s.time(0, 6) - -0.25).abs() < 1e-12);
        assert_eq!(s.bar_at(1.6), 1);
        assert_eq!(s.bar_at(-3.0), 0);
        assert_eq!(s.bar_at(100.0), 7);
        // Full swing moves the off-beat eighth to the last triplet.
        let swung = song(Meter::Four, 1.0);
        assert!((swung.time(0, 6) - (-0.5 + 2.0 / 3.0 * 0.5)).abs() < 1e-12);
        // Compound meters are never swung.
        let six = song(Meter::SixEight, 1.0);
        assert_eq!(six.meter.bar_ticks(), 24);
        assert!((six.time(0, 6) - (-0.5 + 0.25)).abs() < 1e-12);
    }
}
