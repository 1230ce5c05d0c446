#!/usr/bin/env python3
"""Make a real-recordings proxy: clips of test songs' parts played by recorded instruments.

A test-set tool: it stands for the hidden check on real recordings (clips of real acoustic
instruments, about half of one instrument alone and half of mixes of 2-4). No real recording may
be trained on, but packages that ship them may be used for testing: the tonejs-instruments
sample sets on npm (single notes of a recorded piano, violin, cello, flute, trumpet, ...) and
Hydrogen's GMRockKit (a recorded drum kit, Debian's hydrogen-data). Each clip takes one to four
stems of a Slakh-format test track whose General MIDI program a recorded instrument can play
(piano, xylophone, organs, guitars, basses, bowed strings and harp, brass, saxes and woodwinds,
flutes, drums), plays their notes with the nearest recorded note resampled to pitch, and writes a
Slakh track (stems, mix, the excerpt's MIDI, metadata): labels come from the stems, as for every
track. Synth programs, voices, timpani, ethnic and effects programs have no recording and are
never chosen.

    python render_real_samples.py --src TRACKS [--src TRACKS ...] --samples DIR --out OUT \
        [--clips 100] [--min-stems 1] [--max-stems 1] [--seconds 20] [--seed 1]

DIR holds one folder per tonejs-instruments set (piano/A4.mp3, ...) and hydrogen/GMRockKit.
Needs numpy, pyyaml, mido and soundfile (libsndfile 1.1+ decodes MP3).
"""
import argparse
import os
import random
import re
import shutil
import sys

import mido
import numpy as np
import soundfile
import yaml

RATE = 44100
# General MIDI program -> (recorded instrument, sustained?). Sustained instruments are cut at
# the note-off with a short release; struck and plucked ones ring on a little longer.
PROGRAMS = {}
for p in range(0, 8):
    PROGRAMS[p] = ("piano", False)
for p in range(8, 16):
    PROGRAMS[p] = ("xylophone", False)
for p in range(16, 20):
    PROGRAMS[p] = ("organ", True)
for p in range(20, 24):
    PROGRAMS[p] = ("harmonium", True)
PROGRAMS[24] = ("guitar-nylon", False)
PROGRAMS[25] = ("guitar-acoustic", False)
for p in range(26, 32):
    PROGRAMS[p] = ("guitar-electric", False)
PROGRAMS[32] = ("contrabass", False)
for p in range(33, 40):
    PROGRAMS[p] = ("bass-electric", False)
PROGRAMS.update({40: ("violin", True), 41: ("violin", True), 42: ("cello", True),
                 43: ("contrabass", True), 44: ("strings", True), 45: ("strings", False),
                 46: ("harp", False), 48: ("strings", True), 49: ("strings", True),
                 56: ("trumpet", True), 57: ("trombone", True), 58: ("tuba", True),
                 59: ("trumpet", True), 60: ("french-horn", True), 61: ("brass", True),
                 64: ("saxophone", True), 65: ("saxophone", True), 66: ("saxophone", True),
                 67: ("saxophone", True), 68: ("clarinet", True), 69: ("bassoon", True),
                 70: ("bassoon", True), 71: ("clarinet", True)})
for p in range(72, 80):
    PROGRAMS[p] = ("flute", True)
# Ensembles and sections: the recorded instrument whose range holds the note.
SECTIONS = {"strings": ["contrabass", "cello", "violin"], "brass": ["tuba", "trombone", "trumpet"]}
# GM drum notes -> GMRockKit sample names (velocity picks the layer).
DRUMS = {35: "Kick", 36: "Kick", 37: "SideStick", 38: "Snare", 39: "HandClap", 40: "SnareRimshot",
         41: "TomFloor", 43: "TomFloor", 45: "Tom2", 47: "Tom2", 48: "Tom1", 50: "Tom1",
         42: "HatClosed", 44: "HatPedal", 46: "HatOpen", 49: "Crash", 57: "Crash", 52: "Crash",
         55: "Splash", 51: "Ride", 59: "Ride", 53: "Bell", 56: "Cowbell"}
# Slakh's inst_class names -> InstruNET's classes ("Strings (continued)" is Strings).
CLASSES = {"Strings (continued)": "Strings"}
LAYERS = ["Softest", "Soft", "Med", "Hard", "Hardest"]
NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def read_audio(path):
    try:
        data, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except Exception as e:
        raise ValueError(f"{path}: cannot decode: {e}") from e
    data = data.mean(axis=1)
    if rate != RATE:
        data = np.interp(np.arange(0, len(data) * RATE / rate) * rate / RATE,
                         np.arange(len(data)), data)
    return data


