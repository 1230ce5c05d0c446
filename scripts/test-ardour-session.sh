#!/usr/bin/env bash
# InstruNET inside a real DAW engine, headless: Ardour 7's libardour driven by its Lua interpreter
# (`luasession`), on Ardour's "None (Dummy)" audio backend (no sound card, no JACK, no GUI).
#
#   bash scripts/test-ardour-session.sh [path/to/InstruNET.vst3]   (default target/bundled/InstruNET.vst3)
#
#  1. renders a composed song with `target/release/instrunet synth` at 48 kHz (Slakh-format folder:
#     mix.wav, stems, metadata.yaml saying which classes play);
#  2. makes an Ardour session at the song's rate: a stereo audio track "Song" with InstruNET (VST3) as
#     its first plugin and a MIDI track "Notes" whose input is the Song track's MIDI output (the
#     plugin's notes); puts the song on the Song track (see "Import" below);
#  3. exports the session (master bus, 32-bit float WAV at the session rate, no dither, no
#     normalisation) with Ardour's own exporter, which runs the engine in freewheel; checks that the
#     export holds the song's samples exactly;
#  4. records the plugin's MIDI output on the Notes track while the transport plays the song, in
#     real time by default (RECORD_SPEED="10x Speed" makes the dummy backend run its cycles 10x
#     faster: the run takes 35 s less, but the plugin's analysis thread then has to keep up at 10x,
#     and on a busy machine it drops blocks, so the notes vary a little from run to run), and
#     checks the recorded notes (Ardour's own .mid file): note-ons and offs on channel 1, keys 36-49
#     (class k -> 36 + k), a note for every class that plays in the song (metadata.yaml), and that
#     the classes with notes agree with what `instrunet analyze --smooth 0` (the plugin's engine,
#     run offline) finds in the same file.
#
# Import: Ardour 7.3's Lua API imports audio files only through the GUI's editor
# (`Editor:do_import`, absent in luasession; libardour's import functions are not bound), so the
# script writes what an import leaves in a session: the song as a stereo WAV in
# interchange/<session>/audiofiles, two <Source>s (channels 0 and 1 of that file) and a whole-file
# <Region> on the Song track's playlist, into the saved session file, then loads the session
# again. Everything else is done through Ardour's Lua API.
# The region's fades are off: Ardour fades every region in and out over 64 samples by default,
# which would change the song's first and last 64 samples (and nothing else).
#
# Ardour comes from Debian's `ardour` package unpacked (not installed) into target/host-scanners,
# as scripts/test-plugin-hosts.sh does; this script downloads it there itself when missing, plus
# the libraries libardour links that the scanners did not need (and `ardour-data`). Needs
# apt-get (for the download), python3 (standard library only) and the built CLI target/release/instrunet.
# Everything it writes goes under target/ardour-session (caches and Ardour's config included).
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=${1:-target/bundled/InstruNET.vst3}
record_speed=${RECORD_SPEED:-Normal Speed}
seed=${SONG_SEED:-45}
cli=${INSTRUNET_CLI:-target/release/instrunet}
root=$PWD/target/host-scanners
work=$PWD/target/ardour-session
session_name=instrunet
session=$work/$session_name # Ardour names interchange/<folder> after the folder

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[ -d "$bundle" ] || fail "no VST3 bundle at $bundle (build it: cargo xtask bundle instrunet --release)"
[ -x "$cli" ] || fail "no $cli (build it: cargo build --release -p instrunet-training)"
command -v python3 >/dev/null || fail "python3 is needed"
started=$(date +%s)

# --- Ardour, unpacked ------------------------------------------------------------------------
luasession=$root/usr/lib/ardour7/luasession
scanner=$root/usr/lib/ardour7/ardour-vst3-scanner
libs=$root/usr/lib/ardour7:$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/pulseaudio

