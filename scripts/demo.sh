#!/usr/bin/env bash
# The main job: compose and render a short song InstruNET has never heard (fixed seed, not one of
# the training seeds), then run the plugin's streaming engine over it with the embedded default
# model: a per-class timeline on the terminal, CSV, JSON and a PNG activity plot in target/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
cargo build --release --locked -p instrunet-training
bin=target/release/instrunet
demo=target/demo
rm -rf "$demo"
"$bin" info
echo
"$bin" synth --out "$demo" --tracks 1 --seed 2026 | head -n 1
echo
"$bin" analyze "$demo/Track00001/mix.wav" --out-dir "$demo"