def load_samples(root):
    """Every recorded instrument: {name: {midi_pitch: samples}} and the drum kit's layers."""
    pitched = {}
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if name == "hydrogen" or not os.path.isdir(folder):
            continue
        notes = {}
        for f in os.listdir(folder):
            m = re.fullmatch(r"([A-G])(s?)(-?\d)\.(mp3|ogg|wav|flac)", f)
            if m:
                pitch = 12 * (int(m.group(3)) + 1) + NOTE[m.group(1)] + (1 if m.group(2) else 0)
                notes[pitch] = read_audio(os.path.join(folder, f))
        if notes:
            pitched[name] = notes
    kit_dir = os.path.join(root, "hydrogen", "GMRockKit")
    kit = {}
    for f in sorted(os.listdir(kit_dir)) if os.path.isdir(kit_dir) else []:
        m = re.fullmatch(r"([A-Za-z]+)(?:-([A-Za-z]+))?\.wav", f)
        if m:
            kit.setdefault(m.group(1), {})[m.group(2) or "Med"] = read_audio(os.path.join(kit_dir, f))
    missing = sorted({i for i, _ in PROGRAMS.values()} - set(pitched) - set(SECTIONS))
    if missing or not kit:
        raise SystemExit(f"{root}: missing sample sets: {', '.join(missing) or 'hydrogen/GMRockKit'}")
    return pitched, kit


def stem_notes(path):
    """A stem's MIDI file: (start s, end s, pitch, velocity) of every note in file time, and its
    program and channel."""
    midi = mido.MidiFile(path)
    notes, sounding, now = [], {}, 0.0
    program = next((m.program for m in midi if m.type == "program_change"), 0)
    channel = next((m.channel for m in midi if hasattr(m, "channel")), 0)
    for msg in midi:  # iterating a MidiFile yields messages with delta times in seconds
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            sounding.setdefault(msg.note, []).append((now, msg.velocity))
        elif msg.type in ("note_off", "note_on") and sounding.get(msg.note):
            start, vel = sounding[msg.note].pop(0)
            notes.append((start, now, msg.note, vel))
    return notes, program, channel


def in_excerpt(notes, start, seconds):
    """The notes that sound between `start` and `start + seconds`."""
    return [n for n in notes if n[1] > start and n[0] < start + seconds]


def pitched_note(instrument, pitches, pitch):
    """The recorded note nearest to `pitch` (moved by octaves into the instrument's range)."""
    low, high = min(pitches), max(pitches)
    while pitch < low - 2:
        pitch += 12
    while pitch > high + 2:
        pitch -= 12
    nearest = min(pitches, key=lambda p: abs(p - pitch))
    return nearest, 2.0 ** ((pitch - nearest) / 12.0)


