#!/usr/bin/env bash
# Browser test of the InsRec page: headless Chromium, driven through chromedriver, against the server with the
# fake analyzer (examples/browser_check.rs). Needs Debian's `chromium` and `chromium-driver`.
# Usage: crates/insrec-server/tests/browser/run.sh [SCREENSHOT_DIR]   (default: $CARGO_TARGET_DIR/browser-check)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
out="${1:-${CARGO_TARGET_DIR:-$root/target}/browser-check}"
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install -y chromium chromium-driver)" >&2; exit 1; }
done
cd "$root"
# Built workspace-wide, as `cargo test --workspace` builds it, so no dependency is rebuilt with
# other features.
cargo build --quiet --locked --workspace --examples
"${CARGO_TARGET_DIR:-$root/target}/debug/examples/browser_check" \
  --out "$out" --chromium "$(command -v chromium)" --chromedriver "$(command -v chromedriver)"
