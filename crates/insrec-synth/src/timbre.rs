//! Which SoundFont presets the corpus uses, and which OpenMIC class each one is labelled with.
//!
//! Only presets listed in [`TIMBRES`] are ever rendered; everything else is excluded because a
//! listener (or an OpenMIC annotator) could reasonably call it by a class name *and* by something
//! else, which would make a wrong positive or a wrong negative. The deliberate decisions:
//!
//! * **Electric pianos** (GM 4–5, detuned variants) → `piano`: OpenMIC has no electric-piano
//!   class and annotators hear a keyboard played like a piano. Clavinet (7) is excluded.
//! * **Contrabass** (43) → `bass`, played only as a bass line; OpenMIC's `bass` covers upright and
//!   electric bass.
//! * **Synth bass** (38–39) is excluded: it is both a bass line and a synthesizer.
//! * **String ensembles** (44–45, 48–51, MuseScore's section banks 20–51) and **brass section**
//!   (61) are excluded: they contain violins/cellos/trumpets/trombones but are not a solo class.
//!   Viola (41) is excluded as "violin or not" is a coin toss.
//! * **Synth brass** (62–63), synth voice (54, 85, 91, 94) are excluded (synthesizer vs brass/voice).
//! * **Piccolo** (72) → `flute`; recorder, pan flute, bottle, shakuhachi, whistle, ocarina (74–79)
//!   are excluded (flute-like, not flutes).
//! * **Fiddle** (110) → `violin`; **harmonica** (22) is a distractor, close to but not accordion.
//! * **Mallets**: glockenspiel, vibraphone, marimba, xylophone (9, 11–13) → `mallet_percussion`;
//!   celesta, music box, tubular bells, steel drums (8, 10, 14, 114) are excluded.
//! * **Distractors** (true negatives for all 20 classes): harpsichord, dulcimer, harmonica, harp,
//!   tuba, French horn, oboe, English horn, bassoon, sitar, shamisen, koto, kalimba, bagpipe, shanai.
//! * MuseScore's `Expr.` banks (17, 18) are excluded: they need expression controllers to sound.
//! * Drum kits are labelled per note, see [`crate::kit`].

use insrec_core::Instrument;

use crate::song::Role;

/// How the notes of a preset are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// One of the 20 OpenMIC classes.
    Class(Instrument),
    /// An instrument that is none of the 20 classes (a true negative).
    Distractor,
}

/// Playing family: decides the roles, polyphony and articulation of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Piano,
    ElectricPiano,
    Harpsichord,
    Organ,
    Accordion,
    Harmonica,
    Guitar,
    DistortedGuitar,
    Bass,
    Violin,
    Cello,
    Brass,
    LowBrass,
    Sax,
    Reed,
    LowReed,
    Flute,
    Mallet,
    Banjo,
    Mandolin,
    Ukulele,
    Harp,
    PluckedLead,
    SynthLead,
    SynthPad,
    Choir,
}

