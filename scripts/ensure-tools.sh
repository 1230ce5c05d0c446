#!/usr/bin/env bash
# Installs what building and testing InstruNET needs where it is missing, on Debian or Ubuntu:
# a C toolchain (for linking), a General MIDI SoundFont, and a Rust toolchain new enough for the
# 2024 edition (1.85+).
# Sourced by the other scripts; safe to run repeatedly.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
# The training SoundFonts (`instrunet synth` and the renderer's tests), from their one list:
# three General MIDI sets (sampled, FM, and csound's) and two acoustic drum kits.
while IFS=$'\t' read -r _ font_path font_package _; do
  [ -f "$font_path" ] || need_apt+=("$font_package")
done < <(grep -v '^#' "$(dirname "${BASH_SOURCE[0]}")/../training/soundfonts.tsv")
# Speech for the non-music training tracks (`instrunet synth --non-music`) and their tests.
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
# The plugin's editor (baseview: X11, XCB, OpenGL) and the standalone app (ALSA, JACK).
for pkg in libx11-dev libx11-xcb-dev libxcursor-dev libxcb1-dev libxcb-icccm4-dev libxcb-dri2-0-dev \
           libgl-dev libasound2-dev libjack-jackd2-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# The font of the PNG plots (training curves, activity plots).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The Ardour session test reads its WAV and MIDI files with Python's standard library.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing missing Debian packages: ${need_apt[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_ok() {
  command -v rustc >/dev/null 2>&1 || return 1
  local v; v=$(rustc --version | awk '{print $2}')
  [ "$(printf '%s\n1.85.0\n' "$v" | sort -V | head -n1)" = "1.85.0" ]
}
if ! rust_ok; then
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain install stable --profile minimal && rustup default stable
  else
    echo "installing Rust with rustup (Debian's rustc is too old for the 2024 edition)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