source scripts/unpack-debs.sh
missing_libs() {
    local f
    for f in "$luasession" "$root"/usr/lib/ardour7/backends/libdummy_audiobackend.so \
        "$root"/usr/lib/ardour7/panners/*.so; do
        LD_LIBRARY_PATH=$libs ldd "$f" 2>/dev/null | grep "not found" || true
    done | sort -u
}
if [ ! -x "$luasession" ] || [ ! -d "$root/usr/share/ardour7" ] || [ -n "$(missing_libs)" ]; then
    step "fetching Ardour 7 and the libraries libardour links into $root (unpacked, not installed)"
    pkgs=(ardour ardour-data "libglibmm-2.4-1v5|libglibmm-2.4-1t64" "libsigc++-2.0-0v5|libsigc++-2.0-0t64"
        "libarchive13|libarchive13t64" liblo7 liblrdf0 libraptor2-0 libfftw3-single3
        libtag1v5-vanilla libtag1v5 libvamp-hostsdk3v5 librubberband2
        libltc11 libfluidsynth3 libinstpatch-1.0-2 "libsdl2-2.0-0" libdecor-0-0 libwayland-cursor0
        libwayland-egl1 liblilv-0-0 libsuil-0-0 libserd-0-0 libsord-0-0 libsratom-0-0 libyajl2
        libpulse0 libasyncns0)
    unpack_debs "$root" "$root/debs-session" "${pkgs[@]}"
    missing=$(missing_libs)
    [ -z "$missing" ] || fail "libardour still lacks libraries: $missing"
fi

# Ardour's environment: its data and config trees from the unpacked package, the user's config,
# cache and home under target/ (nothing from ~ is read or written), plugins only from here.
rm -rf "$work/config" "$work/home" "$work/cache" "$work/vst3" "$session" "$work/export" "$work"/*.lua "$work"/*.log "$work"/*.txt "$work/session-before-export"
mkdir -p "$work/config" "$work/home" "$work/cache" "$work/vst3" "$work/lv2" "$work/export-formats" "$work/export"
cp -r "$bundle" "$work/vst3/InstruNET.vst3" # a folder of its own: VST3_PATH is scanned as a folder
export LD_LIBRARY_PATH=$libs
export ARDOUR_DATA_PATH=$root/usr/share/ardour7 ARDOUR_CONFIG_PATH=$root/etc/ardour7
export ARDOUR_DLL_PATH=$root/usr/lib/ardour7 VAMP_PATH=$root/usr/lib/ardour7/vamp
export ARDOUR_EXPORT_FORMATS_PATH=$work/export-formats
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache HOME=$work/home
export VST3_PATH=$work/vst3 LV2_PATH=$work/lv2 LADSPA_PATH=$work/lv2

running="" lua_rc=0
cleanup() { # the Ardour process this script started, if a signal or a failure left it running
    if [ -n "$running" ] && kill -0 "$running" 2>/dev/null; then
        kill "$running" 2>/dev/null || true
        sleep 1
        kill -9 "$running" 2>/dev/null || true
    fi
}
trap cleanup EXIT
# run_lua SCRIPT LOG ARGS...: luasession on SCRIPT; its lines that start with "| " are the script's
# report and are echoed; a line "CHECK-FAILED: ..." fails the test. Returns 0 when the script
# printed its final "LUA-DONE" and exited 0, 2 when Ardour died of a signal (a crash), else fails.
run_lua() {
    local script=$1 log=$2 rc=0
    shift 2
    timeout -k 10 180 "$luasession" "$script" "$@" >"$log" 2>&1 &
    running=$!
    { wait "$running"; } 2>/dev/null || rc=$? # (no "Aborted" job notice from bash on a crash)
    running=""
    lua_rc=$rc
    grep '^| ' "$log" | sed 's/^| /   /' || true
    if grep -q '^CHECK-FAILED' "$log"; then
        fail "$(grep '^CHECK-FAILED' "$log" | head -1 | sed 's/^CHECK-FAILED: //') (log: $log)"
    fi
    if [ "$rc" -eq 0 ] && grep -q '^LUA-DONE' "$log"; then
        return 0
    fi
    if [ "$rc" -gt 128 ] && [ "$rc" -ne 137 ]; then # a signal (137: our timeout's kill)
        return 2
    fi
    tail -20 "$log" >&2
    fail "$(basename "$script") did not finish (exit status $rc; log: $log)"
}

# --- 1. the song ------------------------------------------------------------------------------
step "rendering a song (seed $seed) at 48 kHz with $cli synth"
rm -rf "$work/song" "$work/analysis"
"$cli" synth --out "$work/song" --tracks 1 --seed "$seed" --sample-rate 48000 >"$work/synth.txt" 2>&1 ||
    { cat "$work/synth.txt"; fail "instrunet synth failed"; }
head -1 "$work/synth.txt" | sed 's/^/   /'
song=$work/song/Track00001
[ -f "$song/mix.wav" ] || fail "synth wrote no $song/mix.wav"
"$cli" analyze --smooth 0 --out-dir "$work/analysis" "$song/mix.wav" >"$work/analyze.txt" 2>&1 ||
    { cat "$work/analyze.txt"; fail "instrunet analyze failed"; }
# Where the engine's windows fall decides near-threshold detections: a class just over its
# threshold can be found for 1.5 s at one window phase and not at all 10 ms later (measured on
# seed 45's song with people's roles), and the plugin's phase in Ardour is the host's cycles'.
# So the song is analysed offline at three phases: delayed by 0, 10 and 20 ms.
python3 - "$song/mix.wav" "$work/analysis" <<'EOF'
import sys, wave
src, out = sys.argv[1:]
w = wave.open(src)
params, frames = w.getparams(), w.readframes(w.getnframes())
for ms in (10, 20):
    pad = b"\0" * (params.framerate * ms // 1000 * params.sampwidth * params.nchannels)
    with wave.open(f"{out}/delayed-{ms}ms.wav", "wb") as d:
        d.setparams(params)
        d.writeframes(pad + frames)
EOF
for ms in 10 20; do
    "$cli" analyze --smooth 0 --out-dir "$work/analysis" "$work/analysis/delayed-${ms}ms.wav" >>"$work/analyze.txt" 2>&1 ||
        { cat "$work/analyze.txt"; fail "instrunet analyze failed on the song delayed by $ms ms"; }
done
read -r rate frames < <(python3 -c '
import sys, wave
w = wave.open(sys.argv[1])
assert w.getsampwidth() == 2, "mix.wav is not 16-bit"
print(w.getframerate(), w.getnframes())' "$song/mix.wav")
[ -n "${frames:-}" ] || fail "cannot read $song/mix.wav"
echo "   mix.wav: $frames frames at $rate Hz ($(python3 -c "print(round($frames / $rate, 1))") s)"

# --- 2. Ardour finds the plugin ---------------------------------------------------------------
# Without a GUI, libardour only reads its plugin cache (ARDOUR::init_post_engine refreshes with
# cache_only); the cache is made by Ardour's own scanner, as the GUI would run it.
step "Ardour's VST3 scanner on $bundle (cache in $work/cache)"
scan_out=$(timeout 120 "$scanner" -f "$work/vst3/InstruNET.vst3" 2>&1) ||
    { echo "$scan_out"; fail "ardour-vst3-scanner failed"; }
ls "$work"/cache/ardour7/vst/*.v3i >/dev/null 2>&1 || fail "the scanner wrote no cache file"

# Export format: float WAV at the session rate, no dither, no normalisation, no trimming.
cat >"$work/export-formats/instrunet-test.format" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<ExportFormatSpecification name="InstruNET test float WAV" id="3c0f4a8e-8d0b-4a34-9a55-1f5a0c2d7e11" with-cue="false" with-toc="false" with-mp4chaps="false" command="" analyse="false" soundcloud-upload="false">
  <Encoding id="F_WAV" type="T_Sndfile" extension="wav" name="WAV" has-sample-format="true" channel-limit="256"/>
  <SampleRate rate="1"/>
  <SRCQuality quality="SRC_SincBest"/>
  <EncodingOptions>
    <Option name="sample-format" value="SF_Float"/>
    <Option name="dithering" value="D_None"/>
    <Option name="tag-metadata" value="false"/>
    <Option name="tag-support" value="false"/>
    <Option name="broadcast-info" value="false"/>
  </EncodingOptions>
  <Processing>
    <Normalize enabled="false" loudness="no" dbfs="0" lufs="-23" dbtp="-1"/>
    <Silence>
      <Start><Trim enabled="false"/><Add enabled="false"><Duration format="Timecode" hours="0" minutes="0" seconds="0" frames="0"/></Add></Start>
      <End><Trim enabled="false"/><Add enabled="false"><Duration format="Timecode" hours="0" minutes="0" seconds="0" frames="0"/></Add></End>
    </Silence>
  </Processing>
</ExportFormatSpecification>
EOF
cat >"$work/export-formats/instrunet-test.preset" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<ExportPreset id="5d1e9b47-2f6c-4c1e-8b0e-6a7f3d9c4b21" name="InstruNET test">
  <ExportFormat id="3c0f4a8e-8d0b-4a34-9a55-1f5a0c2d7e11"/>
  <ExportFilename>
    <Folder relative="1" path="export"/>
    <Field name="label" enabled="0"/>
    <Field name="session" enabled="0"/>
    <Field name="snapshot" enabled="0"/>
    <Field name="timespan" enabled="1"/>
    <Field name="revision" enabled="0"/>
    <Field name="time" enabled="0" value="T_None"/>
    <Field name="date" enabled="0" value="D_None"/>
  </ExportFilename>
</ExportPreset>
EOF

# Shared Lua helpers: report lines start with "| ", failed checks with "CHECK-FAILED: ".
lua_common='
local function say(...) print("| " .. string.format(...)) end
local function check(ok, ...)
  if not ok then print("CHECK-FAILED: " .. string.format(...)); error("check failed", 0) end
end
local function wait_for(what, seconds, cond)
  local t = 0
  while not cond() do
    check(t < seconds, "timed out after %d s waiting for %s", seconds, what)
    sleep(0.05); t = t + 0.05
  end
end
local TRS = ARDOUR.TransportRequestSource.TRS_UI
'

# --- 3. the session ---------------------------------------------------------------------------
cat >"$work/create.lua" <<EOF
$lua_common
local dir, name, rate = arg[1], arg[2], tonumber(arg[3])
check(AudioEngine:set_backend("None (Dummy)", "", "") ~= nil, "no dummy backend")
check(create_session(dir, name, rate) ~= nil, "cannot create the session %s", dir)
check(Session:nominal_sample_rate() == rate, "session rate %d, wanted %d", Session:nominal_sample_rate(), rate)
say("session %s at %d Hz on the %s backend, %d-sample cycles", Session:name(), rate,
    AudioEngine:current_backend_name(), Session:get_block_size())

local song = Session:new_audio_track(2, 2, nil, 1, "Song", ARDOUR.PresentationInfo.max_order,
  ARDOUR.TrackMode.Normal, false):front()
check(song ~= nil, "cannot make the audio track")
-- Off: with strict I/O the track's outputs follow its (audio) inputs and the plugin's MIDI
-- output would end at the track; off, Ardour gives the track a MIDI output port.
song:set_strict_io(false)
local proc = ARDOUR.LuaAPI.new_plugin(Session, "InstruNET", ARDOUR.PluginType.VST3, "")
check(not proc:isnil(), "Ardour cannot instantiate the VST3 plugin InstruNET (not in its plugin cache?)")
check(song:add_processor_by_index(proc, 0, nil, true) == 0, "cannot add InstruNET to the track")
local pi = proc:to_insert()
local plugin = pi:plugin(0)
local midi_out_param, cc_switch, n_inputs = nil, false, 0
for i = 0, plugin:parameter_count() - 1 do
  if plugin:parameter_is_input(i) then
    n_inputs = n_inputs + 1
    if plugin:parameter_label(i) == "MIDI out" then midi_out_param = i end
    if plugin:parameter_label(i) == "CC out" then cc_switch = true end
  end
end
check(midi_out_param ~= nil, "InstruNET has no 'MIDI out' parameter in Ardour")
local v = ARDOUR.LuaAPI.get_processor_param(proc, midi_out_param, true)
say("plugin %s (VST3) on track Song: %d input parameters, 'MIDI out' = %s, I/O %d audio + %d MIDI in, %d audio + %d MIDI out",
  plugin:name(), n_inputs, tostring(v), pi:input_streams():n_audio(), pi:input_streams():n_midi(),
  pi:output_streams():n_audio(), pi:output_streams():n_midi())
check(v == 1, "'MIDI out' is off by default")
-- Ardour's VST3 host hides every parameter whose name contains "MIDI CC " (a work-around for
-- JUCE plugins): the switch is named "CC out" so that it shows.
check(cc_switch, "no 'CC out' parameter in Ardour (hidden by its 'MIDI CC ' name filter?)")
check(n_inputs == 43, string.format("Ardour shows %d of InstruNET's 43 parameters", n_inputs))
check(pi:output_streams():n_midi() == 1, "the plugin's MIDI output is not routed in the track")
check(song:output():n_ports():n_midi() == 1, "the Song track has no MIDI output port")

local notes = Session:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1),
  ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1), true, ARDOUR.PluginInfo(), nil, nil, 1, "Notes",
  ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, false):front()
check(notes ~= nil, "cannot make the MIDI track")
notes:input():disconnect_all(nil)
local midi_src = song:output():midi(0):name()
check(notes:input():connect(notes:input():midi(0), midi_src, nil) == 0, "cannot connect %s to Notes", midi_src)
check(notes:input():midi(0):connected_to(midi_src), "Notes input not connected to %s", midi_src)
for c = 0, 1 do
  local out, mi = song:output():audio(c), Session:master_out():input():audio(c)
  check(out:connected_to(mi:name()), "%s is not connected to %s", out:name(), mi:name())
end
say("track Notes records %s; Song's audio goes to the master bus", midi_src)
Session:save_state("", false, false, false, false, false)
close_session()
print("LUA-DONE")
EOF

step "making the Ardour session ($session)"
run_lua "$work/create.lua" "$work/create.log" "$session" "$session_name" "$rate"

step "putting the song on the Song track (the session file gets what an import writes)"
python3 - "$session/$session_name.ardour" "$session/interchange/$session_name/audiofiles" "$song/mix.wav" <<'EOF'
import shutil, sys, wave, xml.etree.ElementTree as ET
state, audiofiles, mix = sys.argv[1:]
# The song as a stereo 16-bit WAV (both channels the mono mix), as an import with "copy files"
# would leave it (Ardour would convert to its native float format; reading 16-bit is exact).
src = wave.open(mix)
rate, frames, pcm = src.getframerate(), src.getnframes(), src.readframes(src.getnframes())
stereo = bytearray(len(pcm) * 2)
for i in range(0, len(pcm), 2):
    stereo[2 * i:2 * i + 2] = stereo[2 * i + 2:2 * i + 4] = pcm[i:i + 2]
with wave.open(f"{audiofiles}/song.wav", "wb") as out:
    out.setnchannels(2); out.setsampwidth(2); out.setframerate(rate); out.writeframes(bytes(stereo))

tree = ET.parse(state)
sess = tree.getroot()
next_id = int(sess.get("id-counter"))
def new_id():
    global next_id
    next_id += 1
    return str(next_id)
# Ardour 7 positions: "a" + superclock ticks (282240000 per second).
length = f"a{frames * (282240000 // rate)}@a0"
src_ids = []
for ch in (0, 1):
    sid = new_id(); src_ids.append(sid)
    ET.SubElement(sess.find("Sources"), "Source", {"name": "song.wav", "type": "audio", "flags": "",
        "id": sid, "natural-position": "a0", "captured-for": "", "channel": str(ch), "origin": "", "gain": "1"})
def region(name, whole):
    r = {"name": name, "muted": "0", "opaque": "1", "locked": "0", "video-locked": "0",
         "automatic": "1" if whole else "0", "whole-file": "1" if whole else "0", "import": "1",
         "external": "0", "sync-marked": "0", "left-of-split": "0", "right-of-split": "0", "hidden": "0",
         "position-locked": "0", "valid-transients": "0", "start": "a0", "length": length,
         "sync-position": "a0", "ancestral-start": "a0", "ancestral-length": "a0@a0", "stretch": "1",
         "shift": "1", "layering-index": "0", "tags": "", "contents": "0", "envelope-active": "0",
         "default-fade-in": "0", "default-fade-out": "0", "fade-in-active": "0", "fade-out-active": "0",
         "scale-amplitude": "1", "id": new_id(), "type": "audio", "first-edit": "nothing", "channels": "2"}
    for ch, sid in enumerate(src_ids):
        r[f"source-{ch}"] = r[f"master-source-{ch}"] = sid
    return r
ET.SubElement(sess.find("Regions"), "Region", region("song", True))
route = next(r for r in sess.iter("Route") if r.get("name") == "Song")
playlist = next(p for p in sess.find("Playlists") if p.get("id") == route.get("audio-playlist"))
ET.SubElement(playlist, "Region", region("song.1", False))
sess.set("id-counter", str(next_id + 1))
shutil.copy(state, state + ".before-import")
tree.write(state, encoding="UTF-8", xml_declaration=True)
print(f"   song.wav ({frames} frames, 2 channels) on playlist {playlist.get('name')}")
EOF

# --- 4. export, then MIDI capture: one Ardour process each --------------------------------------
cat >"$work/load.lua" <<EOF
$lua_common
local dir, name, frames, export_dir, speed = arg[1], arg[2], tonumber(arg[3]), arg[4], arg[5]
local be = AudioEngine:set_backend("None (Dummy)", "", "")
check(be ~= nil, "no dummy backend")
check(be:set_driver(speed) == 0, "the dummy backend has no speed '%s'", speed)
check(load_session(dir, name) ~= nil, "cannot load the session %s", dir)

local song = Session:route_by_name("Song"):to_track()
local notes = Session:route_by_name("Notes"):to_track()
check(not song:isnil() and not notes:isnil(), "the session lost its tracks")
local pl = song:playlist()
check(pl:n_regions() == 1, "the Song track has %d regions, wanted 1", pl:n_regions())
local r = nil
for x in pl:region_list():iter() do r = x end
check(r:length():samples() == frames and r:position():samples() == 0,
  "the song's region is %d samples at %d, wanted %d at 0", r:length():samples(), r:position():samples(), frames)
local ar = r:to_audioregion()
check(not ar:isnil() and ar:n_channels() == 2, "the song's region is not a 2-channel audio region")
local proc = song:nth_plugin(0)
check(not proc:isnil() and proc:name() == "InstruNET", "InstruNET is not on the Song track after reloading")
check(proc:active(), "InstruNET is inactive after reloading")
say("reloaded: Song has region '%s' (%d samples, %d channels); InstruNET active, latency %d samples",
  r:name(), r:length():samples(), ar:n_channels(), proc:signal_latency())

EOF
{ cat "$work/load.lua"; cat <<'EOF'
-- Export: the master bus, [0, frames), with Ardour's exporter (freewheel, no sound card).
local e = Session:simple_export()
check(e:set_preset("5d1e9b47-2f6c-4c1e-8b0e-6a7f3d9c4b21"), "Ardour did not find the export preset")
e:set_folder(export_dir)
e:set_name("export")
e:set_range(0, frames)
check(e:check_outputs(), "nothing to export: no master bus output")
check(e:run_export(), "Ardour's export failed")
say("exported the master bus to %s/export.wav", export_dir)

close_session()
print("LUA-DONE")
EOF
} >"$work/export.lua"
{ cat "$work/load.lua"; cat <<'EOF'
-- MIDI capture: the Notes track records InstruNET's notes while the song plays.
Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, TRS)
wait_for("the locate to 0", 20, function() return Session:transport_sample() == 0 and not Session:transport_rolling() end)
notes:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
wait_for("the Notes track to be armed", 10, function() return notes:rec_enable_control():get_value() == 1 end)
Session:maybe_enable_record(false)
Session:reset_xrun_count()
Session:request_roll(TRS)
wait_for("recording to start", 20, function() return Session:actively_recording() end)
local tail = math.floor(Session:nominal_sample_rate()) -- a second more: the last notes' offs
wait_for("the song to play", 600, function() return Session:transport_sample() >= frames + tail end)
Session:request_stop(false, false, TRS)
wait_for("the transport to stop", 30, function() return not Session:transport_rolling() end)
Session:disable_record(false, false)
local npl = notes:playlist()
check(npl:n_regions() >= 1, "nothing was recorded on the Notes track")
local mr = nil
for x in npl:region_list():iter() do mr = x:to_midiregion() end
local n_notes = 0
for _ in ARDOUR.LuaAPI.note_list(mr:model()):iter() do n_notes = n_notes + 1 end
say("recorded %d samples at '%s' (%d xruns): Notes region '%s' holds %d notes",
  Session:transport_sample(), speed, Session:get_xrun_count(), mr:name(), n_notes)
Session:save_state("", false, false, false, false, false)
close_session()
print("LUA-DONE")
EOF
} >"$work/record.lua"

# Ardour 7.3's exporter driven from luasession sometimes corrupts the heap and dies (SIGABRT
# "double free or corruption" or SIGSEGV, in ExportHandler::finish_timespan on the engine thread
# or later while freeing the export's objects): here in about 1 export in 5, and in 1 in 10 with no
# plugin in the session at all. Such a crash is retried from the session as it was, at most 5
# attempts in all, and reported.
step "exporting the session with Ardour's exporter (master bus, float WAV, freewheel)"
cp -a "$session" "$work/session-before-export"
attempt=1
while :; do
    status=0
    run_lua "$work/export.lua" "$work/export.log" "$session" "$session_name" "$frames" "$work/export" "$record_speed" || status=$?
    [ "$status" -eq 0 ] && break
    cp "$work/export.log" "$work/export-crash-$attempt.log"
    # Only that crash is retried: glibc's heap-corruption abort, or a segfault. Anything else (a
    # panic or an allocation check of the plugin aborting, say) fails at once.
    crash=$(grep -a -E -m1 'double free|corrupted|free\(\)|malloc\(\)|malloc_consolidate' "$work/export.log" || true)
    if [ -z "$crash" ] && [ "$lua_rc" -ne 139 ]; then
        tail -20 "$work/export.log" >&2
        fail "Ardour died during the export (exit status $lua_rc; log: $work/export-crash-$attempt.log)"
    fi
    echo "   Ardour crashed during export attempt $attempt (${crash:-segmentation fault}; log: $work/export-crash-$attempt.log)"
    [ "$attempt" -lt 5 ] || fail "Ardour crashed in all $attempt export attempts"
    attempt=$((attempt + 1))
    rm -rf "$session" "$work/export"
    cp -a "$work/session-before-export" "$session"
done
rm -rf "$work/session-before-export"

step "recording InstruNET's MIDI output on the Notes track ($record_speed)"
run_lua "$work/record.lua" "$work/record.log" "$session" "$session_name" "$frames" "$work/export" "$record_speed" ||
    fail "Ardour crashed while recording (log: $work/record.log)"

# --- 5. checks --------------------------------------------------------------------------------
step "checking the export against the song"
python3 - "$work/export/export.wav" "$song/mix.wav" <<'EOF'
import array, struct, sys, wave
exported, mix = sys.argv[1:]
def read_float_wav(path):  # RIFF/WAVE, IEEE float (format 3, or extensible with a float subformat)
    data = open(path, "rb").read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        sys.exit(f"FAIL: {path} is not a WAV file")
    pos, fmt, samples = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            samples = array.array("f", body)
        pos += 8 + size + (size & 1)
    if fmt is None or samples is None or fmt[0] != 3 or fmt[3] != 32:
        sys.exit(f"FAIL: {path} is not 32-bit float PCM: {fmt}")
    return fmt[1], fmt[2], samples
channels, rate, out = read_float_wav(exported)
w = wave.open(mix)
ref = array.array("h", w.readframes(w.getnframes()))
frames = len(out) // channels
print(f"   export.wav: {channels} channels, {rate} Hz, {frames} frames; mix.wav: 1 channel, {w.getframerate()} Hz, {len(ref)} frames")
if channels != 2 or rate != w.getframerate():
    sys.exit(f"FAIL: the export is {channels} channels at {rate} Hz, wanted 2 at {w.getframerate()}")
if frames != len(ref):
    sys.exit(f"FAIL: the export has {frames} frames, the song {len(ref)}")
# 16-bit samples are exact in float (x / 32768), the plugin passes audio through untouched, and the
# rest of the path is unity (fader and master at 0 dB, the stereo panner at its default: L to L,
# R to R with gain 1): so the tolerance is zero, every sample must be bit-identical.
worst, where, ch_of = 0.0, 0, 0
for c in range(2):
    chan = out[c::2]
    for i, (a, b) in enumerate(zip(chan, ref)):
        d = abs(a - b / 32768.0)
        if d > worst:
            worst, where, ch_of = d, i, c
if worst > 0.0:
    # Say whether it is a shift (latency) or a change of the samples.
    chan = out[0::2]
    first_ref = next((i for i, x in enumerate(ref) if x), 0)
    first_out = next((i for i, x in enumerate(chan) if x), 0)
    sys.exit(f"FAIL: the export differs from the song: max |difference| {worst:.3g} at frame {where} "
             f"(channel {ch_of}); first non-zero sample at {first_out} in the export, {first_ref} in the song")
peak = max(abs(x) for x in ref) / 32768.0
print(f"   both channels equal the song sample for sample ({frames} frames, max |difference| 0, song peak {peak:.3f})")
EOF

step "checking the notes Ardour recorded"
mid=$(ls -t "$session/interchange/$session_name/midifiles/"*.mid 2>/dev/null | head -1 || true)
[ -n "$mid" ] || fail "Ardour wrote no MIDI file for the Notes track"
python3 - "$mid" "$song/metadata.yaml" "$work/analysis/mix.wav.instrunet.json" \
    "$work/analysis/delayed-10ms.wav.instrunet.json" "$work/analysis/delayed-20ms.wav.instrunet.json" <<'EOF'
import json, re, struct, sys
mid, metadata, *analyses = sys.argv[1:]
CLASSES = ["Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Brass", "Reed",
           "Pipe", "Synth Lead", "Synth Pad", "Ethnic", "Drums", "Sound Effects"]
FIRST_KEY, CHANNEL = 36, 0  # the plugin's defaults: class k -> key 36 + k, MIDI channel 1

def read_smf(path):  # -> [(seconds, status, key, velocity)] of note events, all tracks
    data = open(path, "rb").read()
    assert data[:4] == b"MThd", "not a MIDI file"
    _, ntracks, division = struct.unpack(">HHH", data[8:14])
    pos, events, tempo_changes = 14, [], [(0, 500000)]
    raw = []
    for _ in range(ntracks):
        assert data[pos:pos + 4] == b"MTrk"
        size = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        p, end, tick, status = pos + 8, pos + 8 + size, 0, 0
        while p < end:
            delta = 0
            while True:
                b = data[p]; p += 1
                delta = (delta << 7) | (b & 0x7F)
                if not b & 0x80: break
            tick += delta
            if data[p] & 0x80:
                status = data[p]; p += 1
            if status == 0xFF:
                kind, ln = data[p], 0; p += 1
                while True:
                    b = data[p]; p += 1
                    ln = (ln << 7) | (b & 0x7F)
                    if not b & 0x80: break
                if kind == 0x51:
                    tempo_changes.append((tick, int.from_bytes(data[p:p + 3], "big")))
                p += ln
            elif status in (0xF0, 0xF7):
                ln = 0
                while True:
                    b = data[p]; p += 1
                    ln = (ln << 7) | (b & 0x7F)
                    if not b & 0x80: break
                p += ln
            else:
                n = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
                raw.append((tick, status, *data[p:p + n]))
                p += n
        pos = end
    tempo_changes.sort()
    def seconds(tick):
        s, last_tick, tempo = 0.0, 0, 500000
        for t, new in tempo_changes:
            if t > tick: break
            s += (t - last_tick) * tempo / division / 1e6
            last_tick, tempo = t, new
        return s + (tick - last_tick) * tempo / division / 1e6
    for tick, status, *rest in raw:
        if status & 0xF0 in (0x80, 0x90):
            events.append((seconds(tick), status, rest[0], rest[1]))
    return events

events = read_smf(mid)
ons = [e for e in events if e[1] & 0xF0 == 0x90 and e[3] > 0]
offs = [e for e in events if e[1] & 0xF0 == 0x80 or (e[1] & 0xF0 == 0x90 and e[3] == 0)]
problems = []
if not ons:
    sys.exit(f"FAIL: no note arrived on the Notes track ({mid})")
bad_channel = sorted({(e[1] & 0x0F) + 1 for e in ons + offs if e[1] & 0x0F != CHANNEL})
if bad_channel:
    problems.append(f"notes on MIDI channel(s) {bad_channel}, wanted 1")
bad_keys = sorted({e[2] for e in ons if not FIRST_KEY <= e[2] < FIRST_KEY + len(CLASSES)})
if bad_keys:
    problems.append(f"keys {bad_keys} outside {FIRST_KEY}-{FIRST_KEY + len(CLASSES) - 1}")
# Per class: note-ons, sounding time (each on to the next off of its key).
active = {k: 0.0 for k in range(len(CLASSES))}
count = {k: 0 for k in range(len(CLASSES))}
sounding = {}
for t, status, key, vel in sorted(events, key=lambda e: e[0]):
    k = key - FIRST_KEY
    if k not in active: continue
    if status & 0xF0 == 0x90 and vel > 0:
        if k in sounding:
            problems.append(f"{CLASSES[k]}: a second note-on before a note-off at {t:.2f} s")
        sounding.setdefault(k, t); count[k] += 1
    elif k in sounding:
        active[k] += t - sounding.pop(k)
if sounding:
    problems.append("notes without a note-off: " + ", ".join(CLASSES[k] for k in sounding))

# What plays (metadata.yaml: inst_class per stem; Slakh writes "Strings (continued)", "Sound effects").
plays = set()
for m in re.finditer(r"inst_class:\s*(.+)", open(metadata).read()):
    name = m.group(1).strip().strip("'\"").replace(" (continued)", "").lower()
    plays |= {k for k, c in enumerate(CLASSES) if c.lower() == name}
# What the plugin's engine finds in the same file offline (instrunet analyze --smooth 0), at
# three window phases: seconds found per class at each, and the highest probability.
timelines = [json.load(open(a))["timeline"] for a in analyses]
for tl in timelines:
    assert tl["classes"] == CLASSES, tl["classes"]
found = {k: [sum(s["end"] - s["start"] for s in tl["segments"][k]) for tl in timelines]
         for k in range(len(CLASSES))}
cli_s = {k: found[k][0] for k in found}
cli_max = {k: max(p[k] for tl in timelines for p in tl["probabilities"]) for k in found}
thr = timelines[0]["thresholds"]

print(f"   {len(ons)} note-ons, {len(offs)} note-offs in {mid.split('/')[-1]}")
print(f"   {'class':<21} {'plays':>5} {'notes':>5} {'Ardour s':>8} {'CLI s at 0/10/20 ms':>19} {'CLI max p':>9} {'thr':>5}")
for k, c in enumerate(CLASSES):
    if count[k] or k in plays or max(found[k]) > 0:
        at = " / ".join(f"{x:.1f}" for x in found[k])
        print(f"   {c:<21} {'yes' if k in plays else '':>5} {count[k]:>5} {active[k]:>8.1f} {at:>19} {cli_max[k]:>9.2f} {thr[k]:>5.2f}")
for k in sorted(plays):
    if not count[k]:
        also = "the CLI's engine misses it too (a model miss)" if cli_s[k] == 0 else \
               f"the CLI's engine finds it for {cli_s[k]:.1f} s (a host problem)"
        problems.append(f"{CLASSES[k]} plays in the song but no note arrived for it: {also}")
# Against the same engine offline: a class found for a second or more at every window phase must
# have notes, and a class with a second or more of notes must be found offline at some phase.
# Shorter extra notes are reported, not failed: the plugin's first analyses after the transport
# starts see the song's first moments after a window of silence, which the offline analysis never
# does, and where its windows fall depends on the cycles, so a brief extra note there (e.g. 0.3 s
# of Ethnic at 0.1 s) is the plugin's honest streaming output, not a host problem.
first_on = {}
for t, status, key, vel in events:
    if status & 0xF0 == 0x90 and vel > 0:
        first_on.setdefault(key - FIRST_KEY, t)
for k, c in enumerate(CLASSES):
    if min(found[k]) >= 1.0 and not count[k]:
        problems.append(f"{c}: the CLI's engine finds it for {min(found[k]):.1f} s or more at every "
                        "window phase, no note arrived in Ardour")
    elif max(found[k]) >= 1.0 and not count[k]:
        print(f"   note: {c} is found offline at some window phases only "
              f"({' / '.join(f'{x:.1f}' for x in found[k])} s, max probability {cli_max[k]:.2f}, "
              f"threshold {thr[k]:.2f}), and not in Ardour")
    if count[k] and max(found[k]) == 0:
        what = (f"{c}: {active[k]:.1f} s of notes in Ardour (first at {first_on[k]:.1f} s), none offline "
                f"(max probability {cli_max[k]:.2f}, threshold {thr[k]:.2f})")
        if active[k] >= 1.0:
            problems.append(what)
        else:
            print(f"   note: a brief extra detection: {what}")
if problems:
    sys.exit("FAIL: " + "; ".join(problems))
print(f"   notes arrived for every class that plays ({', '.join(CLASSES[k] for k in sorted(plays))}), "
      f"on channel 1, keys {FIRST_KEY}+class, every note-on ended, in line with the CLI's engine")
EOF

echo "ardour session: InstruNET (VST3) ran in Ardour 7's engine headless: export equals the song bit for bit" \
    "(export attempt $attempt), its MIDI notes were recorded on a MIDI track ($(($(date +%s) - started)) s)"
