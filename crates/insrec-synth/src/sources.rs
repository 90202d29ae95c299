//! The instruments a corpus is rendered from: SoundFonts (melodic presets and General-MIDI drum
//! kits), drum-kit SoundFonts and Hydrogen kits, split into the training and the held-out palette.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use insrec_core::Instrument;
use rustysynth::SoundFont;

use crate::hydrogen::HydrogenKit;
use crate::kit::{KitPiece, piece_from_name};
use crate::timbre::{TIMBRES, Timbre};
use crate::{Result, SynthError};

/// General-MIDI kit programs used from bank 128: standard, room, power, electronic, TR-808, jazz
/// and brush kits. The orchestra kit (timpani, concert drums), SFX and marching kits are excluded.
const GM_KIT_PROGRAMS: std::ops::RangeInclusive<u8> = 0..=47;
/// Keys scanned in a drum-kit SoundFont.
const DRUM_KEYS: std::ops::RangeInclusive<u8> = 27..=87;

/// A loaded SoundFont.
#[derive(Debug)]
pub struct LoadedFont {
    /// File stem, used as the source name in labels (`FluidR3_GM`).
    pub name: String,
    pub path: PathBuf,
    pub font: Arc<SoundFont>,
}

impl LoadedFont {
    /// Loads an `.sf2` file.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |reason: String| SynthError::BadSoundFont {
            path: path.to_path_buf(),
            reason,
        };
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sf3"))
        {
            return Err(bad(
                "compressed SoundFont 3 (.sf3) is not supported; use the .sf2 file".into(),
            ));
        }
        let file = File::open(path).map_err(|e| bad(e.to_string()))?;
        let (reader, baked) =
            crate::modulators::baked_soundfont(file).map_err(|e| bad(e.to_string()))?;
        let font = SoundFont::new(&mut BufReader::new(reader))
            .map_err(|e| bad(format!("not a valid SoundFont 2: {e}")))?;
        if let Some(summary) = baked {
            tracing::info!(
                "{}: {} note-on modulators baked into {} zones (within {} units per band for \
                 presets, {} for instruments)",
                path.display(),
                summary.modulators,
                summary.zones,
                summary.tolerance[0],
                summary.tolerance[1]
            );
        }
        if font.get_presets().is_empty() {
            return Err(bad("it has no presets".into()));
        }
        Ok(Self {
            name: source_name(path),
            path: path.to_path_buf(),
            font: Arc::new(font),
        })
    }

    fn has_preset(&self, bank: u16, program: u8) -> bool {
        self.font.get_presets().iter().any(|p| {
            p.get_bank_number() == i32::from(bank) && p.get_patch_number() == i32::from(program)
        })
    }

    /// Keys 0–127 that sound in a preset.
    fn sounding_keys(&self, bank: u16, program: u8) -> BTreeSet<u8> {
        let mut keys = BTreeSet::new();
        for preset in self.font.get_presets() {
            if preset.get_bank_number() != i32::from(bank)
                || preset.get_patch_number() != i32::from(program)
            {
                continue;
            }
            for region in preset.get_regions() {
                let lo = region.get_key_range_start().clamp(0, 127);
                let hi = region.get_key_range_end().clamp(0, 127);
                keys.extend((lo..=hi).map(|k| k as u8));
            }
        }
        keys
    }

    /// The name of the first sample sounding at `key` in a preset.
    fn sample_name(&self, bank: u16, program: u8, key: u8) -> Option<&str> {
        let key = i32::from(key);
        let preset = self.font.get_presets().iter().find(|p| {
            p.get_bank_number() == i32::from(bank) && p.get_patch_number() == i32::from(program)
        })?;
        let region = preset.get_regions().iter().find(|r| r.contains(key, 100))?;
        let instrument = self
            .font
            .get_instruments()
            .get(region.get_instrument_id())?;
        let inner = instrument
            .get_regions()
            .iter()
            .find(|r| r.contains(key, 100))?;
        self.font
            .get_sample_headers()
            .get(inner.get_sample_id())
            .map(|s| s.get_name())
    }
}