impl Family {
    /// The roles this family plays, with relative weights.
    pub fn roles(self) -> &'static [(Role, f64)] {
        use Role::*;
        match self {
            Self::Piano => &[(Comp, 3.0), (Arpeggio, 2.0), (Melody, 1.5), (Pad, 0.5)],
            Self::ElectricPiano => &[(Comp, 3.0), (Arpeggio, 1.0), (Melody, 1.0), (Pad, 1.0)],
            Self::Harpsichord => &[(Comp, 2.0), (Arpeggio, 2.0), (Melody, 1.0)],
            Self::Organ => &[(Pad, 3.0), (Comp, 2.0), (Melody, 1.0)],
            Self::Accordion => &[(Comp, 2.0), (Pad, 1.0), (Melody, 2.0)],
            Self::Harmonica => &[(Melody, 3.0), (Pad, 1.0)],
            Self::Guitar => &[(Strum, 3.0), (Arpeggio, 2.0), (Melody, 1.0), (Comp, 1.0)],
            Self::DistortedGuitar => &[(Strum, 3.0), (Melody, 1.5)],
            Self::Bass => &[(Bass, 1.0)],
            Self::Violin => &[(Melody, 2.0), (CounterMelody, 2.0), (Pad, 1.0)],
            Self::Cello => &[(Bass, 1.0), (CounterMelody, 2.0), (Melody, 1.5), (Pad, 1.0)],
            Self::Brass => &[
                (Melody, 2.0),
                (Stabs, 2.0),
                (CounterMelody, 1.0),
                (Pad, 0.5),
            ],
            Self::LowBrass => &[
                (Melody, 1.0),
                (Stabs, 1.5),
                (CounterMelody, 1.0),
                (Bass, 1.0),
                (Pad, 0.5),
            ],
            Self::Sax => &[(Melody, 3.0), (CounterMelody, 1.0), (Stabs, 1.0)],
            Self::Reed => &[(Melody, 2.0), (CounterMelody, 2.0)],
            Self::LowReed => &[(Bass, 1.0), (CounterMelody, 2.0), (Melody, 1.0)],
            Self::Flute => &[(Melody, 3.0), (CounterMelody, 1.0), (Arpeggio, 1.0)],
            Self::Mallet => &[(Melody, 2.0), (Arpeggio, 2.0), (Comp, 1.0)],
            Self::Banjo => &[(Arpeggio, 3.0), (Strum, 1.5)],
            Self::Mandolin => &[(Melody, 2.0), (Strum, 2.0)],
            Self::Ukulele => &[(Strum, 3.0), (Arpeggio, 1.0)],
            Self::Harp => &[(Arpeggio, 3.0), (Melody, 1.0)],
            Self::PluckedLead => &[(Melody, 2.0), (Arpeggio, 2.0)],
            Self::SynthLead => &[(Melody, 3.0), (Arpeggio, 1.5), (Stabs, 0.5)],
            Self::SynthPad => &[(Pad, 3.0), (Comp, 1.0), (Arpeggio, 1.0)],
            Self::Choir => &[(Pad, 3.0), (Melody, 1.0)],
        }
    }

    /// Whether the instrument holds a note as long as it is pressed (winds, bows, organs, synths).
    pub fn sustained(self) -> bool {
        matches!(
            self,
            Self::Organ
                | Self::Accordion
                | Self::Harmonica
                | Self::Violin
                | Self::Cello
                | Self::Brass
                | Self::LowBrass
                | Self::Sax
                | Self::Reed
                | Self::LowReed
                | Self::Flute
                | Self::SynthLead
                | Self::SynthPad
                | Self::Choir
        )
    }

    /// Whether the instrument plays one note at a time.
    pub fn monophonic(self) -> bool {
        matches!(
            self,
            Self::Bass
                | Self::Violin
                | Self::Cello
                | Self::Brass
                | Self::LowBrass
                | Self::Sax
                | Self::Reed
                | Self::LowReed
                | Self::Flute
                | Self::SynthLead
        )
    }

    /// Fastest comfortable melody, in notes per second.
    pub fn max_notes_per_s(self) -> f64 {
        match self {
            Self::Choir | Self::LowBrass | Self::LowReed | Self::Cello | Self::Harmonica => 4.0,
            Self::Violin | Self::Brass | Self::Reed | Self::Accordion | Self::Organ => 6.0,
            _ => 8.0,
        }
    }
}

/// A preset the corpus may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timbre {
    /// SoundFont bank (0 = General MIDI, 8/16 = GS variations).
    pub bank: u16,
    /// SoundFont program (0–127).
    pub program: u8,
    /// General MIDI name.
    pub name: &'static str,
    pub label: Label,
    pub family: Family,
    /// Playable MIDI keys (the instrument's real range).
    pub low: u8,
    pub high: u8,
}

impl Timbre {
    /// The OpenMIC class, if any.
    pub fn class(&self) -> Option<Instrument> {
        match self.label {
            Label::Class(c) => Some(c),
            Label::Distractor => None,
        }
    }
}

const fn t(
    bank: u16,
    program: u8,
    name: &'static str,
    label: Label,
    family: Family,
    low: u8,
    high: u8,
) -> Timbre {
    Timbre {
        bank,
        program,
        name,
        label,
        family,
        low,
        high,
    }
}

use Family as F;
use Instrument as I;
use Label::{Class as C, Distractor as D};