def render_stem(notes, instrument, sustained, pitched, kit, start, seconds, rng):
    out = np.zeros(int(seconds * RATE) + RATE)
    for on, off, pitch, vel in in_excerpt(notes, start, seconds):
        if instrument == "drums":
            name = DRUMS.get(pitch)
            if name not in kit:
                continue
            layers = kit[name]
            layer = LAYERS[min(4, vel * 5 // 128)]
            sample = layers[layer] if layer in layers else next(iter(layers.values()))
            ratio, length = 1.0, len(sample)
        else:
            name = instrument
            if instrument in SECTIONS:  # the section member whose range holds the note
                name = next((n for n in SECTIONS[instrument] if pitch <= max(pitched[n]) + 2),
                            SECTIONS[instrument][-1])
            nearest, ratio = pitched_note(name, pitched[name], pitch)
            sample = pitched[name][nearest]
            ring = 0.12 if sustained else 0.6
            length = int(min(len(sample) / ratio, (off - on + ring) * RATE))
        # Resample to pitch (linear interpolation: the shift is at most a few semitones).
        positions = np.arange(length) * ratio
        positions = positions[positions < len(sample) - 1]
        note = np.interp(positions, np.arange(len(sample)), sample)
        release = min(len(note), int(0.08 * RATE))
        if release > 0 and instrument != "drums":
            note[-release:] *= np.linspace(1.0, 0.0, release)
        note *= (vel / 127.0) ** 1.6 * rng.uniform(0.9, 1.1)
        at = int((on - start) * RATE)
        if at < 0:  # a note already sounding when the excerpt starts joins at its position
            note, at = note[-at:], 0
        end = min(len(out), at + len(note))
        out[at:end] += note[: end - at]
    return out[: int(seconds * RATE)]


def room(rng):
    """A small room's impulse response (exponentially decaying noise) and its wet share."""
    rt60 = rng.uniform(0.25, 0.9)
    t = np.arange(int(rt60 * RATE)) / RATE
    ir = np.random.default_rng(rng.randrange(1 << 30)).standard_normal(len(t)) * 10 ** (-3 * t / rt60)
    return ir / np.sqrt(np.sum(ir ** 2)), rng.uniform(0.05, 0.3)


def fft_convolve(audio, ir):
    n = 1 << (len(audio) + len(ir) - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(audio, n) * np.fft.rfft(ir, n), n)[: len(audio)]


def candidates(src):
    """(track folder, metadata, [eligible stem names]) of every track with a playable stem."""
    found = []
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name, "metadata.yaml")
        if not name.startswith("Track") or not os.path.isfile(path):
            continue
        with open(path) as f:
            meta = yaml.safe_load(f)
        midi_dir = os.path.join(src, name, meta.get("midi_dir", "MIDI"))
        stems = [s for s, m in sorted(meta["stems"].items())
                 if (m["is_drum"] or m["program_num"] in PROGRAMS)
                 and os.path.isfile(os.path.join(midi_dir, f"{s}.mid"))]
        if stems:
            found.append((os.path.join(src, name), meta, stems))
    return found


def best_start(note_lists, length, seconds):
    """The excerpt start (s) in which the chosen stems sound for the most time together."""
    step = 1.0
    grid = np.zeros((len(note_lists), int(length / step) + 2))
    for i, notes in enumerate(note_lists):
        for on, off, _, _ in notes:
            grid[i, int(on / step): int(off / step) + 1] = 1
    playing = grid.min(axis=0) + 0.1 * grid.sum(axis=0)
    span = max(1, int(seconds / step))
    scores = [playing[s: s + span].sum() for s in range(max(1, len(playing) - span))]
    return step * int(np.argmax(scores))


def write_excerpt_midi(notes, program, channel, dst_path, start, seconds):
    """The stem's notes from `start` for `seconds` as a MIDI file of one track, times kept."""
    out = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    out.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))  # 1 beat = 0.5 s
    track.append(mido.Message("program_change", program=program, channel=channel, time=0))
    events = []
    for on, off, pitch, vel in in_excerpt(notes, start, seconds):
        on, off = max(on, start) - start, min(off, start + seconds) - start
        events += [(on, 1, pitch, vel), (off, 0, pitch, 0)]
    now = 0
    for t, kind, pitch, vel in sorted(events):
        tick = int(round(t * 960))
        msg = "note_on" if kind else "note_off"
        track.append(mido.Message(msg, note=pitch, velocity=vel, channel=channel, time=tick - now))
        now = tick
    out.save(dst_path)


