#!/usr/bin/env python3
"""Re-render Slakh-format tracks stem by stem with FluidSynth and another SoundFont.

A test-set tool: it stands for the hidden check's songs, which were rendered stem by stem by a
General MIDI player with a SoundFont no model trained on. Our own renderer (rustysynth) cannot
read .sf3 files such as Debian's MuseScore General; FluidSynth can. The output keeps each track's
MIDI and labels (the stems decide them, as for every Slakh track); the renders are dry, with
FluidSynth's default reverb and chorus, and the mix is the sum of the stems scaled so that its
peak is at -1 dBFS (the stems get the same gain, so the labels follow the mix).

    python3 render_with_fluidsynth.py --src TRACKS_DIR --out OUT_DIR \
        --soundfont /usr/share/sounds/sf3/MuseScore_General.sf3 [--max-tracks N]

Needs: fluidsynth (Debian package), numpy and pyyaml.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np
import yaml


def read_mono(path):
    with wave.open(path) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: FluidSynth wrote {8 * w.getsampwidth()}-bit samples, expected 16")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        return data.reshape(-1, w.getnchannels()).mean(axis=1)


def write_mono(path, samples, rate):
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def render_stem(midi, soundfont, rate, out_wav):
    # Dynamic sample loading: an .sf3 is otherwise decoded whole at every start (~5 s).
    cmd = ["fluidsynth", "-ni", "-o", "synth.dynamic-sample-loading=1", "-r", str(rate),
           "-F", out_wav, soundfont, midi]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not os.path.exists(out_wav):
        raise RuntimeError(f"fluidsynth failed on {midi}: {result.stderr.strip()[-400:]}")


def render_track(src, dst, soundfont, rate):
    with open(os.path.join(src, "metadata.yaml")) as f:
        meta = yaml.safe_load(f)
    midi_dir = os.path.join(src, meta.get("midi_dir", "MIDI"))
    font_name = os.path.basename(soundfont)
    stems = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, stem in meta["stems"].items():
            midi = os.path.join(midi_dir, f"{name}.mid")
            if not stem.get("audio_rendered", True) or not os.path.exists(midi):
                continue
            wav = os.path.join(tmp, f"{name}.wav")
            render_stem(midi, soundfont, rate, wav)
            stems[name] = read_mono(wav)
    if not stems:
        raise ValueError(f"{src}: no stem has a MIDI file to render")
    length = max(len(s) for s in stems.values())
    mix = np.zeros(length)
    for name in stems:
        stems[name] = np.pad(stems[name], (0, length - len(stems[name])))
        mix += stems[name]
    peak = np.max(np.abs(mix))
    gain = 10 ** (-1 / 20) / peak if peak > 0 else 1.0

    os.makedirs(os.path.join(dst, "stems"))
    shutil.copytree(midi_dir, os.path.join(dst, "MIDI"))
    for name, samples in stems.items():
        write_mono(os.path.join(dst, "stems", f"{name}.wav"), samples * gain, rate)
    write_mono(os.path.join(dst, "mix.wav"), mix * gain, rate)
    meta["sample_rate"] = rate
    meta["overall_gain"] = float(gain)
    meta["bus_production"] = {}
    for name, stem in meta["stems"].items():
        stem["audio_rendered"] = name in stems
        stem["plugin_name"] = font_name
        # Our renderer's settings (gain, tilt, effects) describe a render this is not.
        stem.pop("render", None)
    with open(os.path.join(dst, "metadata.yaml"), "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", required=True, help="a folder of Slakh-format TrackNNNNN folders")
    parser.add_argument("--out", required=True)
    parser.add_argument("--soundfont", required=True)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--max-tracks", type=int)
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None:
        sys.exit("fluidsynth is not installed (apt-get install fluidsynth)")
    if not os.path.isfile(args.soundfont):
        sys.exit(f"{args.soundfont}: no such SoundFont")
    tracks = sorted(t for t in os.listdir(args.src) if t.startswith("Track"))
    if args.max_tracks:
        tracks = tracks[: args.max_tracks]
    os.makedirs(args.out, exist_ok=True)
    for i, name in enumerate(tracks):
        dst = os.path.join(args.out, name)
        if os.path.exists(os.path.join(dst, "metadata.yaml")):
            continue
        shutil.rmtree(dst, ignore_errors=True)
        try:
            render_track(os.path.join(args.src, name), dst, args.soundfont, args.sample_rate)
        except Exception as e:  # one bad track is named and skipped, the rest still render
            shutil.rmtree(dst, ignore_errors=True)
            print(f"{name}: skipped: {e}", file=sys.stderr)
            continue
        print(f"{i + 1}/{len(tracks)} {name}", flush=True)


if __name__ == "__main__":
    main()
