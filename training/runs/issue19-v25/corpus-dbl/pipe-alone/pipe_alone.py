#!/usr/bin/env python3
"""Each Pipe program (72-79) playing one tune alone, font by font: is a font's Pipe missed in
songs because of the sound or because of the songs? Writes the MIDI files (`midi DIR`), or reads
`instrunet eval --predictions` files of their renders and prints the Pipe probability, the share
of analyses that light Pipe, and the class most lit instead (`table CSV...`, one per font, named
pred-FONT.csv). pipe-alone.sh runs it all. Needs mido and numpy."""
import json
import os
import sys

import numpy as np

NAMES = {72: "Piccolo", 73: "Flute", 74: "Recorder", 75: "Pan Flute", 76: "Blown Bottle",
         77: "Shakuhachi", 78: "Whistle", 79: "Ocarina"}
# A folk-like tune in the flutes' range, played twice: 24 notes of 0.4 s, 0.08 s apart.
TUNE = [72, 74, 76, 77, 79, 77, 76, 74, 72, 76, 79, 84, 83, 81, 79, 77, 76, 74, 72, 71, 72, 74, 76, 72]


def write_midi(out):
    import mido
    os.makedirs(out, exist_ok=True)
    for prog in NAMES:
        mid = mido.MidiFile(ticks_per_beat=480)
        track = mido.MidiTrack()
        mid.tracks.append(track)
        track.append(mido.MetaMessage("set_tempo", tempo=500000))
        track.append(mido.Message("program_change", program=prog, channel=0))
        for _ in range(2):
            for key in TUNE:
                track.append(mido.Message("note_on", note=key, velocity=90, time=0))
                track.append(mido.Message("note_off", note=key, velocity=0, time=400))
                track.append(mido.Message("note_on", note=key, velocity=0, time=80))
        mid.save(os.path.join(out, f"pipe{prog}.mid"))


def table(paths):
    # The predictions' reader the other tools share (training/tools/ensemble_predictions.py).
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "../../../../tools"))
    from ensemble_predictions import load

    cells = {}
    fonts = [os.path.basename(p)[len("pred-"):-len(".csv")] for p in paths]
    for font, path in zip(fonts, paths):
        classes, _, probs, _ = load(path)
        meta = json.load(open(os.path.splitext(path)[0] + ".json"))
        thresholds = np.array(meta["thresholds"])
        pipe = classes.index("Pipe")
        for t in meta["tracks"]:
            prog = t["stems"][0]["program"]
            p = probs[t["first_row"]:t["first_row"] + t["rows"]]
            lit = (p >= thresholds).mean(axis=0)
            lit[pipe] = -1
            other = int(np.argmax(lit))
            instead = f"; {classes[other].replace('_', ' ')} {lit[other]:.0%}" if lit[other] > 0.1 else ""
            cells.setdefault(prog, {})[font] = (
                f"{p[:, pipe].mean():.2f}, lit {(p[:, pipe] >= thresholds[pipe]).mean():.0%}{instead}")
    print("| program | " + " | ".join(fonts) + " |")
    print("|---|" + "---|" * len(fonts))
    for prog in sorted(cells):
        print(f"| {prog} {NAMES[prog]} | " + " | ".join(cells[prog].get(f, "") for f in fonts) + " |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "midi":
        write_midi(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "table":
        table(sys.argv[2:])
    else:
        sys.exit("usage: pipe_alone.py midi DIR | pipe_alone.py table pred-FONT.csv...")
