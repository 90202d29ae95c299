#!/usr/bin/env bash
# Front-end benchmark: decode + resample + log-mel of a 3-minute 44.1 kHz stereo MP3 (criterion),
# plus the whole `insrec features` process and its peak memory on 3-minute and 1-hour files.
# Needs Debian's ffmpeg (to make the test files) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${INSREC_BENCH_DIR:-/tmp/insrec-bench}"
mkdir -p "$work"
music="aevalsrc=0.3*sin(2*PI*(220+20*sin(t))*t)+0.2*sin(2*PI*330*t)*sin(3*t)+0.05*random(0)|0.3*sin(2*PI*440*t)+0.1*random(1):s=44100"
[ -f "$work/song3min.mp3" ] || ffmpeg -hide_banner -loglevel error -f lavfi -i "$music:d=180" -c:a libmp3lame -b:a 192k "$work/song3min.mp3"
[ -f "$work/song1h.mp3" ] || ffmpeg -hide_banner -loglevel error -f lavfi -i "$music:d=3600" -c:a libmp3lame -b:a 128k "$work/song1h.mp3"
export INSREC_BENCH_MP3="$work/song3min.mp3"
cargo bench -p insrec-features --bench frontend
cargo build --release -p insrec
for f in song3min song1h; do
  /usr/bin/time -f "$f: %e s wall, %M KB peak RSS" "${CARGO_TARGET_DIR:-target}/release/insrec" features "$work/$f.mp3" 2>&1 | tail -2
done
