//! In-process mutation fuzzing of target (1): bytes → decode → resample → log-mel.
//!
//! Seeds are the tone files and the bad-input corpus; each execution applies a few random mutations
//! (`insrec_testutil::fuzz`, seeded, so a run is reproducible) and must end in `Ok` or an error
//! within a second, never a panic. (A panic inside symphonia is turned into an error by
//! `AudioDecoder`; those are counted as "caught".) CI runs a short smoke run; a long run:
//!
//! ```text
//! INSREC_FUZZ_EXECS=1000000 INSREC_FUZZ_SEED=7 cargo test --release -p insrec-audio --test fuzz -- --nocapture
//! ```
//!
//! Failing inputs are written to `$INSREC_FUZZ_OUT` (default: the system temp dir) for triage.

mod support;

use std::time::Duration;

use insrec_testutil::fuzz::{Budget, Campaign, Seed, Verdict};
use support::corpus;

/// Duration cap of the fuzzed front end: decompression bombs stop here.
const MAX_DURATION_S: f64 = 60.0;

/// The fuzzing seeds: every tone file and every corpus file, named by file (the format hint).
fn seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = corpus::files()
        .into_iter()
        .map(|(name, bytes)| Seed::new(name, bytes))
        .collect();
    let dir = corpus::data_dir();
    for entry in std::fs::read_dir(&dir).expect("tests/data").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("tone") {
            seeds.push(Seed::new(
                name,
                std::fs::read(entry.path()).expect("tone file"),
            ));
        }
    }
    seeds
}

#[test]
fn decode_resample_logmel_never_panics_or_hangs() {
    let campaign = Campaign {
        target: "audio",
        budget: Budget::from_env(500),
        max_exec: Duration::from_secs(1),
        max_input: 96 * 1024,
    };
    let options = support::capped(MAX_DURATION_S);
    campaign
        .run(&seeds(), |name, input| {
            Ok(match support::front_end_bytes(name, input, options) {
                Ok(_) => Verdict::Accepted,
                Err(e) if e.to_string().contains("the decoder failed") => Verdict::Caught,
                Err(_) => Verdict::Refused,
            })
        })
        .assert_clean();
}
