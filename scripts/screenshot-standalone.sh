#!/usr/bin/env bash
# The README's two pictures of InstruNET listening to a song it has never heard:
#   docs/editor.png    the standalone app's editor, 25 s into the song (meters, lights, history);
#   docs/analysis.png  `instrunet analyze`'s activity plot of the same song.
# The song: Slakh's Track00001, a human-written arrangement from the Lakh MIDI set (its MIDI is
# a test fixture: training/tests/fixtures/babyslakh_16k/Track00001/all_src.mid), rendered with
# TimGM6mb, a SoundFont no model here was trained or tuned on.
# The app runs under a virtual X server (Xvfb) on JACK's dummy driver (no sound card);
# sndfile-jackplay plays the song into its input. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh

need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xwd >/dev/null || need+=(x11-apps)
[ -x /usr/bin/convert ] || need+=(imagemagick)
command -v jackd >/dev/null || need+=(jackd2)
command -v sndfile-jackplay >/dev/null || need+=(sndfile-tools)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

cargo build --release --locked -p instrunet-plugin --features standalone --bin instrunet-standalone
cargo build --release --locked -p instrunet-training --bin instrunet

work=target/screenshot
rm -rf "$work"
mkdir -p "$work/midi" docs
cp training/tests/fixtures/babyslakh_16k/Track00001/all_src.mid "$work/midi/Track00001.mid"
target/release/instrunet synth --midi-dir "$work/midi" --out "$work/song" \
    --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --sample-rate 48000 --seed 3
song="$work/song/Track00001/mix.wav"
target/release/instrunet analyze "$song" --out-dir "$work" >"$work/analysis.txt"
cp "$work/mix.wav.instrunet.png" docs/analysis.png

display=:97
export JACK_NO_AUDIO_RESERVATION=1 JACK_DEFAULT_SERVER=instrunet-screenshot
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
Xvfb "$display" -screen 0 1024x900x24 >/dev/null 2>&1 &
pids+=($!)
jackd --no-realtime -d dummy -r 48000 -p 512 >"$work/jackd.log" 2>&1 &
pids+=($!)
sleep 2
DISPLAY="$display" target/release/instrunet-standalone -b jack >"$work/standalone.log" 2>&1 &
pids+=($!)
# Wait for the app's JACK input ports.
for _ in $(seq 50); do
    ins=$(jack_lsp 2>/dev/null | grep -i 'instrunet.*in' || true)
    [ -n "$ins" ] && break
    sleep 0.2
done
[ -n "$ins" ] || { echo "the standalone app registered no JACK input (see $work/standalone.log)" >&2; exit 1; }
sndfile-jackplay "$song" >/dev/null 2>&1 &
pids+=($!)
sleep 1
players=$(jack_lsp | grep '^jackplay:out' || true)
[ -n "$players" ] || { echo "sndfile-jackplay registered no JACK output " >&2; exit 1; }
mapfile -t in_ports <<<"$ins"
mapfile -t out_ports <<<"$players"
for i in "${!in_ports[@]}"; do
    jack_connect "${out_ports[$((i % ${#out_ports[@]}))]}" "${in_ports[$i]}"
done
sleep "${WAIT_SECONDS:-25}"
DISPLAY="$display" xwd -root -silent -out "$work/screen.xwd"
/usr/bin/convert "$work/screen.xwd" -crop 760x820+0+0 +repage -colors 128 docs/editor.png
echo "wrote docs/editor.png and docs/analysis.png"