/// Every preset the corpus renders, with its label. Presets not listed are never used.
pub static TIMBRES: &[Timbre] = &[
    t(0, 0, "Acoustic Grand Piano", C(I::Piano), F::Piano, 33, 96),
    t(0, 1, "Bright Acoustic Piano", C(I::Piano), F::Piano, 33, 96),
    t(0, 2, "Electric Grand Piano", C(I::Piano), F::Piano, 33, 96),
    t(0, 3, "Honky-tonk Piano", C(I::Piano), F::Piano, 36, 96),
    t(
        0,
        4,
        "Electric Piano 1",
        C(I::Piano),
        F::ElectricPiano,
        36,
        91,
    ),
    t(
        0,
        5,
        "Electric Piano 2",
        C(I::Piano),
        F::ElectricPiano,
        36,
        91,
    ),
    t(8, 0, "Mellow Grand Piano", C(I::Piano), F::Piano, 33, 96),
    t(
        8,
        4,
        "Detuned Electric Piano 1",
        C(I::Piano),
        F::ElectricPiano,
        36,
        91,
    ),
    t(
        8,
        5,
        "Detuned Electric Piano 2",
        C(I::Piano),
        F::ElectricPiano,
        36,
        91,
    ),
    t(0, 6, "Harpsichord", D, F::Harpsichord, 36, 89),
    t(8, 6, "Coupled Harpsichord", D, F::Harpsichord, 36, 89),
    t(
        0,
        9,
        "Glockenspiel",
        C(I::MalletPercussion),
        F::Mallet,
        72,
        105,
    ),
    t(
        0,
        11,
        "Vibraphone",
        C(I::MalletPercussion),
        F::Mallet,
        53,
        89,
    ),
    t(0, 12, "Marimba", C(I::MalletPercussion), F::Mallet, 45, 96),
    t(
        0,
        13,
        "Xylophone",
        C(I::MalletPercussion),
        F::Mallet,
        65,
        105,
    ),
    t(0, 15, "Dulcimer", D, F::PluckedLead, 50, 84),
    t(0, 16, "Drawbar Organ", C(I::Organ), F::Organ, 36, 96),
    t(0, 17, "Percussive Organ", C(I::Organ), F::Organ, 36, 96),
    t(0, 18, "Rock Organ", C(I::Organ), F::Organ, 36, 96),
    t(0, 19, "Church Organ", C(I::Organ), F::Organ, 36, 96),
    t(0, 20, "Reed Organ", C(I::Organ), F::Organ, 36, 89),
    t(8, 16, "Detuned Organ 1", C(I::Organ), F::Organ, 36, 96),
    t(8, 17, "Detuned Organ 2", C(I::Organ), F::Organ, 36, 96),
    t(8, 19, "Church Organ 2", C(I::Organ), F::Organ, 36, 96),
    t(0, 21, "Accordion", C(I::Accordion), F::Accordion, 41, 89),
    t(
        0,
        23,
        "Tango Accordion",
        C(I::Accordion),
        F::Accordion,
        41,
        89,
    ),
    t(
        8,
        21,
        "Italian Accordion",
        C(I::Accordion),
        F::Accordion,
        41,
        89,
    ),
    t(0, 22, "Harmonica", D, F::Harmonica, 60, 84),
    t(
        0,
        24,
        "Acoustic Guitar (nylon)",
        C(I::Guitar),
        F::Guitar,
        40,
        83,
    ),
    t(
        0,
        25,
        "Acoustic Guitar (steel)",
        C(I::Guitar),
        F::Guitar,
        40,
        83,
    ),
    t(
        0,
        26,
        "Electric Guitar (jazz)",
        C(I::Guitar),
        F::Guitar,
        40,
        83,
    ),
    t(
        0,
        27,
        "Electric Guitar (clean)",
        C(I::Guitar),
        F::Guitar,
        40,
        83,
    ),
    t(
        0,
        28,
        "Electric Guitar (muted)",
        C(I::Guitar),
        F::Guitar,
        40,
        76,
    ),
    t(
        0,
        29,
        "Overdriven Guitar",
        C(I::Guitar),
        F::DistortedGuitar,
        40,
        83,
    ),
    t(
        0,
        30,
        "Distortion Guitar",
        C(I::Guitar),
        F::DistortedGuitar,
        40,
        83,
    ),
    t(8, 25, "12-String Guitar", C(I::Guitar), F::Guitar, 40, 83),
    t(8, 26, "Hawaiian Guitar", C(I::Guitar), F::Guitar, 40, 83),
    t(8, 28, "Funk Guitar", C(I::Guitar), F::Guitar, 40, 83),
    t(0, 32, "Acoustic Bass", C(I::Bass), F::Bass, 28, 55),
    t(0, 33, "Electric Bass (finger)", C(I::Bass), F::Bass, 28, 60),
    t(0, 34, "Electric Bass (pick)", C(I::Bass), F::Bass, 28, 60),
    t(0, 35, "Fretless Bass", C(I::Bass), F::Bass, 28, 60),
    t(0, 36, "Slap Bass 1", C(I::Bass), F::Bass, 28, 60),
    t(0, 37, "Slap Bass 2", C(I::Bass), F::Bass, 28, 60),
    t(0, 43, "Contrabass", C(I::Bass), F::Bass, 28, 55),
    t(0, 40, "Violin", C(I::Violin), F::Violin, 55, 96),
    t(8, 40, "Slow Violin", C(I::Violin), F::Violin, 55, 96),
    t(0, 110, "Fiddle", C(I::Violin), F::Violin, 55, 93),
    t(0, 42, "Cello", C(I::Cello), F::Cello, 36, 72),
    t(0, 46, "Orchestral Harp", D, F::Harp, 36, 96),
    t(0, 52, "Choir Aahs", C(I::Voice), F::Choir, 48, 79),
    t(0, 53, "Voice Oohs", C(I::Voice), F::Choir, 48, 79),
    t(0, 56, "Trumpet", C(I::Trumpet), F::Brass, 55, 82),
    t(0, 59, "Muted Trumpet", C(I::Trumpet), F::Brass, 55, 82),
    t(0, 57, "Trombone", C(I::Trombone), F::LowBrass, 40, 72),
    t(0, 58, "Tuba", D, F::LowBrass, 28, 58),
    t(0, 60, "French Horn", D, F::Brass, 41, 77),
    t(0, 64, "Soprano Sax", C(I::Saxophone), F::Sax, 56, 87),
    t(0, 65, "Alto Sax", C(I::Saxophone), F::Sax, 49, 80),
    t(0, 66, "Tenor Sax", C(I::Saxophone), F::Sax, 44, 75),
    t(0, 67, "Baritone Sax", C(I::Saxophone), F::Sax, 36, 68),
    t(0, 68, "Oboe", D, F::Reed, 58, 91),
    t(0, 69, "English Horn", D, F::Reed, 52, 81),
    t(0, 70, "Bassoon", D, F::LowReed, 34, 72),
    t(0, 71, "Clarinet", C(I::Clarinet), F::Reed, 50, 89),
    t(0, 72, "Piccolo", C(I::Flute), F::Flute, 74, 102),
    t(0, 73, "Flute", C(I::Flute), F::Flute, 60, 96),
    t(
        0,
        80,
        "Lead 1 (square)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        96,
    ),
    t(
        0,
        81,
        "Lead 2 (sawtooth)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        96,
    ),
    t(
        0,
        82,
        "Lead 3 (calliope)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        96,
    ),
    t(
        0,
        83,
        "Lead 4 (chiff)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        96,
    ),
    t(
        0,
        84,
        "Lead 5 (charang)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        96,
    ),
    t(
        0,
        86,
        "Lead 7 (fifths)",
        C(I::Synthesizer),
        F::SynthLead,
        48,
        84,
    ),
    t(
        0,
        87,
        "Lead 8 (bass + lead)",
        C(I::Synthesizer),
        F::SynthLead,
        40,
        84,
    ),
    t(8, 80, "Sine Wave", C(I::Synthesizer), F::SynthLead, 48, 96),
    t(
        0,
        88,
        "Pad 1 (new age)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(
        0,
        89,
        "Pad 2 (warm)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(
        0,
        90,
        "Pad 3 (polysynth)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(
        0,
        92,
        "Pad 5 (bowed)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(
        0,
        93,
        "Pad 6 (metallic)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(
        0,
        95,
        "Pad 8 (sweep)",
        C(I::Synthesizer),
        F::SynthPad,
        40,
        88,
    ),
    t(0, 104, "Sitar", D, F::PluckedLead, 48, 84),
    t(0, 105, "Banjo", C(I::Banjo), F::Banjo, 48, 84),
    t(0, 106, "Shamisen", D, F::PluckedLead, 50, 84),
    t(0, 107, "Koto", D, F::PluckedLead, 55, 91),
    t(8, 107, "Taisho Koto", D, F::PluckedLead, 55, 88),
    t(0, 108, "Kalimba", D, F::PluckedLead, 60, 88),
    t(0, 109, "Bagpipe", D, F::Reed, 67, 81),
    t(0, 111, "Shanai", D, F::Reed, 64, 88),
    t(8, 24, "Ukulele", C(I::Ukulele), F::Ukulele, 60, 81),
    t(16, 25, "Mandolin", C(I::Mandolin), F::Mandolin, 55, 88),
];

