#!/usr/bin/env bash
# The main job until the plugin exists: load the embedded default model, print per-class
# probabilities for a generated test mix, then run the benchmarks (front end and inference).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
cargo run --release --locked -p instrunet-model --example demo
cargo bench --locked -p instrunet-model --bench instrunet -- --warm-up-time 1 --measurement-time 3
