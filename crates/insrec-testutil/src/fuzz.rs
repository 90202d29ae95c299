//! In-process, seeded mutation fuzzing shared by the fuzz targets of every crate.
//!
//! A [`Campaign`] takes seed inputs, applies a few random byte mutations to one per execution
//! (SplitMix64, so a run is reproducible from its seed) and hands the result to the target. The
//! target answers with a [`Verdict`], or with `Err` when the input broke a promise (say, an HTTP
//! 500); a panic or an execution slower than [`Campaign::max_exec`] is a failure too. Failing
//! inputs are saved for triage. Environment:
//!
//! - `INSREC_FUZZ_EXECS` — executions (default: the campaign's short smoke run, as in CI);
//! - `INSREC_FUZZ_SECS` — stop after this many seconds, whichever comes first;
//! - `INSREC_FUZZ_SEED` — the mutation seed (default 1);
//! - `INSREC_FUZZ_OUT` — where failing inputs go (default: the system temp dir).

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// SplitMix64: tiny, seedable and good enough to drive mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Values that break size, count and rate fields.
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

/// Applies 1 to 8 random mutations to `input` (bit flips, random bytes, interesting 32-bit
/// values, truncation, deletion, duplication, random insertions, splices from `other`), then cuts
/// it to `max_len` bytes.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8], max_len: usize) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        let at = rng.below(len);
        match rng.below(8) {
            0 if len > 0 => input[at] ^= 1 << rng.below(8),
            1 if len > 0 => input[at] = rng.next_u64() as u8,
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
                let noise: Vec<u8> = (0..1 + rng.below(64))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
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
    input.truncate(max_len);
}

/// A seed input; the target sees its name with each mutant (a file name, a format hint, a field).
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Seed {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// How a target handled one input that kept every promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Processed as valid input.
    Accepted,
    /// Refused with an error.
    Refused,
    /// Refused after catching a panic inside a dependency (counted apart, not a failure).
    Caught,
}

/// How long a campaign runs and from which mutation seed.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub execs: u64,
    pub time_limit: Option<Duration>,
    pub seed: u64,
}

impl Budget {
    /// From `INSREC_FUZZ_EXECS` (default `smoke_execs`), `INSREC_FUZZ_SECS` and `INSREC_FUZZ_SEED`.
    pub fn from_env(smoke_execs: u64) -> Self {
        Self {
            execs: env_u64("INSREC_FUZZ_EXECS").unwrap_or(smoke_execs),
            time_limit: env_u64("INSREC_FUZZ_SECS").map(Duration::from_secs),
            seed: env_u64("INSREC_FUZZ_SEED").unwrap_or(1),
        }
    }
}

/// One fuzz target's run settings.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// Names the target in reports and saved inputs.
    pub target: &'static str,
    pub budget: Budget,
    /// An execution slower than this is a hang.
    pub max_exec: Duration,
    /// Mutants are cut to this many bytes.
    pub max_input: usize,
}

/// What a campaign saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The campaign's target.
    pub target: &'static str,
    pub execs: u64,
    pub seconds: f64,
    pub accepted: u64,
    pub refused: u64,
    pub caught: u64,
    pub slowest: Duration,
    pub failures: Vec<String>,
}

