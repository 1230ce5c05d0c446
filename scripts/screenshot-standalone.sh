#!/usr/bin/env bash
# Opens the standalone app under a virtual X server (Xvfb) with the dummy audio backend and saves
# a screenshot of its window: target/standalone.png. Not part of the test command (it needs Xvfb
# and ImageMagick's `import`: apt-get install xvfb imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p instrunet-plugin --features standalone --bin instrunet-standalone
display=:97
Xvfb "$display" -screen 0 1280x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY="$display" target/release/instrunet-standalone -b dummy >/dev/null 2>&1 &
app=$!
sleep "${WAIT_SECONDS:-10}"
DISPLAY="$display" import -window root -crop 760x720+0+0 target/standalone.png
echo "wrote target/standalone.png"
