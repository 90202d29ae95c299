#!/usr/bin/env bash
# Soak test of `insrec serve` over loopback: as many clients as the server has analysis slots post the
# fixture clip, every third upload a file of the bad-input corpus in turn, for SECONDS (and at most
# 200 000 requests). Fails if a good request fails, a bad one gets anything but 200 or a 4xx (a 5xx, a
# dropped connection, a timeout), or the server's RSS at the end is more than 10 % above its RSS after
# the warm-up (the first 10 % of the run or its first 60 s, whichever is shorter). Prints p50/p90/p99
# latency. The server is stopped on exit, whatever happens.
#
#   bash scripts/soak.sh [SECONDS] [CLIENTS]     (defaults: 600, 2 = the server's --max-concurrent)
#
# Builds release `insrec` and the loadtest example into ${CARGO_TARGET_DIR:-target}.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-600}
CLIENTS=${2:-2}
TARGET=${CARGO_TARGET_DIR:-target}
CLIP=../shared/fixtures/vggish/000046_3840.ogg
BAD=crates/insrec-audio/tests/data/bad
[ -f "$CLIP" ] || { echo "missing fixture $CLIP" >&2; exit 1; }

cargo build --release --locked -p insrec
cargo build --release --locked -p insrec-server --example loadtest

LOG=$(mktemp)
"$TARGET/release/insrec" serve --addr 127.0.0.1:0 --max-concurrent "$CLIENTS" 2>"$LOG" &
SERVER=$!
stop_server() {
  if kill -INT "$SERVER" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER" 2>/dev/null || true
  fi
  wait "$SERVER" 2>/dev/null || true
  rm -f "$LOG"
}
trap stop_server EXIT

# The server picks a free port and prints it; wait (≤ 60 s) until it answers /api/health.
URL=
for _ in $(seq 300); do
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; echo "the server exited" >&2; exit 1; }
  URL=${URL:-$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$LOG" | head -n 1 || true)}
  [ -n "$URL" ] && curl -sf "$URL/api/health" >/dev/null && break
  sleep 0.2
done
curl -sf "$URL/api/health" >/dev/null || { cat "$LOG" >&2; echo "no answer from $URL/api/health" >&2; exit 1; }
echo "soak: insrec serve (pid $SERVER, --max-concurrent $CLIENTS) at $URL for $DURATION s"

status=0
timeout $((DURATION + 300)) "$TARGET/release/examples/loadtest" --url "$URL" --server-pid "$SERVER" \
  --clients "$CLIENTS" --seconds "$DURATION" --max-requests 200000 --clip "$CLIP" \
  --bad-dir "$BAD" --corrupt-every 3 --max-rss-growth 10 || status=$?
kill -0 "$SERVER" 2>/dev/null || { echo "the server died during the soak" >&2; status=1; }
[ "$status" -eq 0 ] && echo "soak: OK" || echo "soak: FAILED (loadtest exit status $status)" >&2
exit "$status"