impl Report {
    /// Prints the summary line and panics listing the failures, if any.
    pub fn assert_clean(&self) {
        eprintln!(
            "fuzz {}: {} execs in {:.1} s ({:.0}/s), {} accepted, {} refused, {} panics \
             caught in dependencies, slowest {:?}, {} failures",
            self.target,
            self.execs,
            self.seconds,
            self.execs as f64 / self.seconds.max(1e-9),
            self.accepted,
            self.refused,
            self.caught,
            self.slowest,
            self.failures.len()
        );
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

impl Campaign {
    /// Runs the campaign: mutants of `seeds` through `target` until the budget is spent.
    pub fn run(
        &self,
        seeds: &[Seed],
        mut target: impl FnMut(&str, &[u8]) -> Result<Verdict, String>,
    ) -> Report {
        assert!(!seeds.is_empty(), "fuzz {}: no seeds", self.target);
        let Budget {
            execs,
            time_limit,
            seed,
        } = self.budget;
        let mut rng = Rng::new(seed);
        // Keep panics quiet: each one is reported with its input.
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut report = Report {
            target: self.target,
            ..Report::default()
        };
        let start = Instant::now();
        for exec in 0..execs {
            if time_limit.is_some_and(|limit| start.elapsed() >= limit) {
                break;
            }
            let seed = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())].bytes;
            let mut input = seed.bytes.clone();
            mutate(&mut rng, &mut input, other, self.max_input);
            let began = Instant::now();
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&seed.name, &input)));
            let took = began.elapsed();
            report.execs += 1;
            report.slowest = report.slowest.max(took);
            let failure = match outcome {
                Ok(Ok(Verdict::Accepted)) => {
                    report.accepted += 1;
                    None
                }
                Ok(Ok(Verdict::Refused)) => {
                    report.refused += 1;
                    None
                }
                Ok(Ok(Verdict::Caught)) => {
                    report.caught += 1;
                    None
                }
                Ok(Err(broken)) => Some(broken),
                Err(panic) => Some(format!("panic: {}", insrec_core::panic_message(&*panic))),
            };
            if let Some(failure) = failure {
                let path = self.save(&seed.name, exec, &input);
                report
                    .failures
                    .push(format!("{failure} ({})", path.display()));
            }
            if took > self.max_exec {
                let path = self.save(&seed.name, exec, &input);
                report
                    .failures
                    .push(format!("took {took:?} ({})", path.display()));
            }
            if exec > 0 && exec % 10_000 == 0 {
                eprintln!(
                    "fuzz {}: {exec} execs, {:.0}/s",
                    self.target,
                    exec as f64 / start.elapsed().as_secs_f64()
                );
            }
        }
        std::panic::set_hook(previous_hook);
        report.seconds = start.elapsed().as_secs_f64();
        report
    }

    /// Saves a failing input and returns where it went.
    fn save(&self, seed: &str, exec: u64, bytes: &[u8]) -> PathBuf {
        let dir = std::env::var_os("INSREC_FUZZ_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let name: String = seed
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("fuzz-{}-{exec}-{name}", self.target));
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("could not save {}: {e}", path.display());
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible_and_bounded() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut input = b"RIFF....WAVEfmt data".to_vec();
            for _ in 0..50 {
                mutate(&mut rng, &mut input, b"other bytes", 64);
            }
            input
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        assert!(run(3).len() <= 64);
    }

    #[test]
    fn panics_slow_inputs_and_broken_promises_are_failures() {
        let campaign = Campaign {
            target: "selftest",
            budget: Budget {
                execs: 200,
                time_limit: None,
                seed: 1,
            },
            max_exec: Duration::from_millis(200),
            max_input: 32,
        };
        let seeds = [Seed::new("a", b"abcdefgh".to_vec())];
        let mut n = 0;
        let report = campaign.run(&seeds, |_, input| {
            n += 1;
            match n {
                10 => panic!("boom"),
                20 => Err("broken".into()),
                30 => {
                    std::thread::sleep(Duration::from_millis(250));
                    Ok(Verdict::Accepted)
                }
                _ if input.is_empty() => Ok(Verdict::Refused),
                _ => Ok(Verdict::Accepted),
            }
        });
        assert_eq!(report.execs, 200);
        assert_eq!(report.failures.len(), 3, "{:?}", report.failures);
        assert!(report.failures[0].starts_with("panic: boom"));
        assert!(report.failures[1].starts_with("broken"));
        assert!(report.failures[2].starts_with("took"));
        // The slow execution also counts as accepted.
        assert_eq!(report.accepted + report.refused, 198);
    }
}
