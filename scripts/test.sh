#!/usr/bin/env bash
# The project's test command (README, .ci/run): formatting, lints, unit/integration tests, browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
bash crates/insrec-server/tests/browser/run.sh
