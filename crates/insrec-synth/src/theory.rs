//! Keys, chords and chord progressions.

use crate::rng::ClipRng;

/// The scale of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Major,
    Minor,
    Dorian,
    Mixolydian,
}

impl Mode {
    /// Semitones of the seven scale degrees above the tonic.
    pub fn intervals(self) -> [u8; 7] {
        match self {
            Self::Major => [0, 2, 4, 5, 7, 9, 11],
            Self::Minor => [0, 2, 3, 5, 7, 8, 10],
            Self::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Self::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
        }
    }
}

/// A key: tonic pitch class (0 = C) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

impl Key {
    /// Whether a MIDI key belongs to the scale.
    pub fn contains(self, midi: u8) -> bool {
        let pc = (midi + 12 - self.tonic) % 12;
        self.mode.intervals().contains(&pc)
    }

    /// The scale keys in `lo..=hi`, ascending.
    pub fn scale_keys(self, lo: u8, hi: u8) -> Vec<u8> {
        (lo..=hi).filter(|&k| self.contains(k)).collect()
    }
}

/// Chord quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    Major,
    Minor,
    Diminished,
    Sus4,
    Dominant7,
    Major7,
    Minor7,
}

impl Quality {
    /// Semitones above the root.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Self::Major => &[0, 4, 7],
            Self::Minor => &[0, 3, 7],
            Self::Diminished => &[0, 3, 6],
            Self::Sus4 => &[0, 5, 7],
            Self::Dominant7 => &[0, 4, 7, 10],
            Self::Major7 => &[0, 4, 7, 11],
            Self::Minor7 => &[0, 3, 7, 10],
        }
    }
}

/// A chord: root pitch class and quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub root: u8,
    pub quality: Quality,
}

impl Chord {
    /// Pitch classes of the chord, root first.
    pub fn pitch_classes(self) -> impl Iterator<Item = u8> {
        self.quality
            .intervals()
            .iter()
            .map(move |i| (self.root + i) % 12)
    }

    /// Whether a MIDI key is a chord tone.
    pub fn contains(self, midi: u8) -> bool {
        self.pitch_classes().any(|pc| pc == midi % 12)
    }

    /// Chord tones in `lo..=hi`, ascending.
    pub fn keys_in(self, lo: u8, hi: u8) -> Vec<u8> {
        (lo..=hi).filter(|&k| self.contains(k)).collect()
    }

    /// The lowest root in `lo..=hi`, or the lowest chord tone when no root fits.
    pub fn lowest_root(self, lo: u8, hi: u8) -> Option<u8> {
        (lo..=hi)
            .find(|k| k % 12 == self.root)
            .or_else(|| self.keys_in(lo, hi).first().copied())
    }

    /// The chord tone nearest to `target` inside `lo..=hi`.
    pub fn nearest(self, target: u8, lo: u8, hi: u8) -> Option<u8> {
        self.keys_in(lo, hi)
            .into_iter()
            .min_by_key(|&k| (i32::from(k) - i32::from(target)).abs())
    }

    /// A close voicing of `n` notes whose lowest note is the chord tone nearest `bottom`.
    pub fn voicing(self, n: usize, bottom: u8, lo: u8, hi: u8) -> Vec<u8> {
        let tones = self.keys_in(lo, hi);
        let Some(start) = tones
            .iter()
            .position(|&k| k >= bottom)
            .or(tones.len().checked_sub(n))
        else {
            return tones;
        };
        let start = start.min(tones.len().saturating_sub(n));
        tones[start..(start + n).min(tones.len())].to_vec()
    }
}

/// Progressions as (semitones above the tonic, quality), one chord per harmonic step.
const MAJOR: &[&[(u8, Quality)]] = {
    use Quality::*;
    &[
        &[(0, Major), (7, Major), (9, Minor), (5, Major)],
        &[(0, Major), (9, Minor), (5, Major), (7, Major)],
        &[(9, Minor), (5, Major), (0, Major), (7, Major)],
        &[(0, Major), (5, Major), (7, Major), (5, Major)],
        &[(2, Minor7), (7, Dominant7), (0, Major7), (0, Major7)],
        &[(0, Major), (4, Minor), (5, Major), (7, Major)],
        &[(5, Major), (7, Major), (4, Minor), (9, Minor)],
        &[(0, Major), (5, Major), (0, Major), (7, Dominant7)],
        &[(0, Major7), (9, Minor7), (2, Minor7), (7, Dominant7)],
        &[
            (0, Dominant7),
            (5, Dominant7),
            (0, Dominant7),
            (7, Dominant7),
        ],
        &[(0, Major), (7, Sus4), (7, Major), (0, Major)],
    ]
};

