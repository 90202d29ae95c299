//! A SoundFont's note-on modulators baked into its generators, for rustysynth.
//!
//! rustysynth skips a font's modulator lists (`pmod`, `imod`). Most fonts barely use them, but
//! MuseScore General drives its grand pianos', several synth leads' and pads' and its saxophones'
//! filters with velocity (velocity → modulation envelope → filter cutoff, up to +12 000 cents):
//! without them its grand piano plays through a ≈ 250 Hz low-pass, 21–26 dB quiet and 11–16 dB
//! (RMS over the mel bands) off the spectrum Debian's `fluidsynth` renders (`cargo run --release -p
//! insrec-synth --example loudness -- FONT.sf2 [--raw]`).
//!
//! [`baked_soundfont`] rewrites the `pdta` chunk before rustysynth reads it. Every modulator whose
//! sources are fixed for a note (velocity, key number; amount source none, velocity or key) is
//! evaluated and added to its zone's generator. A zone whose modulators' sum varies over its
//! velocity or key range is split into equal bands, each baked at its centre, so that the sum
//! varies by at most a tolerance within a band: [`TOLERANCE`] (cents, timecents, 0.1 %), doubled
//! for the presets or the instruments until their lists fit the format's 65 535 zones and
//! generators (FluidR3_GM: 150 for both; MuseScore General: 600 for presets, 1 200 for
//! instruments). Modulators on the attenuation are left out (rustysynth applies the default
//! velocity curve itself and the mixer sets every part's level), as are those on generators that
//! are not summed this way (sample offsets, ranges, …) and those driven by MIDI controllers (the corpus sends sustain pedal and expression, which rustysynth applies itself).
//! A font without such modulators is read unchanged.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};

/// The most a baked value may vary within a band, in the generator's unit.
pub const TOLERANCE: f64 = 150.0;

const KEY_RANGE: u16 = 43;
const VEL_RANGE: u16 = 44;
const INSTRUMENT: u16 = 41;
const SAMPLE_ID: u16 = 53;
const ATTENUATION: u16 = 48;
const VELOCITY_SOURCE: u16 = 2;
const KEY_SOURCE: u16 = 3;

/// Why a SoundFont's modulators could not be baked.
#[derive(Debug, thiserror::Error)]
pub enum BakeError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{0}")]
    Format(&'static str),
}

/// What baking changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BakeSummary {
    /// Modulators evaluated into generators (counted once per zone they were inherited into).
    pub modulators: usize,
    /// Zones after baking, preset and instrument zones together.
    pub zones: usize,
    /// The tolerance the bands were cut to, presets and instruments ([`TOLERANCE`] or coarser).
    pub tolerance: [f64; 2],
}

/// A SoundFont file as rustysynth should read it: with its note-on modulators baked in, or
/// unchanged (`None` summary) when it has none that matter.
pub fn baked_soundfont(
    mut file: File,
) -> Result<(Box<dyn Read + Send>, Option<BakeSummary>), BakeError> {
    let layout = Layout::read(&mut file)?;
    let Some((pdta, summary)) = bake_pdta(&layout.pdta)? else {
        file.seek(SeekFrom::Start(0))?;
        return Ok((Box::new(file), None));
    };
    // RIFF header, the chunks before `pdta` straight from the file, the new `pdta` list, the
    // chunks after it (usually none).
    let before = layout.pdta_offset - 12;
    let mut chunk = b"LIST".to_vec();
    chunk.extend_from_slice(&u32_len(pdta.len() + 4)?.to_le_bytes());
    chunk.extend_from_slice(b"pdta");
    chunk.extend(pdta);
    let riff_size = u32::try_from(4 + before + chunk.len() as u64 + layout.after.len() as u64)
        .map_err(|_| BakeError::Format("file too large"))?;
    let mut head = b"RIFF".to_vec();
    head.extend_from_slice(&riff_size.to_le_bytes());
    head.extend_from_slice(b"sfbk");
    file.seek(SeekFrom::Start(12))?;
    let reader = Cursor::new(head)
        .chain(file.take(before))
        .chain(Cursor::new(chunk))
        .chain(Cursor::new(layout.after));
    Ok((Box::new(reader), Some(summary)))
}

fn u32_len(n: usize) -> Result<u32, BakeError> {
    u32::try_from(n).map_err(|_| BakeError::Format("chunk too large"))
}

/// Largest `pdta` list, and largest run of chunks after it, read (MuseScore General's `pdta` is
/// 0.5 MB; fonts rarely have anything after it).
const MAX_PDTA: u64 = 64 << 20;

/// Where the `pdta` list sits in the file, its contents and the chunks after it.
struct Layout {
    pdta_offset: u64,
    pdta: Vec<u8>,
    after: Vec<u8>,
}

