"""Analyses of `instrunet eval --predictions` CSV files, as in model/STUDIES.md, "Where the errors
come from": context (averaging a window's probabilities with its neighbours'), label edges,
whole-track ranking, and stems whose font plays another class's samples.

    python predictions_study.py --tune TUNE.csv --test TEST.csv [--data DIR --fonts-dir D]

TUNE.csv and TEST.csv are predictions on two sets of songs: thresholds are tuned for F1 on the
first and every figure is measured on the second. With --data (the folder TEST.csv was made
from, rendered by `instrunet synth`, whose stems name their font) and --fonts-dir (a folder of
`instrunet data fonts FONT.sf2 > FONT.txt` listings, one per font), it also scores the labels of
stems whose program shares samples with another class's.
Needs numpy and scikit-learn (requirements-study.txt).
"""

import argparse
import csv
import os
import re

import numpy as np
from sklearn.metrics import average_precision_score


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    names = [h[2:] for h in rows[0][3::2]]
    tracks = np.array([r[0] for r in rows[1:]])
    values = np.array([[float(x) for x in r[3:]] for r in rows[1:]])
    return names, tracks, values[:, 0::2], values[:, 1::2].astype(bool)


def segments(tracks):
    """(first, end) of each track's run of windows."""
    cuts = [0] + [i for i in range(1, len(tracks)) if tracks[i] != tracks[i - 1]] + [len(tracks)]
    return list(zip(cuts[:-1], cuts[1:]))


def smooth(p, tracks, before, after):
    out = np.empty_like(p)
    for a, b in segments(tracks):
        for i in range(a, b):
            out[i] = p[max(a, i - before):min(b, i + after + 1)].mean(0)
    return out


def tune(p, y):
    """Per class, the threshold (steps of 0.02) with the best F1."""
    best = []
    for k in range(p.shape[1]):
        f1 = []
        for t in np.arange(0.02, 0.99, 0.02):
            pr = p[:, k] >= t
            tp, fp, fn = (pr & y[:, k]).sum(), (pr & ~y[:, k]).sum(), (~pr & y[:, k]).sum()
            f1.append((2 * tp / max(1, 2 * tp + fp + fn), t))
        best.append(max(f1)[1])
    return np.array(best)


def scores(p, y, th):
    pr = p >= th
    tp, fp, fn = (pr & y).sum(0), (pr & ~y).sum(0), (~pr & y).sum(0)
    f1, support = 2 * tp / np.maximum(1, 2 * tp + fp + fn), y.sum(0)
    ap = [average_precision_score(y[:, k], p[:, k]) for k in range(y.shape[1]) if y[:, k].any()]
    return (np.mean(ap), (f1 * support).sum() / support.sum(), f1[support > 0].mean(),
            (pr == y).all(1).mean(), (pr == y).mean())


def sound_alikes(fonts_dir):
    """{(font file name, program)} of programs in a listed pair."""
    out = set()
    for listing in os.listdir(fonts_dir):
        with open(os.path.join(fonts_dir, listing)) as f:
            text = f.read()
        font = os.path.basename(text.split(":", 1)[0])
        for a, b in re.findall(r"(?m)^\s+[\d.]+\s+(\d+) .*~\s+(\d+) ", text):
            out |= {(font, int(a)), (font, int(b))}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tune", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--data")
    ap.add_argument("--fonts-dir")
    args = ap.parse_args()
    _, tune_tracks, tune_p, tune_y = load(args.tune)
    names, tracks, p, y = load(args.test)

    print("| Probabilities | mAP | F1 (weighted) | F1 (macro) | Subset acc. | Hamming acc. |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, before, after in [("the window alone", 0, 0), ("causal mean of 2", 1, 0),
                                 ("causal mean of 3", 2, 0), ("centred mean of 3", 1, 1),
                                 ("centred mean of 5", 2, 2), ("centred mean of 9", 4, 4)]:
        th = tune(smooth(tune_p, tune_tracks, before, after), tune_y)
        m = scores(smooth(p, tracks, before, after), y, th)
        print(f"| {label} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.1%} | {m[4]:.1%} |")

    th = tune(tune_p, tune_y)
    errors = (p >= th) != y
    edge = np.zeros_like(y)
    for a, b in segments(tracks):
        for i in range(a, b):
            for j in (i - 1, i + 1):
                if a <= j < b:
                    edge[i] |= y[i] != y[j]
    print(f"\nlabel cells at an on/off edge of their class: {edge.mean():.1%}; errors there: "
          f"{errors[edge].sum() / errors.sum():.1%} (error rate {errors[edge].mean():.1%} "
          f"against {errors[~edge].mean():.1%} elsewhere)")

    for how, f in (("highest", np.max), ("mean", np.mean)):
        whole = np.array([f(p[a:b], 0) for a, b in segments(tracks)])
        present = np.array([y[a:b].any(0) for a, b in segments(tracks)])
        aps = [average_precision_score(present[:, k], whole[:, k])
               for k in range(len(names)) if 0 < present[:, k].sum() < len(present)]
        print(f"whole tracks ranked by the {how} window probability: mAP {np.mean(aps):.3f}")

    if args.data and args.fonts_dir:
        alike = sound_alikes(args.fonts_dir)
        mask = np.zeros_like(y)
        for a, b in segments(tracks):
            with open(os.path.join(args.data, tracks[a], "metadata.yaml")) as f:
                meta = f.read()
            stems = {}
            # One block per stem ("  S00:" and its fields, in any order).
            for block in re.split(r"(?m)^(?=  S\d+:\n)", meta.partition("stems:\n")[2]):
                field = dict(re.findall(r"(?m)^    (\w+): (.+)$", block))
                if "inst_class" not in field or field.get("is_drum") == "true":
                    continue
                key = (field.get("plugin_name", ""), int(field.get("program_num", -1)))
                stems.setdefault(field["inst_class"].replace(" ", "_"), []).append(key in alike)
            for k, name in enumerate(names):
                if stems.get(name) and all(stems[name]):
                    mask[a:b, k] = y[a:b, k]
        melodic = y & ~np.isin(np.array(names), ["Drums"])[None, :]
        pr = p >= th
        kept = [average_precision_score(y[~mask[:, k], k], p[~mask[:, k], k])
                for k in range(len(names)) if y[:, k].any()]
        print(f"\nlabels from stems that play another class's samples: {mask.sum() / melodic.sum():.1%} "
              f"of the melodic labels; recall on them {(pr & mask).sum() / mask.sum():.3f}, on the "
              f"others {(pr & y & ~mask).sum() / (y & ~mask).sum():.3f}; mAP without those cells "
              f"{np.mean(kept):.3f}")


if __name__ == "__main__":
    main()