const MINOR: &[&[(u8, Quality)]] = {
    use Quality::*;
    &[
        &[(0, Minor), (8, Major), (3, Major), (10, Major)],
        &[(0, Minor), (5, Minor), (7, Minor), (0, Minor)],
        &[(0, Minor), (10, Major), (8, Major), (10, Major)],
        &[(0, Minor), (5, Minor), (10, Major), (3, Major)],
        &[(0, Minor), (8, Major), (5, Minor), (7, Major)],
        &[(0, Minor7), (5, Minor7), (0, Minor7), (7, Dominant7)],
        &[(0, Minor), (2, Diminished), (7, Major), (0, Minor)],
    ]
};

const DORIAN: &[&[(u8, Quality)]] = {
    use Quality::*;
    &[
        &[(0, Minor7), (5, Dominant7)],
        &[(0, Minor), (10, Major), (5, Major), (0, Minor)],
    ]
};

const MIXOLYDIAN: &[&[(u8, Quality)]] = {
    use Quality::*;
    &[
        &[(0, Major), (10, Major), (5, Major), (0, Major)],
        &[(0, Dominant7), (10, Major), (0, Dominant7), (5, Major)],
    ]
};

/// A random key and a progression in it.
pub fn random_key_and_progression(rng: &mut ClipRng) -> (Key, Vec<Chord>) {
    let mode = match rng.weighted(&[0.5, 0.32, 0.09, 0.09]) {
        Some(1) => Mode::Minor,
        Some(2) => Mode::Dorian,
        Some(3) => Mode::Mixolydian,
        _ => Mode::Major,
    };
    let tonic = rng.int(0, 11) as u8;
    let table = match mode {
        Mode::Major => MAJOR,
        Mode::Minor => MINOR,
        Mode::Dorian => DORIAN,
        Mode::Mixolydian => MIXOLYDIAN,
    };
    let steps = table[rng.index(table.len())];
    let chords = steps
        .iter()
        .map(|&(offset, quality)| Chord {
            root: (tonic + offset) % 12,
            quality,
        })
        .collect();
    (Key { tonic, mode }, chords)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progressions_stay_mostly_in_key() {
        let mut rng = ClipRng::for_clip(3, 0);
        for _ in 0..200 {
            let (key, chords) = random_key_and_progression(&mut rng);
            assert!(!chords.is_empty());
            for chord in chords {
                assert!(
                    key.contains(chord.root + 60),
                    "{chord:?} root outside {key:?}"
                );
                let tones: Vec<u8> = chord.pitch_classes().collect();
                let inside = tones.iter().filter(|&&pc| key.contains(pc + 60)).count();
                // Secondary dominants may add one chromatic tone, never more.
                assert!(inside + 1 >= tones.len(), "{chord:?} in {key:?}");
            }
        }
    }

    #[test]
    fn voicings_are_close_and_in_range() {
        let c = Chord {
            root: 0,
            quality: Quality::Major,
        };
        assert_eq!(c.voicing(3, 60, 40, 90), vec![60, 64, 67]);
        assert_eq!(c.voicing(4, 61, 40, 90), vec![64, 67, 72, 76]);
        let v = c.voicing(4, 88, 40, 90);
        assert!(
            v.iter().all(|&k| (40..=90).contains(&k)) && v.len() == 4,
            "{v:?}"
        );
        assert_eq!(c.lowest_root(41, 60), Some(48));
        assert_eq!(c.nearest(62, 40, 90), Some(60));
        assert!(
            Key {
                tonic: 9,
                mode: Mode::Minor
            }
            .contains(72)
        );
        assert!(
            !Key {
                tonic: 9,
                mode: Mode::Minor
            }
            .contains(73)
        );
    }
}
