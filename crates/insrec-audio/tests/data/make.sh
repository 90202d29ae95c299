#!/usr/bin/env bash
# Regenerates the tiny audio files used by the decoding tests (needs Debian's ffmpeg).
# Source: 1.5 s of 44.1 kHz stereo, 440 Hz on the left and 660 Hz on the right, amplitude 0.5.
set -euo pipefail
cd "$(dirname "$0")"
src="-f lavfi -i aevalsrc=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*660*t):s=44100:d=1.5"
ff() { ffmpeg -hide_banner -loglevel error -y $src "$@"; }
ff -c:a libmp3lame -b:a 64k tone.mp3
ff -c:a libvorbis -q:a 0 tone.ogg
ff -c:a aac -b:a 64k tone.m4a
# Lossless formats: 0.4 s at 22.05 kHz keeps the files small.
short=(-af "aresample=22050,atrim=duration=0.4")
ff "${short[@]}" -c:a flac tone.flac
ff "${short[@]}" -c:a alac tone_alac.m4a
ff "${short[@]}" -c:a pcm_s16be tone.aiff
ff -c:a libopus -b:a 32k tone.opus
ff -c:a libopus -b:a 32k tone.webm
# A container holding only video: no audio track.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=32x32:rate=5:duration=0.4 -c:v ffv1 video_only.mkv
