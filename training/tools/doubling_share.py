#!/usr/bin/env python3
"""How often parts double each other in Slakh-format songs: the share of melodic stems whose
notes another stem of another InstruNET class plays too (same pitch class, onset within 40 ms).

Reads each track's MIDI/SNN.mid and metadata.yaml (program and drum flag per stem). A stem with
fewer than 8 notes is skipped; drums (and the percussive programs InstruNET counts as drums)
are neither counted nor matched. Prints, over all tracks of
the folders, the share of stems doubled in at least half and in at least 80 % of their notes,
and per class. `synth --doubling` was sized by it (people's game songs against the composer's).

    python3 training/tools/doubling_share.py [--max-tracks N] FOLDER...

Needs mido and pyyaml (pip install mido==1.3.3 pyyaml).
"""

import argparse
import collections
import pathlib
import sys

try:
    import mido
    import yaml
except ImportError as e:
    sys.exit(f"error: {e.name} is missing: pip install mido==1.3.3 pyyaml")

def program_class(program):
    """InstruNET's class of a General MIDI program (as `InstrumentClass::from_program`)."""
    bounds = [
        (7, "Piano"), (15, "Chromatic Percussion"), (23, "Organ"), (31, "Guitar"), (39, "Bass"),
        (55, "Strings"), (63, "Brass"), (71, "Reed"), (79, "Pipe"), (87, "Synth Lead"),
        (95, "Synth Pad"), (103, "Sound Effects"), (111, "Ethnic"), (118, "Drums"),
    ]
    return next((name for top, name in bounds if program <= top), "Sound Effects")


def folder_tracks(folder, max_tracks=0):
    """A Slakh-format folder's Track* folders with a metadata.yaml, sorted (the first
    `max_tracks`; 0: all); exits naming the folder when it has none."""
    tracks = sorted(t for t in folder.glob("Track*") if (t / "metadata.yaml").is_file())
    if max_tracks:
        tracks = tracks[:max_tracks]
    if not tracks:
        sys.exit(f"error: {folder} has no Track*/metadata.yaml")
    return tracks


# Onsets are compared in bins of this many seconds, a bin either side allowed.
BIN_S = 0.04


def onsets(path):
    """(seconds, key) of every note-on of a MIDI file, drums' channel left out."""
    out, t = [], 0.0
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and getattr(msg, "channel", 0) != 9:
            out.append((t, msg.note))
    return out


def track_stems(track):
    """{stem: (class, onsets)} of a track's melodic stems with enough notes."""
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    stems = {}
    for name, info in (meta.get("stems") or {}).items():
        midi = track / "MIDI" / f"{name}.mid"
        if info.get("is_drum") or not midi.is_file():
            continue
        cls = program_class(int(info.get("program_num", 0)))
        notes = onsets(midi)
        if cls != "Drums" and len(notes) >= 8:
            stems[name] = (cls, notes)
    return stems


def doubled_share(notes, other):
    """Share of `notes` that `other` plays too: same pitch class, onset within a bin."""
    at = collections.defaultdict(set)
    for t, key in other:
        at[round(t / BIN_S)].add(key % 12)
    hit = sum(
        1
        for t, key in notes
        if any(key % 12 in at.get(round(t / BIN_S) + d, ()) for d in (-1, 0, 1))
    )
    return hit / len(notes)


def best_doubling(stems):
    """{stem: the largest share of its notes that one stem of another class doubles}."""
    return {
        name: max(
            (doubled_share(notes, o) for n, (c, o) in stems.items() if n != name and c != cls),
            default=0.0,
        )
        for name, (cls, notes) in stems.items()
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=pathlib.Path, help="Slakh-format folders")
    ap.add_argument("--max-tracks", type=int, default=0, help="the first N tracks (by name) only")
    args = ap.parse_args()
    tracks = []
    for folder in args.folders:
        if not folder.is_dir():
            sys.exit(f"error: {folder}: not a folder")
        tracks += sorted(p for p in folder.rglob("Track*") if (p / "metadata.yaml").is_file())
    if args.max_tracks > 0:
        tracks = tracks[: args.max_tracks]
    if not tracks:
        sys.exit("error: no TrackNNNNN folders with metadata.yaml under " + ", ".join(map(str, args.folders)))
    half, most, total = collections.Counter(), collections.Counter(), collections.Counter()
    for track in tracks:
        try:
            stems = track_stems(track)
        except (OSError, ValueError, yaml.YAMLError, EOFError) as e:
            sys.exit(f"error: {track}: {e}")
        for name, best in best_doubling(stems).items():
            cls = stems[name][0]
            total[cls] += 1
            half[cls] += best >= 0.5
            most[cls] += best >= 0.8
    n = sum(total.values())
    print(f"{len(tracks)} tracks, {n} melodic stems: doubled by another class in >= 50 % of "
          f"their notes {sum(half.values()) / max(n, 1):.1%}, in >= 80 % {sum(most.values()) / max(n, 1):.1%}")
    print("| class | stems | >= 50 % doubled | >= 80 % |\n|---|---:|---:|---:|")
    for cls in sorted(total):
        print(f"| {cls} | {total[cls]} | {half[cls] / total[cls]:.0%} | {most[cls] / total[cls]:.0%} |")


if __name__ == "__main__":
    main()
