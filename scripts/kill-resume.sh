#!/usr/bin/env bash
# kill -9 at random moments, then resume: `insrec synth` and `insrec train` must never leave a
# half-written clip or a corrupt checkpoint, and must finish with the same result as a run that was
# never interrupted.
#
#   bash scripts/kill-resume.sh [KILLS] [WORK_DIR]     (defaults: 20, a temporary folder)
#
# Needs a release build (`cargo build --release -p insrec`) and the timgm6mb-soundfont package.
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${1:-20}
WORK=${2:-$(mktemp -d)}
BIN=${CARGO_TARGET_DIR:-target}/release/insrec
SF=/usr/share/sounds/sf2/TimGM6mb.sf2
[ -x "$BIN" ] || { echo "build first: cargo build --release -p insrec" >&2; exit 1; }
[ -f "$SF" ] || { echo "missing $SF (apt-get install timgm6mb-soundfont)" >&2; exit 1; }

# Runs "$@" KILLS times, each killed with SIGKILL after a random 0.2–MAX_S seconds (or left to
# finish if it is quicker), then once to completion.
kill_loop() {
  local max_ms=$1; shift
  local killed=0 finished=0
  for _ in $(seq "$KILLS"); do
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(awk -v r=$RANDOM -v m="$max_ms" 'BEGIN { printf "%.3f", (200 + r % m) / 1000 }')"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
    wait "$pid" 2>/dev/null || true
  done
  "$@" >/dev/null
  echo "  $killed kills, $finished runs ended before their kill, then one run to the end"
}

synth=(synth --soundfont "$SF" --clips 600 --seed 5 --jobs 2)
echo "synth: reference render"
"$BIN" "${synth[@]}" --out "$WORK/synth-ref" >/dev/null
echo "synth: killed render"
kill_loop 2500 "$BIN" "${synth[@]}" --out "$WORK/synth-killed"
leftovers=$(find "$WORK/synth-killed" -name '*.tmp' | wc -l)
if (cd "$WORK/synth-ref" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/ref.sums" &&
  (cd "$WORK/synth-killed" && sha256sum -c --quiet "$WORK/ref.sums") && [ "$leftovers" -eq 0 ] &&
  [ "$(find "$WORK/synth-ref" -type f | wc -l)" -eq "$(find "$WORK/synth-killed" -type f | wc -l)" ]; then
  echo "  OK: byte-identical to the reference, no temporary files left"
else
  echo "  FAIL: the killed corpus differs from the reference ($leftovers temporary files)" >&2
  exit 1
fi

train=(train --model compact --data "synth:$WORK/synth-ref" --epochs 3 --seed 3
  --set batch_clips=8 --set warmup_steps=10)
echo "train: reference run"
"$BIN" "${train[@]}" --out "$WORK/train-ref" >/dev/null
echo "train: killed run"
"$BIN" "${train[@]}" --out "$WORK/train-killed" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
kill_loop 8000 "$BIN" "${train[@]}" --out "$WORK/train-killed" --resume
# weights.bpk files differ in burn's random parameter ids, so compare what the models compute (and
# the training logs without their timings).
clip=$(find "$WORK/synth-ref/clips" -name '*.wav' | sort | sed -n 1p)
same_scores() { cmp -s <("$BIN" analyze "$clip" --model "$WORK/train-ref/model" --format csv) \
  <("$BIN" analyze "$clip" --model "$WORK/train-killed/model" --format csv); }
same_log() { cmp -s <(sed 's/"seconds":[^}]*//' "$WORK/train-ref/log.jsonl") \
  <(sed 's/"seconds":[^}]*//' "$WORK/train-killed/log.jsonl"); }
if same_scores && same_log; then
  echo "  OK: same losses and validation metrics every epoch, same scores from the exported model"
else
  echo "  FAIL: the killed run's log or exported model differs from the uninterrupted run" >&2
  exit 1
fi
echo "all good ($WORK)"
