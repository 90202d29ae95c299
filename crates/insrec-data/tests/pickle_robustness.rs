//! Malformed pickles never panic: truncations and random byte mutations of the fixture payloads.

mod common;

use insrec_data::pickle::object_array_strings;
use insrec_testutil::fixture;

/// xorshift64: a fixed, dependency-free mutation stream.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn payloads() -> Vec<(String, Vec<u8>, usize)> {
    let mut out = Vec::new();
    for (name, count) in [
        ("sample_key_2500.legacy_pickle.npy", 2500),
        ("sample_key_2500.numpy2_pickle.npy", 2500),
    ] {
        let bytes = std::fs::read(fixture(format!("openmic/variants/{name}")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_owned(), common::npy_payload(&bytes).to_vec(), count));
    }
    for (name, bytes) in common::members(&common::root().join("openmic-2018.npz")) {
        if name == "sample_key.npy" {
            out.push((name, common::npy_payload(&bytes).to_vec(), 40));
        }
    }
    out
}

#[test]
fn intact_payloads_decode() {
    for (name, payload, count) in payloads() {
        let keys = object_array_strings(&payload, count).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(keys.len(), count, "{name}");
    }
}

#[test]
fn truncations_are_errors() {
    let (_, payload, count) = payloads().pop().unwrap_or_else(|| panic!("no payload"));
    for len in 0..payload.len() {
        assert!(
            object_array_strings(&payload[..len], count).is_err(),
            "accepted {len} of {} bytes",
            payload.len()
        );
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Mutations(0x9e37_79b9_7f4a_7c15);
    for (_, payload, count) in payloads() {
        for _ in 0..300 {
            let mut bytes = payload.clone();
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                bytes.truncate((rng.next() % bytes.len() as u64) as usize);
            }
            // Only a panic fails; either outcome is acceptable for mutated input.
            let _ = object_array_strings(&bytes, count);
        }
    }
}
