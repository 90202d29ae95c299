//! In-process mutation fuzzing of target (1): bytes → decode → resample → log-mel.
//!
//! Seeds are the tone files and the bad-input corpus; each execution applies a few random mutations
//! (seeded SplitMix64, so a run is reproducible) and must end in `Ok` or an error within a second,
//! never a panic. (A panic inside symphonia is turned into an error by `AudioDecoder`; those are
//! counted as "caught".) CI runs a short smoke run; a long run:
//!
//! ```text
//! INSREC_FUZZ_EXECS=1000000 INSREC_FUZZ_SEED=7 cargo test -p insrec-audio --test fuzz -- --nocapture
//! ```
//!
//! Failing inputs are written to `$INSREC_FUZZ_OUT` (default: the system temp dir) for triage.

mod support;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::corpus;

/// An execution slower than this counts as a hang.
const MAX_EXEC: Duration = Duration::from_secs(1);
/// Executions of the CI smoke run.
const SMOKE_EXECS: u64 = 500;
/// Mutated inputs are cut to this length, to keep executions fast.
const MAX_INPUT: usize = 96 * 1024;
/// Duration cap of the fuzzed front end: decompression bombs stop here.
const MAX_DURATION_S: f64 = 60.0;

/// SplitMix64: tiny, seedable and good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break size and rate fields.
const INTERESTING_U32: [u32; 9] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Applies 1 to 8 random mutations to `input`; `other` is a second seed to splice from.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        let at = rng.below(len);
        match rng.below(8) {
            0 if len > 0 => input[at] ^= 1 << rng.below(8),
            1 if len > 0 => input[at] = rng.next() as u8,
            2 if len >= 4 => {
                let at = rng.below(len - 3);
                let value = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
                let bytes = if rng.below(2) == 0 {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                input[at..at + 4].copy_from_slice(&bytes);
            }
            3 => input.truncate(at),
            4 if len > 0 => {
                let end = (at + 1 + rng.below(256)).min(len);
                input.drain(at..end);
            }
            5 if len > 0 => {
                let end = (at + 1 + rng.below(1024)).min(len);
                let copy = input[at..end].to_vec();
                let to = rng.below(len);
                input.splice(to..to, copy);
            }
            6 => {
                let noise = corpus::noise(1 + rng.below(64), rng.next());
                input.splice(at..at, noise);
            }
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(4096)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ => {}
        }
    }
    input.truncate(MAX_INPUT);
}

/// The fuzzing seeds: every tone file and every corpus file, with its name (the format hint).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = corpus::files()
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect();
    let dir = corpus::data_dir();
    for entry in std::fs::read_dir(&dir).expect("tests/data").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("tone") {
            seeds.push((name, std::fs::read(entry.path()).expect("tone file")));
        }
    }
    seeds
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Saves a failing input and returns where it went.
fn save(name: &str, exec: u64, bytes: &[u8]) -> PathBuf {
    let dir = std::env::var_os("INSREC_FUZZ_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("fuzz-{exec}-{name}"));
    if let Err(e) = std::fs::write(&path, bytes) {
        eprintln!("could not save {}: {e}", path.display());
    }
    path
}

#[test]
fn decode_resample_logmel_never_panics_or_hangs() {
    let execs = env_u64("INSREC_FUZZ_EXECS", SMOKE_EXECS);
    let mut rng = Rng(env_u64("INSREC_FUZZ_SEED", 1));
    let seeds = seeds();
    // Keep panics quiet: each one is reported below with its input.
    std::panic::set_hook(Box::new(|_| {}));
    let options = support::capped(MAX_DURATION_S);
    let (mut failures, mut slowest) = (Vec::new(), Duration::ZERO);
    let (mut accepted, mut caught) = (0u64, 0u64);
    let start = Instant::now();
    for exec in 0..execs {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())].1;
        let mut input = seed.clone();
        mutate(&mut rng, &mut input, other);
        let began = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            support::front_end_bytes(name, &input, options)
        }));
        let took = began.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) if e.to_string().contains("the decoder failed") => caught += 1,
            Ok(Err(_)) => {}
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let path = save(name, exec, &input);
                failures.push(format!("panic: {message} ({})", path.display()));
            }
        }
        if took > MAX_EXEC {
            let path = save(name, exec, &input);
            failures.push(format!("took {took:?} ({})", path.display()));
        }
        if exec > 0 && exec % 10_000 == 0 {
            eprintln!(
                "{exec} execs, {:.0}/s",
                exec as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    let _ = std::panic::take_hook();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: {execs} execs in {seconds:.1} s ({:.0}/s), {accepted} decoded, {caught} decoder \
         panics caught, slowest {slowest:?}, {} failures",
        execs as f64 / seconds,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
