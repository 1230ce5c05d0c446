#!/usr/bin/env python3
"""Score the mean of several models' probabilities, from `instrunet eval --predictions` CSVs.

Each CSV holds one model's per-window probabilities and labels on the same data folder (same
tracks, same windows, same order). Every model alone and every combination of two or more is
scored threshold-free (macro AP and ROC-AUC over the classes with positives), in segments of
--segments consecutive windows of a track as `eval --segments` scores them (a segment's
probability and label are its windows' largest). Tells whether running several networks in the
engine would pay for its cost.

    python3 training/tools/ensemble_predictions.py --segments 3 a.csv b.csv c.csv
"""

import argparse
import csv
import itertools
import os
import sys

import numpy as np


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:3] != ["track", "song", "start_s"]:
        raise ValueError(f"{path}: not an `instrunet eval --predictions` CSV (header {rows[:1]})")
    head = rows[0]
    cols = [i for i, h in enumerate(head) if h.startswith("p_")]
    names = [head[i][2:] for i in cols]
    tracks = [r[0] for r in rows[1:]]
    probs = np.array([[float(r[i]) for i in cols] for r in rows[1:]], dtype=np.float64)
    labels = np.array([[float(r[i + 1]) for i in cols] for r in rows[1:]], dtype=np.float64)
    return names, tracks, probs, labels


def segments(tracks, probs, labels, k):
    """Max over runs of k consecutive windows of one track (the last run of a track may be short)."""
    out_p, out_y, start = [], [], 0
    while start < len(tracks):
        end = start
        while end < len(tracks) and tracks[end] == tracks[start]:
            end += 1
        for s in range(start, end, k):
            e = min(s + k, end)
            out_p.append(probs[s:e].max(0))
            out_y.append(labels[s:e].max(0))
        start = end
    return np.array(out_p), np.array(out_y)


def average_precision(scores, positive):
    order = np.argsort(-scores, kind="stable")
    hits = positive[order] > 0
    if not hits.any():
        return None
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def roc_auc(scores, positive):
    pos, neg = scores[positive > 0], scores[positive == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    # Mann-Whitney U with average ranks for ties.
    both = np.concatenate([pos, neg])
    order = np.argsort(both, kind="stable")
    ranks = np.empty(len(both))
    sorted_scores = both[order]
    i = 0
    while i < len(both):
        j = i
        while j + 1 < len(both) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def score(names, probs, labels):
    aps = [average_precision(probs[:, c], labels[:, c]) for c in range(len(names))]
    aucs = [roc_auc(probs[:, c], labels[:, c]) for c in range(len(names))]
    known = [(a, n) for a, n in zip(aucs, names) if a is not None]
    lowest = min(known)
    return (
        float(np.mean([a for a in aps if a is not None])),
        float(np.mean([a for a, _ in known])),
        lowest,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+", help="`eval --predictions` CSVs of one data folder")
    ap.add_argument("--segments", type=int, default=1, help="windows per scored segment (1: windows)")
    args = ap.parse_args()
    if args.segments < 1:
        ap.error("--segments must be at least 1")
    try:
        models = {os.path.basename(p).split(".")[0]: load(p) for p in args.csv}
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    first = next(iter(models.values()))
    for name, (names, tracks, _, _) in models.items():
        if names != first[0] or tracks != first[1]:
            print(f"error: {name}: other classes or windows than {args.csv[0]}", file=sys.stderr)
            return 1
    names, tracks, _, labels = first
    print(f"| Models | mAP | mean ROC-AUC | lowest ROC-AUC |\n|---|---:|---:|---:|")
    for r in range(1, len(models) + 1):
        for combo in itertools.combinations(models, r):
            mean = np.mean([models[m][2] for m in combo], 0)
            p, y = segments(tracks, mean, labels, args.segments)
            m_ap, m_auc, (low, low_name) = score(names, p, y)
            print(f"| {' + '.join(combo)} | {m_ap:.4f} | {m_auc:.4f} | {low:.3f} ({low_name}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