impl Layout {
    fn read(file: &mut File) -> Result<Self, BakeError> {
        let mut head = [0u8; 12];
        file.read_exact(&mut head)
            .map_err(|_| BakeError::Format("too short for a RIFF header"))?;
        if &head[0..4] != b"RIFF" || &head[8..12] != b"sfbk" {
            return Err(BakeError::Format("not a RIFF sfbk file"));
        }
        let end = 8 + u64::from(le32(&head[4..8]));
        let mut offset = 12u64;
        while offset + 12 <= end {
            file.seek(SeekFrom::Start(offset))?;
            let mut chunk = [0u8; 12];
            file.read_exact(&mut chunk)?;
            let size = u64::from(le32(&chunk[4..8]));
            // The chunk's end, with the pad byte of an odd size.
            let next = offset + 8 + size + (size & 1);
            if &chunk[0..4] == b"LIST" && &chunk[8..12] == b"pdta" {
                if size > MAX_PDTA {
                    return Err(BakeError::Format("the pdta list is implausibly large"));
                }
                let mut pdta = vec![0u8; size.saturating_sub(4) as usize];
                file.read_exact(&mut pdta)?;
                let after_len = end.saturating_sub(next);
                if after_len > MAX_PDTA {
                    return Err(BakeError::Format("too much data after the pdta list"));
                }
                file.seek(SeekFrom::Start(next))?;
                let mut after = vec![0u8; after_len as usize];
                file.read_exact(&mut after)?;
                return Ok(Self {
                    pdta_offset: offset,
                    pdta,
                    after,
                });
            }
            offset = next;
        }
        Err(BakeError::Format("no pdta list"))
    }
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// One modulator record (`pmod`/`imod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Modulator {
    source: u16,
    destination: u16,
    amount: i16,
    amount_source: u16,
    transform: u16,
}

impl Modulator {
    fn parse(b: &[u8]) -> Self {
        Self {
            source: le16(&b[0..2]),
            destination: le16(&b[2..4]),
            amount: le16(&b[4..6]) as i16,
            amount_source: le16(&b[6..8]),
            transform: le16(&b[8..10]),
        }
    }

    /// Same modulator in the SoundFont sense: a local one replaces a global one.
    fn same_as(&self, other: &Self) -> bool {
        (
            self.source,
            self.destination,
            self.amount_source,
            self.transform,
        ) == (
            other.source,
            other.destination,
            other.amount_source,
            other.transform,
        )
    }

    /// Fixed for a note, on a destination rustysynth reads, and not left to rustysynth or the mixer.
    fn bakeable(&self) -> bool {
        let note_source =
            |s: u16| s & 0x80 == 0 && matches!(s & 0x7f, VELOCITY_SOURCE | KEY_SOURCE);
        self.amount != 0
            && note_source(self.source)
            && (self.amount_source & 0xff == 0 || note_source(self.amount_source))
            && self.destination != ATTENUATION
            && generator_spec(self.destination).is_some()
    }

    /// The modulator's output for a note.
    fn value(&self, key: f64, velocity: f64) -> f64 {
        let mut v = f64::from(self.amount)
            * source_value(self.source, key, velocity)
            * if self.amount_source & 0xff == 0 {
                1.0
            } else {
                source_value(self.amount_source, key, velocity)
            };
        if self.transform == 2 {
            v = v.abs();
        }
        v
    }
}

/// A modulator source's mapped value (SoundFont 2.04, 8.2.1) for a note.
fn source_value(source: u16, key: f64, velocity: f64) -> f64 {
    let raw = if source & 0x7f == KEY_SOURCE {
        key
    } else {
        velocity
    };
    let mut x = raw / 128.0;
    if source & 0x100 != 0 {
        x = (127.0 - raw) / 128.0;
    }
    let shape = |x: f64| match source >> 10 {
        1 => concave(x),
        2 => 1.0 - concave(1.0 - x),
        3 => {
            if x >= 0.5 {
                1.0
            } else {
                0.0
            }
        }
        _ => x,
    };
    if source & 0x200 == 0 {
        shape(x)
    } else if source >> 10 == 3 {
        2.0 * shape(x) - 1.0
    } else if x >= 0.5 {
        shape(2.0 * x - 1.0)
    } else {
        -shape(1.0 - 2.0 * x)
    }
}

/// The SoundFont concave curve: `-(20/96)·log10((1 - x)²)`, 0 at 0 and 1 at 1.
fn concave(x: f64) -> f64 {
    if x >= 1.0 {
        1.0
    } else {
        (-(5.0 / 12.0) * (1.0 - x).log10()).clamp(0.0, 1.0)
    }
}