/// A safe source name from a path: the file or folder name without extension, with characters other
/// than letters, digits, `-`, `_` and `.` replaced by `_`.
pub fn source_name(path: &Path) -> String {
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A melodic preset available in a loaded font.
#[derive(Debug, Clone, Copy)]
pub struct MelodicVoice {
    pub font: usize,
    pub timbre: &'static Timbre,
}

/// How a kit makes sound.
#[derive(Debug)]
pub enum KitVoice {
    /// A SoundFont preset; slots are MIDI keys.
    Font { font: usize, bank: u16, program: u8 },
    /// A Hydrogen kit; slots are instrument indices.
    Hydrogen(HydrogenKit),
}

/// A playable drum kit: for every piece it has, the slots (keys or instruments) that play it.
#[derive(Debug)]
pub struct Kit {
    pub name: String,
    pub voice: KitVoice,
    pub pieces: BTreeMap<KitPiece, Vec<u16>>,
}

impl Kit {
    /// Whether the kit has any piece of a class (drums or cymbals).
    pub fn has_class(&self, class: Instrument) -> bool {
        self.pieces.keys().any(|p| p.class() == Some(class))
    }

    /// The piece actually played for a wanted piece: itself, else the first fallback the kit has.
    pub fn resolve(&self, wanted: KitPiece) -> Option<KitPiece> {
        std::iter::once(wanted)
            .chain(wanted.fallbacks().iter().copied())
            .find(|p| self.pieces.contains_key(p))
    }

    fn from_pieces(
        name: String,
        voice: KitVoice,
        pieces: BTreeMap<KitPiece, Vec<u16>>,
    ) -> Option<Self> {
        let kit = Self {
            name,
            voice,
            pieces,
        };
        (kit.has_class(Instrument::Drums) || kit.has_class(Instrument::Cymbals)).then_some(kit)
    }
}

/// The sources available to one split.
#[derive(Debug, Default, Clone)]
pub struct Palette {
    pub melodic: Vec<MelodicVoice>,
    /// Indices into [`Library::kits`].
    pub kits: Vec<usize>,
}

impl Palette {
    /// Presets of a class.
    pub fn voices_of(&self, class: Instrument) -> impl Iterator<Item = &MelodicVoice> {
        self.melodic
            .iter()
            .filter(move |v| v.timbre.class() == Some(class))
    }

    /// Classes that this palette cannot play.
    pub fn missing_classes(&self, kits: &[Kit]) -> Vec<Instrument> {
        Instrument::ALL
            .into_iter()
            .filter(|&c| match c {
                Instrument::Drums | Instrument::Cymbals => {
                    !self.kits.iter().any(|&k| kits[k].has_class(c))
                }
                _ => self.voices_of(c).next().is_none(),
            })
            .collect()
    }
}

/// Paths given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourcePaths {
    pub soundfonts: Vec<PathBuf>,
    pub drumkits: Vec<PathBuf>,
    pub holdout_soundfonts: Vec<PathBuf>,
    pub holdout_drumkits: Vec<PathBuf>,
}

/// Every loaded source and the two palettes.
#[derive(Debug)]
pub struct Library {
    pub fonts: Vec<LoadedFont>,
    pub kits: Vec<Kit>,
    pub train: Palette,
    /// Sources only used for the test split (`--holdout-*`), if any.
    pub holdout: Option<Palette>,
}

impl Library {
    /// Loads every source; any unreadable source is an error. Classes a palette cannot play are
    /// logged as warnings (their clips use other classes).
    pub fn load(paths: &SourcePaths) -> Result<Self> {
        if paths.soundfonts.is_empty() {
            return Err(SynthError::InvalidConfig(
                "at least one --soundfont is required",
            ));
        }
        let mut seen = BTreeSet::new();
        let all = paths
            .soundfonts
            .iter()
            .chain(&paths.drumkits)
            .chain(&paths.holdout_soundfonts)
            .chain(&paths.holdout_drumkits);
        for p in all {
            let canonical = p.canonicalize().map_err(SynthError::io(p))?;
            if !seen.insert(canonical) {
                return Err(SynthError::InvalidConfig(
                    "a source is given twice (a held-out source must not also be a training source)",
                ));
            }
        }
        let mut library = Self {
            fonts: Vec::new(),
            kits: Vec::new(),
            train: Palette::default(),
            holdout: None,
        };
        library.train = library.add_sources(&paths.soundfonts, &paths.drumkits)?;
        if !paths.holdout_soundfonts.is_empty() || !paths.holdout_drumkits.is_empty() {
            library.holdout =
                Some(library.add_sources(&paths.holdout_soundfonts, &paths.holdout_drumkits)?);
        }
        for (split, palette) in [
            ("training", Some(&library.train)),
            ("held-out", library.holdout.as_ref()),
        ] {
            let Some(palette) = palette else { continue };
            let missing = palette.missing_classes(&library.kits);
            if !missing.is_empty() {
                let names: Vec<&str> = missing.iter().map(|c| c.name()).collect();
                tracing::warn!(
                    "the {split} sources have no preset for {}: these classes are skipped in {split} clips",
                    names.join(", ")
                );
            }
        }
        Ok(library)
    }

