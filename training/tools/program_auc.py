#!/usr/bin/env python3
"""Which programs of a class a model finds, from `instrunet eval --predictions` output.

For one class, the windows where it plays are grouped by the programs of its stems in the track
(e.g. Pipe as Flute, as Whistle, as Flute + Ocarina), and each group's ROC-AUC is taken against
every window where the class does not play: a class's one ROC-AUC split into the sounds behind
it. Reads the CSV and the JSON that `eval --predictions FILE.csv` writes beside it (FILE.json:
each track's rows and stems).

    python3 training/tools/program_auc.py --class Pipe predictions.csv

With `--by doubling` the windows are grouped instead by whether the class's stems in the track
are doubled by a stem of another class in at least half of their notes (doubling_share.py's
measure, from each track's MIDI; needs mido and pyyaml): doubled, undoubled or partly doubled.

The last column says what the model hears instead: in each group's windows, the classes lit at
the sidecar's thresholds that do not play there, and how often (the three most often).
"""

import argparse
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble_predictions import load, roc_auc  # noqa: E402


def doubling_group(track, cls):
    """Whether `cls`'s stems in a sidecar track are doubled (doubling_share.py's measure)."""
    import pathlib

    import doubling_share

    if not track.get("folder"):
        sys.exit(f"error: {track['name']}: the sidecar names no folder to read its MIDI from")
    stems = doubling_share.track_stems(pathlib.Path(track["folder"]))
    doubled = [best >= 0.5 for name, best in doubling_share.best_doubling(stems).items()
               if stems[name][0] == cls]
    if not doubled:
        return "no stem of 8+ notes"
    return "doubled" if all(doubled) else "undoubled" if not any(doubled) else "partly doubled"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--class", dest="cls", required=True, help="class name, e.g. Pipe")
    ap.add_argument("csv", help="an `instrunet eval --predictions` CSV (its .json beside it)")
    ap.add_argument("--by", choices=["programs", "doubling"], default="programs",
                    help="group the playing windows by the stems' programs (default) or doubling")
    args = ap.parse_args()
    try:
        names, tracks, probs, labels = load(args.csv)
        meta_path = os.path.splitext(args.csv)[0] + ".json"
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError, json.JSONDecodeError) as e:
        sys.exit(f"error: {e}")
    key = args.cls.replace(" ", "_")
    if key not in names:
        sys.exit(f"error: no class {args.cls!r} in {args.csv} (classes: {', '.join(names)})")
    c = names.index(key)
    thresholds = np.array(meta["thresholds"], dtype=np.float64)
    if thresholds.shape != (len(names),):
        sys.exit(f"error: {meta_path}: {thresholds.size} thresholds for {len(names)} classes")
    # Per row: the classes lit that do not play there.
    lit_instead = (probs >= thresholds) & (labels == 0)
    groups = collections.defaultdict(list)
    negatives = []
    for t in meta["tracks"]:
        if args.by == "doubling":
            group = (doubling_group(t, args.cls),)
        else:
            group = tuple(sorted(s["program"] for s in t["stems"] if s["class"] == args.cls))
        for row in range(t["first_row"], t["first_row"] + t["rows"]):
            if labels[row, c] > 0:
                groups[group].append((probs[row, c], t["name"], row))
            else:
                negatives.append(probs[row, c])
    negatives = np.array(negatives)
    positives = np.array([p for g in groups.values() for p, _, _ in g])
    auc = roc_auc(np.concatenate([positives, negatives]),
                  np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))]))
    print(f"{args.cls}: {len(positives)} windows playing, {len(negatives)} not; ROC-AUC {auc:.3f}")
    print(f"| {'Programs' if args.by == 'programs' else 'Stems'} | Windows | Tracks | Mean probability | ROC-AUC against all negatives | Lit instead |")
    print("|---|---:|---:|---:|---:|---|")
    for group, rows in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        p = np.array([x for x, _, _ in rows])
        a = roc_auc(np.concatenate([p, negatives]),
                    np.concatenate([np.ones(len(p)), np.zeros(len(negatives))]))
        n_tracks = len({t for _, t, _ in rows})
        label = " + ".join(str(x) for x in group) or "(none: label without a stem)"
        share = lit_instead[[r for _, _, r in rows]].mean(axis=0)
        instead = ", ".join(f"{names[k].replace('_', ' ')} {share[k]:.0%}"
                            for k in np.argsort(-share, kind="stable")[:3] if share[k] > 0)
        print(f"| {label} | {len(p)} | {n_tracks} | {p.mean():.2f} | {a:.3f} | {instead or '-'} |")


if __name__ == "__main__":
    main()