/// A generator a modulator may be baked into: its instrument-level default and its range
/// (SoundFont 2.04, 8.1.3); `None` for those that are not summed (ranges, sample, offsets, …).
fn generator_spec(generator: u16) -> Option<(i32, i32, i32)> {
    Some(match generator {
        5..=7 | 10 | 11 => (0, -12_000, 12_000),
        8 => (13_500, 1_500, 13_500),
        9 => (0, 0, 960),
        13 => (0, -960, 960),
        15 | 16 => (0, 0, 1_000),
        17 => (0, -500, 500),
        21 | 23 | 25 | 27 | 33 | 35 => (-12_000, -12_000, 5_000),
        22 | 24 => (0, -16_000, 4_500),
        26 | 28 | 30 | 34 | 36 | 38 => (-12_000, -12_000, 8_000),
        29 => (0, 0, 1_000),
        37 => (0, 0, 1_440),
        31 | 32 | 39 | 40 => (0, -1_200, 1_200),
        51 => (0, -120, 120),
        52 => (0, -99, 99),
        _ => return None,
    })
}

/// One zone: generators (terminal one last) and modulators.
#[derive(Debug, Clone, Default)]
struct Zone {
    generators: Vec<(u16, i16)>,
    modulators: Vec<Modulator>,
}

impl Zone {
    fn generator(&self, op: u16) -> Option<i16> {
        self.generators
            .iter()
            .find(|(o, _)| *o == op)
            .map(|&(_, v)| v)
    }

    fn set(&mut self, op: u16, value: i16) {
        if let Some(slot) = self.generators.iter_mut().find(|(o, _)| *o == op) {
            slot.1 = value;
            return;
        }
        // Ranges first (key range before velocity range), the terminal generator last.
        let at = match op {
            KEY_RANGE => 0,
            VEL_RANGE => usize::from(self.generator(KEY_RANGE).is_some()),
            _ => self
                .generators
                .iter()
                .position(|(o, _)| matches!(*o, INSTRUMENT | SAMPLE_ID))
                .unwrap_or(self.generators.len()),
        };
        self.generators.insert(at, (op, value));
    }
}

fn range_of(zone: &Zone, global: Option<&Zone>, op: u16) -> (u8, u8) {
    let v = zone
        .generator(op)
        .or_else(|| global.and_then(|g| g.generator(op)))
        .map_or(0x7f00u16, |v| v as u16);
    let (lo, hi) = ((v & 0xff) as u8, (v >> 8) as u8);
    (lo.min(127), hi.min(127).max(lo.min(127)))
}

fn range_value(lo: u8, hi: u8) -> i16 {
    (u16::from(lo) | u16::from(hi) << 8) as i16
}

/// The modulators' summed output per destination.
fn sums(mods: &[Modulator], key: f64, velocity: f64) -> Vec<(u16, f64)> {
    let mut sums: Vec<(u16, f64)> = Vec::new();
    for m in mods {
        let v = m.value(key, velocity);
        match sums.iter_mut().find(|(d, _)| *d == m.destination) {
            Some(s) => s.1 += v,
            None => sums.push((m.destination, v)),
        }
    }
    sums
}

/// Splits `lo..=hi` into equal bands, as few as keep the sums within `tolerance` in each
/// (`at(x)` evaluates them at `x` on this axis).
fn bands(lo: u8, hi: u8, tolerance: f64, at: impl Fn(f64) -> Vec<(u16, f64)>) -> Vec<(u8, u8)> {
    let samples: Vec<Vec<(u16, f64)>> = (lo..=hi).map(|x| at(f64::from(x))).collect();
    let spread = samples[0]
        .iter()
        .enumerate()
        .map(|(d, _)| {
            let values = samples.iter().map(|s| s[d].1);
            values.clone().fold(f64::MIN, f64::max) - values.fold(f64::MAX, f64::min)
        })
        .fold(0.0, f64::max);
    let n = ((spread / tolerance).ceil() as usize).clamp(1, usize::from(hi - lo) + 1);
    let len = f64::from(hi - lo + 1) / n as f64;
    (0..n)
        .map(|i| {
            let a = lo + (i as f64 * len).round() as u8;
            let b = lo + ((i + 1) as f64 * len).round() as u8 - 1;
            (a, b)
        })
        .collect()
}