    fn add_sources(&mut self, soundfonts: &[PathBuf], drumkits: &[PathBuf]) -> Result<Palette> {
        let mut palette = Palette::default();
        for path in soundfonts {
            let font = LoadedFont::load(path)?;
            let index = self.fonts.len();
            let missing: Vec<&str> = [(8, 24, "ukulele"), (16, 25, "mandolin")]
                .into_iter()
                .filter(|&(b, p, _)| !font.has_preset(b, p))
                .map(|(_, _, n)| n)
                .collect();
            if !missing.is_empty() {
                tracing::warn!("{} lacks {}", font.name, missing.join(" and "));
            }
            for timbre in TIMBRES {
                if font.has_preset(timbre.bank, timbre.program) {
                    palette.melodic.push(MelodicVoice {
                        font: index,
                        timbre,
                    });
                }
            }
            let mut kit_programs: Vec<u8> = font
                .font
                .get_presets()
                .iter()
                .filter(|p| p.get_bank_number() == 128)
                .filter_map(|p| u8::try_from(p.get_patch_number()).ok())
                .filter(|p| GM_KIT_PROGRAMS.contains(p))
                .collect();
            kit_programs.sort_unstable();
            kit_programs.dedup();
            for program in kit_programs {
                let keys = font.sounding_keys(128, program);
                let pieces: BTreeMap<KitPiece, Vec<u16>> = KitPiece::ALL
                    .into_iter()
                    .filter_map(|p| {
                        let slots: Vec<u16> = p
                            .gm_keys()
                            .iter()
                            .filter(|k| keys.contains(k))
                            .map(|&k| u16::from(k))
                            .collect();
                        (!slots.is_empty()).then_some((p, slots))
                    })
                    .collect();
                let name = format!("{}:kit{program}", font.name);
                let voice = KitVoice::Font {
                    font: index,
                    bank: 128,
                    program,
                };
                if let Some(kit) = Kit::from_pieces(name, voice, pieces) {
                    palette.kits.push(self.kits.len());
                    self.kits.push(kit);
                }
            }
            self.fonts.push(font);
        }
        for path in drumkits {
            for kit in self.load_drumkits(path)? {
                palette.kits.push(self.kits.len());
                self.kits.push(kit);
            }
        }
        Ok(palette)
    }

    /// A `--drumkit` path: a drum SoundFont, a Hydrogen kit folder, or a folder of kit folders.
    fn load_drumkits(&mut self, path: &Path) -> Result<Vec<Kit>> {
        let bad = |reason: &str| SynthError::BadDrumKit {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        if path.is_file() {
            let font = LoadedFont::load(path)?;
            let index = self.fonts.len();
            let mut kits = Vec::new();
            let mut presets: Vec<(u16, u8)> = font
                .font
                .get_presets()
                .iter()
                .filter_map(|p| {
                    Some((
                        u16::try_from(p.get_bank_number()).ok()?,
                        u8::try_from(p.get_patch_number()).ok()?,
                    ))
                })
                .collect();
            presets.sort_unstable();
            for (bank, program) in presets {
                let mut pieces: BTreeMap<KitPiece, Vec<u16>> = BTreeMap::new();
                for key in DRUM_KEYS {
                    let piece = font
                        .sample_name(bank, program, key)
                        .and_then(piece_from_name);
                    if let Some(piece) = piece {
                        pieces.entry(piece).or_default().push(u16::from(key));
                    }
                }
                let name = format!("{}:{bank}:{program}", font.name);
                if let Some(kit) = Kit::from_pieces(
                    name,
                    KitVoice::Font {
                        font: index,
                        bank,
                        program,
                    },
                    pieces,
                ) {
                    kits.push(kit);
                }
            }
            if kits.is_empty() {
                return Err(bad(
                    "no preset of this SoundFont has recognisable drum or cymbal samples",
                ));
            }
            self.fonts.push(font);
            return Ok(kits);
        }
        if path.join("drumkit.xml").is_file() {
            return Ok(vec![hydrogen_kit(path)?]);
        }
        let entries = std::fs::read_dir(path).map_err(SynthError::io(path))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("drumkit.xml").is_file())
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(bad(
                "neither a drum SoundFont nor a Hydrogen kit folder (no drumkit.xml)",
            ));
        }
        let mut kits = Vec::new();
        for dir in dirs {
            match hydrogen_kit(&dir) {
                Ok(kit) => kits.push(kit),
                // A kit of hand percussion only, say, is not an error in a folder of kits.
                Err(SynthError::BadDrumKit { reason, .. }) => {
                    tracing::warn!("skipping drum kit {}: {reason}", dir.display())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(kits)
    }
}

fn hydrogen_kit(dir: &Path) -> Result<Kit> {
    let kit = HydrogenKit::load(dir)?;
    let mut pieces: BTreeMap<KitPiece, Vec<u16>> = BTreeMap::new();
    for (i, inst) in kit.instruments.iter().enumerate() {
        pieces.entry(inst.piece).or_default().push(i as u16);
    }
    let name = format!("hydrogen:{}", source_name(dir));
    Kit::from_pieces(name, KitVoice::Hydrogen(kit), pieces).ok_or_else(|| SynthError::BadDrumKit {
        path: dir.to_path_buf(),
        reason: "it has no drum or cymbal piece".into(),
    })
}