/// The labelled use of a preset, or `None` when the preset is excluded.
pub fn lookup(bank: u16, program: u8) -> Option<&'static Timbre> {
    TIMBRES
        .iter()
        .find(|t| t.bank == bank && t.program == program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(bank: u16, program: u8) -> Option<Label> {
        lookup(bank, program).map(|t| t.label)
    }

    #[test]
    fn general_midi_programs_map_as_documented() {
        let expect: &[(&[u8], Instrument)] = &[
            (&[0, 1, 2, 3, 4, 5], I::Piano),
            (&[16, 17, 18, 19, 20], I::Organ),
            (&[21, 23], I::Accordion),
            (&[24, 25, 26, 27, 28, 29, 30], I::Guitar),
            (&[32, 33, 34, 35, 36, 37, 43], I::Bass),
            (&[40, 110], I::Violin),
            (&[42], I::Cello),
            (&[56, 59], I::Trumpet),
            (&[57], I::Trombone),
            (&[64, 65, 66, 67], I::Saxophone),
            (&[71], I::Clarinet),
            (&[72, 73], I::Flute),
            (&[9, 11, 12, 13], I::MalletPercussion),
            (&[52, 53], I::Voice),
            (
                &[80, 81, 82, 83, 84, 86, 87, 88, 89, 90, 92, 93, 95],
                I::Synthesizer,
            ),
            (&[105], I::Banjo),
        ];
        for (programs, class) in expect {
            for &p in *programs {
                assert_eq!(class_of(0, p), Some(C(*class)), "GM program {p}");
            }
        }
        assert_eq!(class_of(8, 24), Some(C(I::Ukulele)));
        assert_eq!(class_of(16, 25), Some(C(I::Mandolin)));
    }

    #[test]
    fn ambiguous_presets_are_excluded_and_distractors_are_negatives() {
        for p in [
            7, 8, 10, 14, 31, 38, 39, 41, 44, 45, 47, 48, 49, 50, 51, 54, 55, 61, 62, 63, 74, 75,
            85, 91, 94,
        ] {
            assert_eq!(lookup(0, p), None, "GM program {p} should be excluded");
        }
        for p in 96..=103 {
            assert_eq!(lookup(0, p), None, "sound effect {p}");
        }
        for p in 112..=127 {
            assert_eq!(lookup(0, p), None, "percussive/effect program {p}");
        }
        for p in [
            6, 15, 22, 46, 58, 60, 68, 69, 70, 104, 106, 107, 108, 109, 111,
        ] {
            assert_eq!(class_of(0, p), Some(D), "GM program {p} is a distractor");
        }
        // The MuseScore expression banks are never used.
        assert!(TIMBRES.iter().all(|t| t.bank != 17 && t.bank != 18));
    }

    #[test]
    fn every_melodic_class_has_a_preset_and_sane_ranges() {
        for class in Instrument::ALL {
            if matches!(class, I::Drums | I::Cymbals) {
                assert!(TIMBRES.iter().all(|t| t.class() != Some(class)));
                continue;
            }
            assert!(
                TIMBRES.iter().any(|t| t.class() == Some(class)),
                "{class} has no preset"
            );
        }
        for t in TIMBRES {
            assert!(
                t.low + 12 <= t.high && t.high <= 108,
                "{}: {}..{}",
                t.name,
                t.low,
                t.high
            );
            assert!(!t.family.roles().is_empty());
            let duplicates = TIMBRES
                .iter()
                .filter(|o| o.bank == t.bank && o.program == t.program)
                .count();
            assert_eq!(duplicates, 1, "{} listed twice", t.name);
        }
    }
}