/// The effective value of a generator in each local zone of a (baked) instrument: lowest and
/// highest.
fn instrument_extent(zones: &[Zone], generator: u16) -> Option<(i32, i32)> {
    let global = zones
        .first()
        .filter(|z| z.generators.last().is_none_or(|(o, _)| *o != SAMPLE_ID));
    let default = generator_spec(generator)?.0;
    zones
        .iter()
        .skip(usize::from(global.is_some()))
        .map(|z| {
            z.generator(generator)
                .or_else(|| global.and_then(|g| g.generator(generator)))
                .map_or(default, i32::from)
        })
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Where one level's baked values must lie: an instrument's generators within the SoundFont
/// ranges; a preset's offsets such that the baked instruments it plays stay within them (what
/// fluidsynth's clamping of the sum gives, and what keeps rustysynth's filter stable: a negative
/// filter Q makes it diverge).
enum Bounds<'a> {
    Instrument,
    /// The baked instruments' zones.
    Preset(&'a [Vec<Zone>]),
}

impl Bounds<'_> {
    fn clamp(&self, zone: &Zone, generator: u16, value: i32) -> i32 {
        let Some((_, min, max)) = generator_spec(generator) else {
            return value;
        };
        let (lo, hi) = match self {
            Self::Instrument => (min, max),
            Self::Preset(instruments) => {
                let extent = zone
                    .generator(INSTRUMENT)
                    .and_then(|i| instruments.get(usize::from(i as u16)))
                    .and_then(|zones| instrument_extent(zones, generator));
                match extent {
                    Some((inst_lo, inst_hi)) => (min - inst_lo, (max - inst_hi).max(min - inst_lo)),
                    None => return value,
                }
            }
        };
        value.clamp(lo, hi)
    }

    fn preset_level(&self) -> bool {
        matches!(self, Self::Preset(_))
    }
}

/// The zones of one preset or instrument with their modulators baked; `count` adds the number of
/// modulators baked.
fn bake_zones(zones: &[Zone], bounds: &Bounds, tolerance: f64, count: &mut usize) -> Vec<Zone> {
    let preset_level = bounds.preset_level();
    let terminal = if preset_level { INSTRUMENT } else { SAMPLE_ID };
    let global = zones
        .first()
        .filter(|z| z.generators.last().is_none_or(|(o, _)| *o != terminal));
    let mut out = Vec::with_capacity(zones.len());
    for (i, zone) in zones.iter().enumerate() {
        if i == 0 && global.is_some() {
            out.push(Zone {
                generators: zone.generators.clone(),
                modulators: Vec::new(),
            });
            continue;
        }
        let mut mods: Vec<Modulator> = global.map(|g| g.modulators.clone()).unwrap_or_default();
        for m in &zone.modulators {
            match mods.iter_mut().find(|g| g.same_as(m)) {
                Some(slot) => *slot = *m,
                None => mods.push(*m),
            }
        }
        mods.retain(Modulator::bakeable);
        let plain = Zone {
            generators: zone.generators.clone(),
            modulators: Vec::new(),
        };
        if mods.is_empty() {
            out.push(plain);
            continue;
        }
        *count += mods.len();
        let (k0, k1) = range_of(zone, global, KEY_RANGE);
        let (v0, v1) = range_of(zone, global, VEL_RANGE);
        let centre = |lo: u8, hi: u8| f64::from(u16::from(lo) + u16::from(hi)) / 2.0;
        let keys = bands(k0, k1, tolerance, |k| sums(&mods, k, centre(v0, v1)));
        let velocities = bands(v0, v1, tolerance, |v| sums(&mods, centre(k0, k1), v));
        for &(k0, k1) in &keys {
            for &(v0, v1) in &velocities {
                let mut z = plain.clone();
                if keys.len() > 1 {
                    z.set(KEY_RANGE, range_value(k0, k1));
                }
                if velocities.len() > 1 {
                    z.set(VEL_RANGE, range_value(v0, v1));
                }
                for (dest, sum) in sums(&mods, centre(k0, k1), centre(v0, v1)) {
                    let base = zone
                        .generator(dest)
                        .or_else(|| global.and_then(|g| g.generator(dest)))
                        .map(i32::from)
                        .or(if preset_level {
                            Some(0)
                        } else {
                            generator_spec(dest).map(|(default, _, _)| default)
                        })
                        .unwrap_or(0);
                    let value = bounds.clamp(zone, dest, base + sum.round() as i32);
                    z.set(dest, value.clamp(i16::MIN.into(), i16::MAX.into()) as i16);
                }
                out.push(z);
            }
        }
    }
    out
}

/// One list of headers (`phdr` or `inst`) with their zones.
struct Headers {
    /// Each header's record bytes (the bag index is rewritten).
    records: Vec<Vec<u8>>,
    zones: Vec<Vec<Zone>>,
}

