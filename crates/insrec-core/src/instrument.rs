use std::fmt;
use std::str::FromStr;

/// Number of instrument classes in OpenMIC-2018.
pub const NUM_CLASSES: usize = 20;

/// One of the 20 OpenMIC-2018 instrument classes, in `class-map.json` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Instrument {
    Accordion,
    Banjo,
    Bass,
    Cello,
    Clarinet,
    Cymbals,
    Drums,
    Flute,
    Guitar,
    MalletPercussion,
    Mandolin,
    Organ,
    Piano,
    Saxophone,
    Synthesizer,
    Trombone,
    Trumpet,
    Ukulele,
    Violin,
    Voice,
}

impl Instrument {
    /// All classes; the position of each is its OpenMIC column index.
    pub const ALL: [Instrument; NUM_CLASSES] = [
        Self::Accordion,
        Self::Banjo,
        Self::Bass,
        Self::Cello,
        Self::Clarinet,
        Self::Cymbals,
        Self::Drums,
        Self::Flute,
        Self::Guitar,
        Self::MalletPercussion,
        Self::Mandolin,
        Self::Organ,
        Self::Piano,
        Self::Saxophone,
        Self::Synthesizer,
        Self::Trombone,
        Self::Trumpet,
        Self::Ukulele,
        Self::Violin,
        Self::Voice,
    ];

    /// The OpenMIC column index (`class-map.json`).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The class at an OpenMIC column index.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The OpenMIC spelling, e.g. `mallet_percussion`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accordion => "accordion",
            Self::Banjo => "banjo",
            Self::Bass => "bass",
            Self::Cello => "cello",
            Self::Clarinet => "clarinet",
            Self::Cymbals => "cymbals",
            Self::Drums => "drums",
            Self::Flute => "flute",
            Self::Guitar => "guitar",
            Self::MalletPercussion => "mallet_percussion",
            Self::Mandolin => "mandolin",
            Self::Organ => "organ",
            Self::Piano => "piano",
            Self::Saxophone => "saxophone",
            Self::Synthesizer => "synthesizer",
            Self::Trombone => "trombone",
            Self::Trumpet => "trumpet",
            Self::Ukulele => "ukulele",
            Self::Violin => "violin",
            Self::Voice => "voice",
        }
    }

    /// The English Wikipedia article about the instrument.
    pub fn wikipedia_url(self) -> &'static str {
        match self {
            Self::Accordion => "https://en.wikipedia.org/wiki/Accordion",
            Self::Banjo => "https://en.wikipedia.org/wiki/Banjo",
            Self::Bass => "https://en.wikipedia.org/wiki/Bass_guitar",
            Self::Cello => "https://en.wikipedia.org/wiki/Cello",
            Self::Clarinet => "https://en.wikipedia.org/wiki/Clarinet",
            Self::Cymbals => "https://en.wikipedia.org/wiki/Cymbal",
            Self::Drums => "https://en.wikipedia.org/wiki/Drum_kit",
            Self::Flute => "https://en.wikipedia.org/wiki/Flute",
            Self::Guitar => "https://en.wikipedia.org/wiki/Guitar",
            Self::MalletPercussion => "https://en.wikipedia.org/wiki/Mallet_percussion_instrument",
            Self::Mandolin => "https://en.wikipedia.org/wiki/Mandolin",
            Self::Organ => "https://en.wikipedia.org/wiki/Organ_(music)",
            Self::Piano => "https://en.wikipedia.org/wiki/Piano",
            Self::Saxophone => "https://en.wikipedia.org/wiki/Saxophone",
            Self::Synthesizer => "https://en.wikipedia.org/wiki/Synthesizer",
            Self::Trombone => "https://en.wikipedia.org/wiki/Trombone",
            Self::Trumpet => "https://en.wikipedia.org/wiki/Trumpet",
            Self::Ukulele => "https://en.wikipedia.org/wiki/Ukulele",
            Self::Violin => "https://en.wikipedia.org/wiki/Violin",
            Self::Voice => "https://en.wikipedia.org/wiki/Human_voice",
        }
    }

    /// The 20 class names in OpenMIC order.
    pub fn names() -> [&'static str; NUM_CLASSES] {
        Self::ALL.map(Self::name)
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is none of the 20 OpenMIC classes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown instrument {0:?} (expected one of the 20 OpenMIC class names, e.g. \"mallet_percussion\")"
)]
pub struct ParseInstrumentError(pub String);

impl FromStr for Instrument {
    type Err = ParseInstrumentError;

    /// Accepts the OpenMIC spelling, case-insensitively, with `-` or space for `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL
            .into_iter()
            .find(|i| i.name() == wanted)
            .ok_or_else(|| ParseInstrumentError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_class_map_order() {
        let names = Instrument::names();
        let mut sorted = names;
        sorted.sort_unstable();
        assert_eq!(names, sorted, "class-map.json is alphabetical");
        assert_eq!(Instrument::MalletPercussion.index(), 9);
        assert_eq!(Instrument::Voice.index(), 19);
        for (i, inst) in Instrument::ALL.iter().enumerate() {
            assert_eq!(inst.index(), i);
            assert_eq!(Instrument::from_index(i), Some(*inst));
        }
        assert_eq!(Instrument::from_index(20), None);
    }

    #[test]
    fn parses_names_leniently_and_rejects_others() {
        assert_eq!(
            "Mallet Percussion".parse(),
            Ok(Instrument::MalletPercussion)
        );
        assert_eq!(
            "mallet-percussion".parse(),
            Ok(Instrument::MalletPercussion)
        );
        assert_eq!("voice".parse(), Ok(Instrument::Voice));
        assert!("kazoo".parse::<Instrument>().is_err());
    }
}
