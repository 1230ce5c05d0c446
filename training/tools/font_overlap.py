#!/usr/bin/env python3
"""How unheard a test SoundFont really is: which of its General MIDI programs play sample data
that a training font also holds, byte for byte.

Two fonts can be different files and still share recordings (one was built from the other's
samples). A test font meant to stand for timbres no model heard says less where it shares them.
For every melodic program (bank 0) of TEST, counts its distinct sample waveforms and how many
of them a TRAIN font holds with the same PCM bytes, then sums per InstruNET class.

    python3 training/tools/font_overlap.py TEST.sf2 TRAIN.sf2...

Needs sf2utils, mido and pyyaml (pip install sf2utils==1.0.0 mido==1.3.3 pyyaml; the class table is
doubling_share.py's). Reads .sf2 only: an .sf3's samples are Ogg Vorbis,
so equal recordings are not equal bytes there.
"""

import argparse
import collections
import hashlib
import logging
import os
import sys

try:
    from sf2utils.sf2parse import Sf2File
except ImportError:
    sys.exit("error: sf2utils is missing: pip install sf2utils==1.0.0")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doubling_share import program_class  # noqa: E402


def open_font(path):
    if not path.lower().endswith(".sf2"):
        sys.exit(f"error: {path}: not an .sf2 (an .sf3's compressed samples cannot be compared)")
    try:
        # sf2utils warns about every odd loop point; the bytes are what is compared here.
        logging.disable(logging.WARNING)
        return Sf2File(open(path, "rb"))
    except (OSError, ValueError, KeyError, IndexError) as e:
        sys.exit(f"error: {path}: {e}")


def digest(sample):
    try:
        return hashlib.md5(sample.raw_sample_data).hexdigest()
    except Exception:  # a header without data (sf2utils raises various errors): not compared
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("test", help="the test font (.sf2)")
    ap.add_argument("train", nargs="+", help="the training fonts (.sf2)")
    args = ap.parse_args()
    test = open_font(args.test)
    held = {}
    for path in args.train:
        for s in open_font(path).samples:
            h = digest(s)
            if h:
                held.setdefault(h, os.path.basename(path))
    rows = []
    for p in test.presets:
        # The terminal record has no bank or number; drum kits live in bank 128.
        if getattr(p, "bank", None) != 0 or getattr(p, "preset", 999) > 127:
            continue
        waves = {h for b in p.bags if b.instrument for ib in b.instrument.bags if ib.sample
                 for h in [digest(ib.sample)] if h}
        if waves:
            shared = [h for h in waves if h in held]
            rows.append((p.preset, p.name, len(waves), len(shared), sorted({held[h] for h in shared})))
    rows.sort()
    waves = {h for s in test.samples for h in [digest(s)] if h}
    shared = collections.Counter(held[h] for h in waves if h in held)
    print(f"{os.path.basename(args.test)}: {len(waves)} distinct sample waveforms, "
          f"{sum(shared.values())} of them byte for byte in a training font "
          f"({', '.join(f'{n} {c}' for n, c in shared.most_common()) or 'none'})")
    every = sum(r[3] == r[2] for r in rows)
    some = sum(0 < r[3] < r[2] for r in rows)
    print(f"melodic programs: {len(rows)}; every sample shared {every}, some {some}, "
          f"none {len(rows) - every - some}")
    print()
    print("| class | programs | every sample shared | some | none |")
    print("|---|---:|---:|---:|---:|")
    per = collections.defaultdict(lambda: [0, 0, 0])
    for prog, _, n, k, _ in rows:
        per[program_class(prog)][0 if k == n else 1 if k else 2] += 1
    for cls, (a, b, c) in per.items():
        print(f"| {cls} | {a + b + c} | {a} | {b} | {c} |")
    print()
    print("| program | preset | samples | shared | with |")
    print("|---:|---|---:|---:|---|")
    for prog, name, n, k, fonts in rows:
        print(f"| {prog} | {name} | {n} | {k} | {', '.join(fonts) or '-'} |")


if __name__ == "__main__":
    main()