fn parse_level(
    chunks: &Chunks,
    names: [&str; 4],
    record: usize,
    bag_at: usize,
) -> Result<Headers, BakeError> {
    let [hdr, bag, modulators, generators] = names.map(|n| chunks.get(n));
    let (hdr, bag, modulators, generators) = (hdr?, bag?, modulators?, generators?);
    if hdr.len() % record != 0 || hdr.len() < 2 * record || bag.len() % 4 != 0 {
        return Err(BakeError::Format("malformed header or bag list"));
    }
    let records: Vec<&[u8]> = hdr.chunks(record).collect();
    let bag_index = |r: &[u8]| usize::from(le16(&r[bag_at..bag_at + 2]));
    let bags: Vec<(usize, usize)> = bag
        .chunks(4)
        .map(|b| (usize::from(le16(&b[0..2])), usize::from(le16(&b[2..4]))))
        .collect();
    let mut zones = Vec::with_capacity(records.len() - 1);
    for pair in records.windows(2) {
        let (b0, b1) = (bag_index(pair[0]), bag_index(pair[1]));
        if b0 > b1 || b1 >= bags.len() {
            return Err(BakeError::Format("bag index out of range"));
        }
        let mut list = Vec::with_capacity(b1 - b0);
        for b in b0..b1 {
            let ((g0, m0), (g1, m1)) = (bags[b], bags[b + 1]);
            let gens = generators
                .get(g0 * 4..g1 * 4)
                .ok_or(BakeError::Format("generator index out of range"))?;
            let mods = modulators
                .get(m0 * 10..m1 * 10)
                .ok_or(BakeError::Format("modulator index out of range"))?;
            list.push(Zone {
                generators: gens
                    .chunks(4)
                    .map(|g| (le16(&g[0..2]), le16(&g[2..4]) as i16))
                    .collect(),
                modulators: mods.chunks(10).map(Modulator::parse).collect(),
            });
        }
        zones.push(list);
    }
    Ok(Headers {
        records: records.iter().map(|r| r.to_vec()).collect(),
        zones,
    })
}

/// Writes the header, bag, modulator (terminal record only) and generator lists of one level.
fn write_level(h: &Headers, bag_at: usize) -> Result<[Vec<u8>; 4], BakeError> {
    let too_many = || BakeError::Format("more than 65 535 zones or generators after baking");
    let (mut hdr, mut bag, mut gen_list) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_bags, mut n_gens) = (0usize, 0usize);
    for (i, record) in h.records.iter().enumerate() {
        let mut r = record.clone();
        r[bag_at..bag_at + 2]
            .copy_from_slice(&u16::try_from(n_bags).map_err(|_| too_many())?.to_le_bytes());
        hdr.extend(r);
        for zone in h.zones.get(i).map_or(&[][..], Vec::as_slice) {
            bag.extend_from_slice(&u16::try_from(n_gens).map_err(|_| too_many())?.to_le_bytes());
            bag.extend_from_slice(&0u16.to_le_bytes());
            for &(op, value) in &zone.generators {
                gen_list.extend_from_slice(&op.to_le_bytes());
                gen_list.extend_from_slice(&value.to_le_bytes());
            }
            n_bags += 1;
            n_gens += zone.generators.len();
        }
    }
    bag.extend_from_slice(&u16::try_from(n_gens).map_err(|_| too_many())?.to_le_bytes());
    bag.extend_from_slice(&0u16.to_le_bytes());
    gen_list.extend_from_slice(&[0; 4]);
    Ok([hdr, bag, vec![0; 10], gen_list])
}

/// The sub-chunks of `pdta`, by name.
struct Chunks<'a>(Vec<(&'a [u8], &'a [u8])>);

impl<'a> Chunks<'a> {
    fn parse(pdta: &'a [u8]) -> Result<Self, BakeError> {
        let mut list = Vec::new();
        let mut at = 0;
        while at + 8 <= pdta.len() {
            let size = le32(&pdta[at + 4..at + 8]) as usize;
            let body = pdta
                .get(at + 8..at + 8 + size)
                .ok_or(BakeError::Format("truncated pdta sub-chunk"))?;
            list.push((&pdta[at..at + 4], body));
            at += 8 + size + (size & 1);
        }
        Ok(Self(list))
    }

    fn get(&self, name: &str) -> Result<&'a [u8], BakeError> {
        self.0
            .iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|&(_, b)| b)
            .ok_or(BakeError::Format("a pdta sub-chunk is missing"))
    }
}

/// One level (presets or instruments) baked and written.
struct BakedLevel {
    lists: [Vec<u8>; 4],
    zones_of: Vec<Vec<Zone>>,
    modulators: usize,
    zones: usize,
    tolerance: f64,
}

