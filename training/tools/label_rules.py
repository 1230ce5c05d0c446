#!/usr/bin/env python3
"""How often two rules for "this stem plays in this window" agree, on Slakh-format tracks.

Ours (`training/src/data/windows.rs`): a stem plays in a window when its RMS over the window's
2.048 s is at least -60 dBFS. Issue 19's hidden sets: a stem plays in a segment when at least
10 % of its 100 ms frames are at or above -50 dBFS. Both are applied to every stem's windows
(2.048 s, stride 1.024 s, as the model's) and the stem-window pairs counted by which rule calls
them playing: a check that the proxies' labels mean what the hidden sets' labels mean.

    python3 training/tools/label_rules.py --max-tracks 30 DATA/tests/real-timgm
"""

import argparse
import glob
import os
import sys

import numpy as np
import soundfile as sf
import yaml


def frame_db(x, n):
    frames = x[: len(x) // n * n].reshape(-1, n)
    return 10 * np.log10((frames**2).mean(1) + 1e-20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="Slakh-format folders (TrackNNNNN/metadata.yaml, stems/)")
    ap.add_argument("--max-tracks", type=int, default=0, help="first N tracks of each folder (0: all)")
    ap.add_argument("--ours-dbfs", type=float, default=-60.0)
    ap.add_argument("--frame-dbfs", type=float, default=-50.0)
    ap.add_argument("--frame-share", type=float, default=0.10)
    args = ap.parse_args()
    for folder in args.folders:
        counts = {"both": 0, "ours only": 0, "theirs only": 0, "neither": 0}
        tracks = sorted(glob.glob(os.path.join(folder, "Track*")))
        if not tracks:
            print(f"error: {folder}: no Track* folders", file=sys.stderr)
            return 1
        for track in tracks[: args.max_tracks or None]:
            meta_path = os.path.join(track, "metadata.yaml")
            try:
                with open(meta_path) as f:
                    stems = yaml.safe_load(f)["stems"]
            except (OSError, KeyError, TypeError, yaml.YAMLError) as e:
                print(f"error: {meta_path}: {e}", file=sys.stderr)
                return 1
            for stem in stems:
                path = os.path.join(track, "stems", f"{stem}.wav")
                if not os.path.exists(path):
                    continue  # not rendered (metadata says so): labels nothing
                try:
                    x, rate = sf.read(path, dtype="float32", always_2d=True)
                except RuntimeError as e:
                    print(f"error: {path}: {e}", file=sys.stderr)
                    return 1
                x = x.mean(1)
                window, stride, frame = int(2.048 * rate), int(1.024 * rate), int(0.1 * rate)
                db = frame_db(x, frame)
                for start in range(0, max(1, len(x) - window + 1), stride):
                    part = x[start : start + window]
                    ours = 10 * np.log10((part**2).mean() + 1e-20) >= args.ours_dbfs
                    f0, f1 = start // frame, (start + window) // frame
                    theirs = f1 > f0 and (db[f0:f1] >= args.frame_dbfs).mean() >= args.frame_share
                    key = ("both" if theirs else "ours only") if ours else ("theirs only" if theirs else "neither")
                    counts[key] += 1
        ours = counts["both"] + counts["ours only"]
        theirs = counts["both"] + counts["theirs only"]
        print(f"{folder}: stem-windows {sum(counts.values())}; playing by ours {ours}, by theirs {theirs}, "
              f"both {counts['both']} ({100 * counts['both'] / max(ours, 1):.1f} % of ours), "
              f"ours only {counts['ours only']}, theirs only {counts['theirs only']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
