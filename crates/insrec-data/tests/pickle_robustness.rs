//! Malformed pickles: every truncation of a fixture payload is an error (random mutations are
//! fuzzed in `tests/fuzz.rs`).

mod common;

use insrec_data::pickle::object_array_strings;
use insrec_testutil::fixture;

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