/// Bakes one level at [`TOLERANCE`], doubled until its lists fit the format.
fn bake_level(level: &Headers, bounds: &Bounds, bag_at: usize) -> Result<BakedLevel, BakeError> {
    let mut tolerance = TOLERANCE;
    loop {
        let mut modulators = 0;
        let baked = Headers {
            records: level.records.clone(),
            zones: level
                .zones
                .iter()
                .map(|z| bake_zones(z, bounds, tolerance, &mut modulators))
                .collect(),
        };
        match write_level(&baked, bag_at) {
            Ok(lists) => {
                return Ok(BakedLevel {
                    lists,
                    modulators,
                    zones: baked.zones.iter().map(Vec::len).sum(),
                    tolerance,
                    zones_of: baked.zones,
                });
            }
            Err(_) if tolerance < 1e5 => tolerance *= 2.0,
            Err(e) => return Err(e),
        }
    }
}

/// The baked `pdta` contents (without the `LIST` header), or `None` when nothing is baked.
fn bake_pdta(pdta: &[u8]) -> Result<Option<(Vec<u8>, BakeSummary)>, BakeError> {
    let chunks = Chunks::parse(pdta)?;
    let instruments = bake_level(
        &parse_level(&chunks, ["inst", "ibag", "imod", "igen"], 22, 20)?,
        &Bounds::Instrument,
        20,
    )?;
    let presets = bake_level(
        &parse_level(&chunks, ["phdr", "pbag", "pmod", "pgen"], 38, 24)?,
        &Bounds::Preset(&instruments.zones_of),
        24,
    )?;
    if presets.modulators + instruments.modulators == 0 {
        return Ok(None);
    }
    let [phdr, pbag, pmod, pgen] = presets.lists;
    let [inst, ibag, imod, igen] = instruments.lists;
    let shdr = chunks.get("shdr")?;
    let mut out = Vec::new();
    for (name, body) in [
        ("phdr", &phdr[..]),
        ("pbag", &pbag),
        ("pmod", &pmod),
        ("pgen", &pgen),
        ("inst", &inst),
        ("ibag", &ibag),
        ("imod", &imod),
        ("igen", &igen),
        ("shdr", shdr),
    ] {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&u32_len(body.len())?.to_le_bytes());
        out.extend_from_slice(body);
    }
    Ok(Some((
        out,
        BakeSummary {
            modulators: presets.modulators + instruments.modulators,
            zones: presets.zones + instruments.zones,
            tolerance: [presets.tolerance, instruments.tolerance],
        },
    )))
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write};
    use std::sync::Arc;

    use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

    use super::*;

    const RATE: u32 = 22_050;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    fn list(kind: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut body = kind.to_vec();
        chunks.iter().for_each(|c| body.extend(c));
        chunk(b"LIST", &body)
    }

    fn records(items: &[&[u16]]) -> Vec<u8> {
        items
            .iter()
            .flat_map(|r| r.iter().flat_map(|v| v.to_le_bytes()))
            .collect()
    }

    fn named(name: &str, len: usize, tail: &[u8]) -> Vec<u8> {
        let mut out = name.as_bytes().to_vec();
        out.resize(len, 0);
        out.extend_from_slice(tail);
        out
    }

    /// A one-preset SoundFont: a looped 1 kHz square wave behind an 82 Hz low-pass (4 000 cents)
    /// that `modulator` (in the instrument's global zone) may open.
    fn tiny_font(modulator: [u16; 5]) -> tempfile::NamedTempFile {
        tiny_font_with(modulator, &[])
    }

    /// [`tiny_font`] with `trailing` chunks after the `pdta` list.
    fn tiny_font_with(modulator: [u16; 5], trailing: &[u8]) -> tempfile::NamedTempFile {
        let period = (RATE / 1000) as usize;
        let mut samples: Vec<i16> = (0..RATE as usize / 10)
            .map(|i| if i % period < period / 2 { 8000 } else { -8000 })
            .collect();
        let len = samples.len() as u32;
        samples.extend([0i16; 46]);
        let smpl: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut shdr = named("square", 20, &[]);
        for v in [0, len, 0, len - 1, RATE] {
            shdr.extend_from_slice(&v.to_le_bytes());
        }
        shdr.extend_from_slice(&[69, 0, 0, 0, 1, 0]);
        shdr.extend(named("EOS", 46, &[]));
        let mut phdr = named("P", 20, &records(&[&[0, 0, 0]]));
        phdr.extend_from_slice(&[0; 12]);
        phdr.extend(named("EOP", 20, &records(&[&[0, 0, 1]])));
        phdr.extend_from_slice(&[0; 12]);
        let pdta = list(
            b"pdta",
            &[
                chunk(b"phdr", &phdr),
                chunk(b"pbag", &records(&[&[0, 0], &[1, 0]])),
                chunk(b"pmod", &[0; 10]),
                chunk(b"pgen", &records(&[&[INSTRUMENT, 0], &[0, 0]])),
                chunk(
                    b"inst",
                    &[
                        named("I", 20, &0u16.to_le_bytes()),
                        named("EOI", 20, &2u16.to_le_bytes()),
                    ]
                    .concat(),
                ),
                chunk(b"ibag", &records(&[&[0, 0], &[1, 1], &[3, 1]])),
                chunk(b"imod", &records(&[&modulator, &[0; 5]])),
                chunk(
                    b"igen",
                    &records(&[&[8, 4000], &[54, 1], &[SAMPLE_ID, 0], &[0, 0]]),
                ),
                chunk(b"shdr", &shdr),
            ],
        );
        let info = list(
            b"INFO",
            &[
                chunk(b"ifil", &records(&[&[2, 1]])),
                chunk(b"INAM", b"tiny\0\0"),
            ],
        );
        let sdta = list(b"sdta", &[chunk(b"smpl", &smpl)]);
        let mut body = b"sfbk".to_vec();
        body.extend([info, sdta, pdta, trailing.to_vec()].concat());
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&chunk(b"RIFF", &body)).expect("write font");
        file
    }

    fn load(file: &tempfile::NamedTempFile, bake: bool) -> (Arc<SoundFont>, Option<BakeSummary>) {
        let f = File::open(file.path()).expect("open");
        let (reader, summary): (Box<dyn Read>, _) = if bake {
            let (r, s) = baked_soundfont(f).expect("bake");
            (r, s)
        } else {
            (Box::new(f), None)
        };
        let font = SoundFont::new(&mut BufReader::new(reader)).expect("rustysynth reads it");
        (Arc::new(font), summary)
    }

    /// RMS level (dB) of a 0.2 s note.
    fn level(font: &Arc<SoundFont>, velocity: i32) -> f64 {
        let mut settings = SynthesizerSettings::new(RATE as i32);
        settings.enable_reverb_and_chorus = false;
        let mut synth = Synthesizer::new(font, &settings).expect("synthesizer");
        synth.note_on(0, 69, velocity);
        let n = RATE as usize / 5;
        let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
        synth.render(&mut l, &mut r);
        let p = l.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / n as f64;
        10.0 * p.max(1e-20).log10()
    }

    #[test]
    fn a_velocity_modulator_on_the_filter_is_baked_into_velocity_bands() {
        // Note-on velocity, linear, unipolar, positive → initial filter cutoff, +9 000 cents.
        let file = tiny_font([VELOCITY_SOURCE, 8, 9000, 0, 0]);
        let (raw, none) = load(&file, false);
        assert!(none.is_none());
        let (baked, summary) = load(&file, true);
        let summary = summary.expect("the modulator is baked");
        assert_eq!(summary.modulators, 1);
        assert_eq!(summary.tolerance, [TOLERANCE; 2]);
        // 8 930 cents of spread over the velocity range: 60 bands of ≤ 150 cents, one preset zone.
        assert_eq!(summary.zones, 1 + 1 + 60);
        // rustysynth alone plays every note through the closed filter; baked, velocity opens it.
        let (quiet, loud) = (level(&baked, 24), level(&baked, 127));
        assert!(
            loud > level(&raw, 127) + 20.0,
            "{loud} vs raw {}",
            level(&raw, 127)
        );
        assert!(
            loud > quiet + 10.0,
            "velocity 127: {loud} dB, 24: {quiet} dB"
        );
    }

    #[test]
    fn chunks_after_the_parameters_are_kept() {
        let trailing = list(b"junk", &[chunk(b"note", b"kept")]);
        let file = tiny_font_with([VELOCITY_SOURCE, 8, 9000, 0, 0], &trailing);
        let (reader, summary) =
            baked_soundfont(File::open(file.path()).expect("open")).expect("bake");
        assert!(summary.is_some());
        let mut bytes = Vec::new();
        BufReader::new(reader)
            .read_to_end(&mut bytes)
            .expect("read");
        assert!(bytes.ends_with(&trailing));
        assert_eq!(le32(&bytes[4..8]) as usize, bytes.len() - 8, "RIFF size");
        let (font, _) = load(&file, true);
        assert!(level(&font, 127) > level(&load(&file, false).0, 127) + 20.0);
    }

    #[test]
    fn bands_cover_the_range_and_carry_the_centre_value() {
        let m = Modulator::parse(&records(&[&[VELOCITY_SOURCE, 11, 1280, 0, 0]]));
        let zones = [
            Zone {
                generators: vec![(VEL_RANGE, range_value(10, 73)), (11, 100)],
                modulators: vec![m],
            },
            Zone {
                generators: vec![(SAMPLE_ID, 0)],
                modulators: Vec::new(),
            },
        ];
        let mut count = 0;
        let out = bake_zones(&zones, &Bounds::Instrument, 160.0, &mut count);
        assert_eq!(count, 1);
        // The global zone is kept (without modulators); the local one inherits the range and the
        // modulator: 630 units of spread over 10..=73 → 4 bands of 16 velocities.
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|z| z.modulators.is_empty()));
        let mut next = 10;
        for z in &out[1..] {
            let (lo, hi) = range_of(z, None, VEL_RANGE);
            assert_eq!((lo, hi - lo + 1), (next, 16));
            next = hi + 1;
            let centre = (f64::from(lo) + f64::from(hi)) / 2.0;
            let want = 100 + (1280.0 * centre / 128.0).round() as i16;
            assert_eq!(z.generator(11), Some(want));
            assert_eq!(
                z.generators.last(),
                Some(&(SAMPLE_ID, 0)),
                "terminal generator last"
            );
        }
        assert_eq!(next, 74);
    }

    #[test]
    fn baked_values_stay_within_the_soundfont_ranges() {
        // Velocity (negative) → filter Q, −160 cB at the preset level over a Q offset of 60 cB:
        // the sum would go below 0 (where rustysynth's filter diverges) for loud notes.
        let preset = [Zone {
            generators: vec![(9, 60), (INSTRUMENT, 0)],
            modulators: vec![Modulator::parse(&records(&[&[
                VELOCITY_SOURCE,
                9,
                (-160i16) as u16,
                0,
                0,
            ]]))],
        }];
        let instrument = [Zone {
            generators: vec![(8, 13_000), (SAMPLE_ID, 0)],
            modulators: vec![Modulator::parse(&records(&[&[
                VELOCITY_SOURCE,
                8,
                4000,
                0,
                0,
            ]]))],
        }];
        let mut count = 0;
        let baked = bake_zones(&instrument, &Bounds::Instrument, 150.0, &mut count);
        assert!(
            baked
                .iter()
                .all(|z| z.generator(8).is_some_and(|fc| fc <= 13_500))
        );
        assert_eq!(baked.last().and_then(|z| z.generator(8)), Some(13_500));
        let q: Vec<i16> = bake_zones(&preset, &Bounds::Preset(&[baked]), 150.0, &mut count)
            .iter()
            .filter_map(|z| z.generator(9))
            .collect();
        // Two velocity bands: 60 − 160 · 31.5 / 128 = 21 cB for 0–63; −59 clamped to 0 for 64–127.
        assert_eq!(q, [21, 0]);
        assert_eq!(count, 2);
    }

    #[test]
    fn controller_and_attenuation_modulators_leave_a_font_unchanged() {
        for modulator in [
            [0x80 | 1, 8, 9000, 0, 0], // modulation wheel → filter: not fixed for a note
            [VELOCITY_SOURCE, ATTENUATION, 500, 0, 0], // rustysynth's own velocity curve
            [VELOCITY_SOURCE, 8, 0, 0, 0], // no effect
        ] {
            let file = tiny_font(modulator);
            assert!(load(&file, true).1.is_none(), "{modulator:?}");
        }
    }

    #[test]
    fn sources_follow_the_soundfont_curves() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(source_value(VELOCITY_SOURCE, 0.0, 64.0), 0.5));
        assert!(close(source_value(VELOCITY_SOURCE | 0x100, 0.0, 63.0), 0.5));
        // Bipolar key number: centre 0, ends ±1.
        assert!(close(source_value(KEY_SOURCE | 0x200, 64.0, 0.0), 0.0));
        assert!(source_value(KEY_SOURCE | 0x200, 0.0, 0.0) < -0.99);
        // Concave: slow, then steep; convex the mirror image; switch a step.
        let concave_at = |v: f64| source_value(VELOCITY_SOURCE | 0x400, 0.0, v);
        assert!(close(concave_at(0.0), 0.0) && concave_at(64.0) < 0.15 && concave_at(127.0) > 0.8);
        assert!(source_value(VELOCITY_SOURCE | 0x800, 0.0, 64.0) > 0.85);
        assert!(close(source_value(VELOCITY_SOURCE | 0xC00, 0.0, 70.0), 1.0));
        assert!(close(source_value(VELOCITY_SOURCE | 0xC00, 0.0, 50.0), 0.0));
        let m = Modulator::parse(&records(&[&[VELOCITY_SOURCE | 0x200, 8, 1000, 0, 2]]));
        assert!(
            close(m.value(0.0, 0.0), 1000.0),
            "transform 2 takes the absolute value"
        );
    }

    #[test]
    fn a_file_that_is_not_a_soundfont_is_refused() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"RIFF\x04\0\0\0WAVE").expect("write");
        let err = baked_soundfont(File::open(file.path()).expect("open")).err();
        assert!(
            matches!(err, Some(BakeError::Format(m)) if m.contains("sfbk")),
            "{err:?}"
        );
    }
}
