#!/usr/bin/env python3
"""Pick stems-alone tracks (made by `instrunet data solo`) for a balanced validation set.

Each SRC:PREFIX folder holds solo tracks (Track00001, ...). The tracks of all sources are shuffled
together (seeded) and at most --per-class of each `inst_class` name are moved into --out, renamed
PREFIX + the track's digits so that sources cannot collide. Real-prior songs have mostly Drums and
Bass stems; a capped draw gives every class a say when `calibrate` tunes the thresholds.
"""

import argparse
import os
import random
import re
import shutil
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder the picked tracks move to (created)")
    ap.add_argument("--per-class", type=int, default=14, help="most tracks per inst_class name")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("sources", nargs="+", help="SRC:PREFIX, e.g. solo-val-real:Track8")
    args = ap.parse_args()

    pool = []
    for spec in args.sources:
        src, sep, prefix = spec.rpartition(":")
        if not sep or not src or not prefix.startswith("Track"):
            print(f"error: {spec!r} is not SRC:PREFIX with a prefix starting 'Track'", file=sys.stderr)
            return 2
        if not os.path.isdir(src):
            print(f"error: {src} is not a folder", file=sys.stderr)
            return 2
        for track in sorted(os.listdir(src)):
            meta = os.path.join(src, track, "metadata.yaml")
            try:
                with open(meta, encoding="utf-8") as f:
                    found = re.search(r"inst_class:\s*(.+)", f.read())
            except OSError as e:
                print(f"error: {meta}: {e}", file=sys.stderr)
                return 1
            if found is None:
                print(f"error: {meta} names no inst_class", file=sys.stderr)
                return 1
            pool.append((found.group(1).strip(), os.path.join(src, track), prefix + track[len("Track"):]))

    random.Random(args.seed).shuffle(pool)
    os.makedirs(args.out, exist_ok=True)
    counts: dict[str, int] = {}
    for cls, path, name in pool:
        if counts.get(cls, 0) >= args.per_class:
            continue
        counts[cls] = counts.get(cls, 0) + 1
        shutil.move(path, os.path.join(args.out, name))
    for cls in sorted(counts):
        print(f"{cls}: {counts[cls]}")
    print(f"{sum(counts.values())} tracks moved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
