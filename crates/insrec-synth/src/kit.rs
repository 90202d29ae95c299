//! Drum-kit pieces and their labels: kick, snare and toms are `drums`; hi-hats, crash, ride,
//! splash and china are `cymbals`; hand claps, tambourine, cowbell, shakers and blocks are
//! auxiliary percussion that is labelled as neither (a true negative).
//!
//! General-MIDI kits (bank 128) are read through the GM percussion key map; drum-kit SoundFonts
//! and Hydrogen kits are read through the names of their samples and instruments.

use insrec_core::Instrument;

/// One sound of a drum kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KitPiece {
    Kick,
    Snare,
    SideStick,
    TomHigh,
    TomMid,
    TomLow,
    TomFloor,
    HatClosed,
    HatPedal,
    HatOpen,
    Crash,
    Ride,
    RideBell,
    Splash,
    China,
    Clap,
    Tambourine,
    Cowbell,
    Shaker,
    Block,
}

impl KitPiece {
    /// All pieces, in a fixed order.
    pub const ALL: [KitPiece; 20] = [
        Self::Kick,
        Self::Snare,
        Self::SideStick,
        Self::TomHigh,
        Self::TomMid,
        Self::TomLow,
        Self::TomFloor,
        Self::HatClosed,
        Self::HatPedal,
        Self::HatOpen,
        Self::Crash,
        Self::Ride,
        Self::RideBell,
        Self::Splash,
        Self::China,
        Self::Clap,
        Self::Tambourine,
        Self::Cowbell,
        Self::Shaker,
        Self::Block,
    ];

    /// The OpenMIC class of the piece; `None` for auxiliary percussion.
    pub fn class(self) -> Option<Instrument> {
        use KitPiece::*;
        match self {
            Kick | Snare | SideStick | TomHigh | TomMid | TomLow | TomFloor => {
                Some(Instrument::Drums)
            }
            HatClosed | HatPedal | HatOpen | Crash | Ride | RideBell | Splash | China => {
                Some(Instrument::Cymbals)
            }
            Clap | Tambourine | Cowbell | Shaker | Block => None,
        }
    }

    /// General-MIDI percussion keys that play this piece, preferred first.
    pub fn gm_keys(self) -> &'static [u8] {
        use KitPiece::*;
        match self {
            Kick => &[36, 35],
            Snare => &[38, 40],
            SideStick => &[37],
            TomHigh => &[50, 48],
            TomMid => &[47, 48],
            TomLow => &[45, 43],
            TomFloor => &[41, 43],
            HatClosed => &[42],
            HatPedal => &[44],
            HatOpen => &[46],
            Crash => &[49, 57],
            Ride => &[51, 59],
            RideBell => &[53],
            Splash => &[55],
            China => &[52],
            Clap => &[39],
            Tambourine => &[54],
            Cowbell => &[56],
            Shaker => &[70, 69],
            Block => &[76, 77, 75],
        }
    }

    /// Pieces to use instead when a kit lacks this one; always of the same class.
    pub fn fallbacks(self) -> &'static [KitPiece] {
        use KitPiece::*;
        match self {
            Snare => &[SideStick],
            SideStick => &[Snare],
            TomHigh => &[TomMid, TomLow, TomFloor],
            TomMid => &[TomHigh, TomLow, TomFloor],
            TomLow => &[TomFloor, TomMid, TomHigh],
            TomFloor => &[TomLow, TomMid, TomHigh],
            HatClosed => &[HatPedal, Ride],
            HatPedal => &[HatClosed],
            HatOpen => &[HatClosed, Ride],
            Crash => &[China, Splash, Ride],
            Ride => &[HatClosed, Crash],
            RideBell => &[Ride, HatClosed],
            Splash => &[Crash, China],
            China => &[Crash, Splash],
            Kick | Clap | Tambourine | Cowbell | Shaker | Block => &[],
        }
    }
}

