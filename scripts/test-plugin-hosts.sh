#!/usr/bin/env bash
# The plugin as hosts load it (part of scripts/test-all.sh):
#  1. bundles InstruNET.clap / .vst3 with nice-plug's allocation checks armed (profile
#     `release-checked`, feature `assert_process_allocs`: any allocation in process() aborts);
#  2. runs the CLAP host harness (tests/tests/clap_host.rs) on the .clap;
#  3. runs two real hosts' plugin scanners on the bundles: Ardour 7's `ardour-vst3-scanner` (VST3)
#     and qtractor's `qtractor_plugin_scan` (CLAP). Their Debian packages are downloaded and
#     unpacked into target/host-scanners, not installed: only the scanners and the few libraries
#     they link are used, no GUI;
#  4. puts the VST3 in a headless Ardour session (scripts/test-ardour-session.sh): the export
#     equals the song, and the plugin's notes arrive on a MIDI track.
# The test bundles end up in target/release-checked/bundled; target/bundled (what users copy) is
# left as it was.
set -euo pipefail
cd "$(dirname "$0")/.."

test_bundles=target/release-checked/bundled
kept=target/bundled.kept-by-tests
rm -rf "$kept"
[ -d target/bundled ] && mv target/bundled "$kept"
restore() {
    if [ -d target/bundled ]; then
        rm -rf "$test_bundles"
        mkdir -p "$(dirname "$test_bundles")"
        mv target/bundled "$test_bundles"
    fi
    [ -d "$kept" ] && mv "$kept" target/bundled
    return 0
}
trap restore EXIT
# --with-cli: the plugin and the `instrunet` CLI in one `cargo build`, whose features then equal the
# test build's (test-all.sh) but for the allocation checks: only nice-plug and the plugin compile
# again, and the CLI the Ardour session test runs is already there.
cargo xtask bundle instrunet --with-cli --profile release-checked \
    --features instrunet-plugin/assert_process_allocs --locked
restore
trap - EXIT

echo "== CLAP host harness on $test_bundles/InstruNET.clap"
# The same package selection as test-all.sh's build, so nothing is compiled again.
INSTRUNET_CLAP="$PWD/$test_bundles/InstruNET.clap" \
    cargo test --workspace --exclude xtask --profile release-checked --locked --test clap_host -- --ignored --test-threads=1

# --- Real hosts' scanners -------------------------------------------------------------------
root=target/host-scanners
ardour_scanner=$root/usr/lib/ardour7/ardour-vst3-scanner
qtractor_scanner=$root/usr/lib/x86_64-linux-gnu/qtractor/qtractor_plugin_scan
libs=$root/usr/lib/ardour7:$root/usr/lib/x86_64-linux-gnu

source scripts/unpack-debs.sh

if [ ! -x "$ardour_scanner" ] || [ ! -x "$qtractor_scanner" ]; then
    echo "== fetching the ardour and qtractor packages for their scanners"
    pkgs=(ardour qtractor "libglibmm-2.4-1v5|libglibmm-2.4-1t64" "libsigc++-2.0-0v5|libsigc++-2.0-0t64"
        "libqt6core6|libqt6core6t64" "libdouble-conversion3" "libb2-1" "libpcre2-16-0"
        "libarchive13|libarchive13t64")
    unpack_debs "$root" "$root/debs" "${pkgs[@]}"
fi
for bin in "$ardour_scanner" "$qtractor_scanner"; do
    missing=$(LD_LIBRARY_PATH=$libs ldd "$bin" | grep "not found" || true)
    if [ -n "$missing" ]; then
        echo "$bin lacks libraries:" >&2
        echo "$missing" >&2
        exit 1
    fi
done

fail() { echo "FAIL: $*" >&2; exit 1; }

# 11 parameters (bypass among them) plus a MIDI note and a MIDI CC per class for up to 16 classes (plugin/src/params.rs).
expected_params=43

echo "== Ardour 7 VST3 scanner on $test_bundles/InstruNET.vst3"
ardour_out=$(XDG_CACHE_HOME="$PWD/$root/cache" LD_LIBRARY_PATH=$libs \
    timeout 120 "$ardour_scanner" -f -v "$PWD/$test_bundles/InstruNET.vst3" 2>&1) ||
    { echo "$ardour_out"; fail "ardour-vst3-scanner exited with an error"; }
echo "$ardour_out"
info=$(echo "$ardour_out" | grep '<VST3Info ' || true)
[ -n "$info" ] || fail "Ardour's scanner found no plugin"
for want in 'name="InstruNET"' 'n_inputs="2"' 'n_outputs="2"' 'n_midi_outputs="1"' 'category="Fx|Analyzer"'; do
    [[ "$info" == *"$want"* ]] || fail "Ardour's scanner: expected $want in: $info"
done

echo "== qtractor CLAP scanner on $test_bundles/InstruNET.clap"
qtractor_out=$(echo "CLAP:$PWD/$test_bundles/InstruNET.clap" |
    QT_QPA_PLATFORM=offscreen LD_LIBRARY_PATH=$libs timeout 120 "$qtractor_scanner" 2>&1) ||
    { echo "$qtractor_out"; fail "qtractor_plugin_scan exited with an error"; }
echo "$qtractor_out"
# CLAP|name|audio ins:outs|midi ins:outs|params ins:outs|flags|path|index|id
IFS='|' read -r kind name audio midi params flags _ <<<"$(echo "$qtractor_out" | grep '^CLAP|' | head -1)"
[ "$kind" = CLAP ] && [ "$name" = InstruNET ] || fail "qtractor's scanner found no InstruNET: $qtractor_out"
[ "$audio" = "2:2" ] || fail "qtractor: audio ports $audio, expected 2:2"
[ "$midi" = "0:1" ] || fail "qtractor: MIDI ports $midi, expected 0:1"
[ "$params" = "$expected_params:0" ] || fail "qtractor: parameters $params, expected $expected_params:0"
[[ ",$flags," == *",GUI,"* ]] || fail "qtractor: no GUI flag in $flags"
echo "host scanners: InstruNET found by Ardour (VST3) and qtractor (CLAP) with its ports, $expected_params parameters and its GUI"

# --- A real DAW session ----------------------------------------------------------------------
# The allocation-checked VST3 in Ardour 7's engine, headless: export equals the input, the
# plugin's notes recorded on a MIDI track (scripts/test-ardour-session.sh).
# The CLI that renders the song: built with the bundles above (--with-cli).
INSTRUNET_CLI=target/release-checked/instrunet bash scripts/test-ardour-session.sh "$test_bundles/InstruNET.vst3"