def make_clip(track_dir, meta, stems, out_dir, seconds, pitched, kit, rng):
    midi_dir = os.path.join(track_dir, meta.get("midi_dir", "MIDI"))
    parsed = {s: stem_notes(os.path.join(midi_dir, f"{s}.mid")) for s in stems}
    note_lists = [parsed[s][0] for s in stems]
    if any(not n for n in note_lists):
        return False
    length = max(off for notes in note_lists for _, off, _, _ in notes)
    start = best_start(note_lists, length, seconds)
    ir, wet = room(rng)
    rendered = {}
    for stem, notes in zip(stems, note_lists):
        m = meta["stems"][stem]
        instrument, sustained = ("drums", False) if m["is_drum"] else PROGRAMS[m["program_num"]]
        audio = render_stem(notes, instrument, sustained, pitched, kit, start, seconds, rng)
        rms = np.sqrt(np.mean(audio ** 2))
        if rms < 1e-5:
            return False
        # Levels as in a mix: each part at -20 dB RMS ±6 dB, then the room.
        audio *= 10 ** (rng.uniform(-26, -14) / 20) / rms
        audio = (1 - wet) * audio + wet * fft_convolve(audio, ir)
        rendered[stem] = audio
    mix = sum(rendered.values())
    gain = 10 ** (-1 / 20) / max(1e-9, np.max(np.abs(mix)))
    os.makedirs(os.path.join(out_dir, "stems"))
    os.makedirs(os.path.join(out_dir, "MIDI"))
    for stem, audio in rendered.items():
        soundfile.write(os.path.join(out_dir, "stems", f"{stem}.wav"), audio * gain, RATE, "PCM_16")
        write_excerpt_midi(*parsed[stem], os.path.join(out_dir, "MIDI", f"{stem}.mid"), start,
                           seconds)
    soundfile.write(os.path.join(out_dir, "mix.wav"), mix * gain, RATE, "PCM_16")
    out_meta = {
        "UUID": meta.get("UUID", ""), "audio_dir": "stems", "midi_dir": "MIDI",
        "lmd_midi_dir": f"{os.path.basename(os.path.dirname(track_dir))}/{os.path.basename(track_dir)}"
                        f" from {start:.0f} s",
        "normalized": True, "overall_gain": float(gain), "sample_rate": RATE, "stems": {},
    }
    for stem in rendered:
        m = meta["stems"][stem]
        instrument = "hydrogen GMRockKit" if m["is_drum"] else \
            f"tonejs-instruments {PROGRAMS[m['program_num']][0]}"
        out_meta["stems"][stem] = {
            "inst_class": m["inst_class"], "program_num": m["program_num"], "is_drum": m["is_drum"],
            "midi_program_name": m.get("midi_program_name"), "plugin_name": instrument,
            "audio_rendered": True, "midi_saved": True}
    with open(os.path.join(out_dir, "metadata.yaml"), "w") as f:
        yaml.safe_dump(out_meta, f, sort_keys=False)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", action="append", required=True,
                        help="a folder of Slakh-format test tracks (repeatable; taken in turn)")
    parser.add_argument("--samples", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--min-stems", type=int, default=1)
    parser.add_argument("--max-stems", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.min_stems <= args.max_stems:
        sys.exit("--min-stems and --max-stems: give 1 <= min <= max")
    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists: delete it to make it again")
    pitched, kit = load_samples(args.samples)
    rng = random.Random(args.seed)
    pools = []
    for src in args.src:
        pool = candidates(src)
        if not pool:
            sys.exit(f"{src}: no track has a stem a recorded instrument can play")
        rng.shuffle(pool)
        pools.append(pool)
    # The sources in turn, each track once, until enough clips are made.
    order = [pool[i] for i in range(max(map(len, pools))) for pool in pools if i < len(pool)]
    made, class_clips = 0, {}
    for track_dir, meta, stems in order:
        if made == args.clips:
            break
        # One stem per class (two of a class in a clip say no more than one does), the classes
        # the clips so far have had least first, so that rare classes get clips of their own.
        by_class = {}
        for s in rng.sample(stems, len(stems)):
            cls = meta["stems"][s]["inst_class"]
            by_class.setdefault(CLASSES.get(cls, cls), s)
        if len(by_class) < args.min_stems:
            continue
        ranked = sorted(by_class, key=lambda c: (class_clips.get(c, 0), rng.random()))
        ranked = ranked[: rng.randint(args.min_stems, min(args.max_stems, len(ranked)))]
        choice = sorted(by_class[c] for c in ranked)
        out_dir = os.path.join(args.out, f"Track{made + 1:05d}")
        try:
            ok = make_clip(track_dir, meta, choice, out_dir, args.seconds, pitched, kit, rng)
        except Exception as e:  # a bad source track is named and skipped
            print(f"{track_dir}: skipped: {e}", file=sys.stderr)
            ok = False
        if not ok:
            shutil.rmtree(out_dir, ignore_errors=True)
            continue
        made += 1
        for c in ranked:
            class_clips[c] = class_clips.get(c, 0) + 1
        names = ", ".join(meta["stems"][s].get("midi_program_name") or meta["stems"][s]["inst_class"]
                          for s in choice)
        print(f"{os.path.basename(out_dir)} from {track_dir}: {names}", flush=True)
    print("clips per class: " + ", ".join(f"{c} {n}" for c, n in sorted(class_clips.items())))
    if made < args.clips:
        sys.exit(f"made {made} clips of {args.clips}: too few tracks with playable stems")


if __name__ == "__main__":
    main()