/// The piece a General-MIDI percussion key plays (the inverse of [`KitPiece::gm_keys`]).
pub fn gm_piece(key: u8) -> Option<KitPiece> {
    KitPiece::ALL
        .into_iter()
        .find(|p| p.gm_keys().contains(&key))
}

/// Lower-case words of a sample or instrument name; camel case and digits split words
/// (`SabianRockHatCl` → `sabian rock hat cl`).
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch.is_ascii_alphabetic() {
            if ch.is_ascii_uppercase() && prev_lower && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = ch.is_ascii_lowercase();
            current.push(ch.to_ascii_lowercase());
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if ch.is_ascii_digit() {
                out.push(ch.to_string());
            }
            prev_lower = false;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The piece a drum sample or Hydrogen instrument name describes, e.g. `"Hi-Hat Pedal (Paiste)"`
/// → hi-hat pedal, `"Cajon Slap"` → snare. Chokes, rolls, swishes and unknown names give `None`.
pub fn piece_from_name(name: &str) -> Option<KitPiece> {
    use KitPiece::*;
    let w = words(name);
    let has = |prefixes: &[&str]| {
        w.iter()
            .any(|word| prefixes.iter().any(|p| word.starts_with(p)))
    };
    let is = |exact: &[&str]| w.iter().any(|word| exact.contains(&word.as_str()));
    if has(&[
        "choke", "roll", "swish", "mute", "flink", "fx", "zap", "whistle", "water",
    ]) || is(&["ch", "sw"])
    {
        return None;
    }
    if has(&["hihat", "hat"]) || is(&["hh"]) {
        return Some(if has(&["pedal", "pd"]) || is(&["pe"]) {
            HatPedal
        } else if has(&["open", "semi", "free"]) || is(&["op", "se"]) {
            HatOpen
        } else {
            HatClosed
        });
    }
    if has(&["crash", "cras", "cymbal"]) {
        return Some(Crash);
    }
    if has(&["ride"]) {
        return Some(if has(&["bell", "cup"]) {
            RideBell
        } else {
            Ride
        });
    }
    if has(&["spla"]) {
        return Some(Splash);
    }
    if has(&["china"]) {
        return Some(China);
    }
    if has(&["bell"]) && has(&["paiste", "zildjian", "sabian"]) {
        return Some(RideBell);
    }
    if has(&["kick", "bassdrum", "thump"])
        || (is(&["bass"]) && has(&["drum", "djembe"]))
        || is(&["bd"])
    {
        return Some(Kick);
    }
    if has(&["sidestick", "stick"]) || (has(&["rim"]) && has(&["click"])) {
        return Some(SideStick);
    }
    if has(&["snare", "rimshot", "slap"]) {
        return Some(Snare);
    }
    if has(&["clap", "snap"]) {
        return Some(Clap);
    }
    if has(&["tamb"]) {
        return Some(Tambourine);
    }
    if has(&["cowbell", "agogo", "bell"]) {
        return Some(Cowbell);
    }
    if has(&["marac", "shak", "cabasa"]) {
        return Some(Shaker);
    }
    if has(&["clave", "block", "wood"]) {
        return Some(Block);
    }
    if has(&["floor", "dununba"]) {
        return Some(TomFloor);
    }
    let tom = has(&["tom", "bongo", "conga", "djembe", "kenkeni", "sangban"]);
    if !tom {
        return None;
    }
    if has(&["head"]) && !has(&["hit"]) {
        return None;
    }
    Some(if has(&["low", "lo", "sangban"]) {
        TomLow
    } else if has(&["mid", "tone"]) {
        TomMid
    } else if has(&["hi", "kenkeni"]) {
        TomHigh
    } else if has(&["conga"]) {
        TomLow
    } else {
        TomMid
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use KitPiece::*;

    #[test]
    fn gm_map_labels_kit_and_cymbal_notes() {
        for key in [35, 36, 37, 38, 40, 41, 43, 45, 47, 48, 50] {
            assert_eq!(
                gm_piece(key).and_then(KitPiece::class),
                Some(Instrument::Drums),
                "key {key}"
            );
        }
        for key in [42, 44, 46, 49, 51, 52, 53, 55, 57, 59] {
            assert_eq!(
                gm_piece(key).and_then(KitPiece::class),
                Some(Instrument::Cymbals),
                "key {key}"
            );
        }
        for key in [39, 54, 56, 70] {
            assert_eq!(
                gm_piece(key).map(KitPiece::class),
                Some(None),
                "key {key} is auxiliary"
            );
        }
        assert_eq!(gm_piece(60), None);
    }

    #[test]
    fn fallbacks_keep_the_class() {
        for piece in KitPiece::ALL {
            for f in piece.fallbacks() {
                assert_eq!(f.class(), piece.class(), "{piece:?} -> {f:?}");
            }
        }
    }

    #[test]
    fn names_from_the_debian_kits_are_understood() {
        let cases: &[(&str, Option<KitPiece>)] = &[
            ("Pearl Kick", Some(Kick)),
            ("36-Pearl22Kick-1", Some(Kick)),
            ("BassDrum", Some(Kick)),
            ("c3 - bass drum 1", Some(Kick)),
            ("Cajon Thump", Some(Kick)),
            ("Djembe1 Bass", Some(Kick)),
            ("Pearl Side Stick", Some(SideStick)),
            ("c#3 - stick", Some(SideStick)),
            (
                "Rim Click (Pearl Free Floating Maple 14x3.5)",
                Some(SideStick),
            ),
            (
                "Snare Rimshot (Pearl Free Floating Maple 14x3.5)",
                Some(Snare),
            ),
            ("40-PearlSnareEdge-1", Some(Snare)),
            ("Cajon Slap", Some(Snare)),
            ("Tom Low", Some(TomLow)),
            ("Tom Hi", Some(TomHigh)),
            ("c4 - middle tom", Some(TomMid)),
            ("Pearl Tom Floor", Some(TomFloor)),
            ("41-Pearl16FloorTom-1", Some(TomFloor)),
            ("Bongo Lo", Some(TomLow)),
            ("Closed HH", Some(HatClosed)),
            ("Hi Hat Opened", Some(HatOpen)),
            (
                "Hi-Hat Pedal (Paiste Alpha Metal edge 14\")",
                Some(HatPedal),
            ),
            ("42-SabianRockHatCl-1", Some(HatClosed)),
            ("44-SabianRockHatPe-1", Some(HatPedal)),
            ("46-SabianRockHatSe-1", Some(HatOpen)),
            ("VariBreaks Hat 1 Pd", Some(HatPedal)),
            ("Crash Left", Some(Crash)),
            ("57-SabianAAX17Cras-1", Some(Crash)),
            ("d#4 - cymbal 1", Some(Crash)),
            ("Ride (Custom, Zagrebin 22\")", Some(Ride)),
            ("Ride Bell", Some(RideBell)),
            ("Paiste Bell", Some(RideBell)),
            ("55-ZildjianA10Spla-1", Some(Splash)),
            ("China (Paiste Alpha 18\")", Some(China)),
            ("Hand Clap", Some(Clap)),
            ("Tambourine (Pearl PTM-10GH)", Some(Tambourine)),
            ("Sangban1 Bell Hit", Some(Cowbell)),
            ("Maraca", Some(Shaker)),
            ("Woodblock Hi", Some(Block)),
            ("50-SabianAA16CrashCh", None),
            ("Zildjian Splash Choke", None),
            ("Snare Roll", None),
            ("48-SabianRockHatSw-1", None),
            ("Sample: beats_08-37.flac", None),
            ("Zap 1", None),
            ("17", None),
            ("", None),
        ];
        for (name, expected) in cases {
            assert_eq!(piece_from_name(name), *expected, "{name:?}");
        }
    }
}
