#!/usr/bin/env bash
# The main job: compose and render a short song InstruNET has never heard (fixed seed, not one of
# the training seeds), then run the plugin's streaming engine over it with the embedded default
# model: a per-class timeline on the terminal, CSV, JSON and a PNG activity plot in target/demo/.
# The plugin bundles (target/bundled/InstruNET.clap and .vst3) come from the same build, and the
# script ends by saying where they go.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
# One cargo build for the CLI and the plugin: built apart, the crates both use would compile twice
# (cargo unifies their features only within one build).
echo "== one build: cargo xtask bundle instrunet --release --with-cli"
cargo xtask bundle instrunet --release --locked --with-cli
bin=target/release/instrunet
demo=target/demo
rm -rf "$demo"
"$bin" info
echo
# Only its first line (the song) matters here; captured whole, not piped into head, so that a
# closed pipe cannot fail the script.
song=$("$bin" synth --out "$demo" --tracks 1 --seed 2026)
echo "${song%%$'\n'*}"
echo
"$bin" analyze "$demo/Track00001/mix.wav" --out-dir "$demo"

cat <<'TEXT'

Plugin bundles: target/bundled/InstruNET.clap and target/bundled/InstruNET.vst3. For a DAW, copy them
where hosts look for plugins, then rescan in the DAW:
  Linux:   mkdir -p ~/.clap ~/.vst3 && cp -r target/bundled/InstruNET.clap ~/.clap/ && cp -r target/bundled/InstruNET.vst3 ~/.vst3/
  macOS:   ~/Library/Audio/Plug-Ins/CLAP/ and ~/Library/Audio/Plug-Ins/VST3/
  Windows: %COMMONPROGRAMFILES%\CLAP\ and %COMMONPROGRAMFILES%\VST3\
Without a DAW, the standalone app (JACK or ALSA; -b dummy needs no sound card):
  cargo run --release -p instrunet-plugin --features standalone --bin instrunet-standalone -- -b dummy
TEXT
