#!/usr/bin/env python3
"""Is one model's lead over another on a test set more than the set's sampling noise?

    python3 training/tools/paired_bootstrap.py BASE.csv NEW.csv [--resamples 1000] [--seed 1]

Reads two `instrunet eval --predictions` CSVs of the same set (the same rows: windows, or
segments with `--segments`) and the JSON each writes beside it (its thresholds). Draws songs with
replacement (a song's rows move together: its windows are not independent draws), scores both
models on each draw at their own thresholds as `instrunet eval` does (macro F1 and macro
precision / recall over the classes present in the draw, mAP over the classes with positives)
and prints, per metric, the difference NEW - BASE on the whole set, its 95 % interval over the
draws and the share of draws in which NEW is ahead. An interval that holds 0 says the set cannot
tell the two apart on that metric.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble_predictions import load  # noqa: E402


def sidecar(csv_path, names):
    """The thresholds and each row's song, from the JSON `eval --predictions` writes beside the
    CSV."""
    meta_path = os.path.splitext(csv_path)[0] + ".json"
    with open(meta_path) as f:
        meta = json.load(f)
    # The CSV's column names write spaces as underscores.
    if [c.replace(" ", "_") for c in meta.get("classes", [])] != names:
        raise ValueError(f"{meta_path}: classes {meta.get('classes')} differ from the CSV's {names}")
    songs = [t["song"] for t in meta["tracks"] for _ in range(t["rows"])]
    return np.array(meta["thresholds"], dtype=np.float64), songs


def weighted_ap(scores, positive, weights):
    """Average precision of each row of `weights` (draws × rows): a row counted as often as its
    weight, ranked by score (ties in file order, as ensemble_predictions.average_precision)."""
    order = np.argsort(-scores, kind="stable")
    hit = positive[order] > 0.5
    w = weights[:, order]
    tp = np.cumsum(w * hit, axis=1)
    seen = np.cumsum(w, axis=1)
    n_pos = tp[:, -1]
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    ap = (w * hit * precision).sum(axis=1)
    return np.divide(ap, n_pos, out=np.full_like(ap, np.nan), where=n_pos > 0)


def scores(probs, labels, thresholds, weights):
    """Macro F1, precision, recall and mAP of each draw (rows of `weights`)."""
    pred = probs >= thresholds
    truth = labels > 0.5
    tp = weights @ (pred & truth).astype(np.float64)
    fp = weights @ (pred & ~truth).astype(np.float64)
    fn = weights @ (~pred & truth).astype(np.float64)
    present = (tp + fn) > 0
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                   where=(precision + recall) > 0)

    def macro(x):
        return np.where(present, x, 0).sum(axis=1) / np.maximum(present.sum(axis=1), 1)

    aps = np.stack([weighted_ap(probs[:, k], labels[:, k], weights) for k in range(probs.shape[1])],
                   axis=1)
    return {
        "macro F1": macro(f1),
        "macro precision": macro(precision),
        "macro recall": macro(recall),
        "mAP": np.nanmean(aps, axis=1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", help="the model to beat: an `instrunet eval --predictions` CSV")
    ap.add_argument("new", help="the candidate's CSV on the same set")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    try:
        names, tracks, base_p, labels = load(args.base)
        names_new, tracks_new, new_p, labels_new = load(args.new)
        if names_new != names or tracks_new != tracks or not np.array_equal(labels, labels_new):
            raise ValueError(f"{args.base} and {args.new} are not the same set's rows")
        base_t, songs = sidecar(args.base, names)
        new_t, _ = sidecar(args.new, names)
        if len(songs) != len(tracks):
            raise ValueError(f"{args.base}: its sidecar's tracks hold {len(songs)} rows, the CSV {len(tracks)}")
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"error: {e}")
    if args.resamples < 1:
        sys.exit("error: --resamples: give at least 1")
    song_ids = {s: i for i, s in enumerate(dict.fromkeys(songs))}
    row_song = np.array([song_ids[s] for s in songs])
    rng = np.random.default_rng(args.seed)
    n_songs = len(song_ids)
    diffs = {}
    whole = np.ones((1, len(songs)))
    observed_base = scores(base_p, labels, base_t, whole)
    observed_new = scores(new_p, labels, new_t, whole)
    chunk = 100
    for start in range(0, args.resamples, chunk):
        b = min(chunk, args.resamples - start)
        counts = np.stack([np.bincount(rng.integers(0, n_songs, n_songs), minlength=n_songs)
                           for _ in range(b)])
        weights = counts[:, row_song].astype(np.float64)
        sb = scores(base_p, labels, base_t, weights)
        sn = scores(new_p, labels, new_t, weights)
        for m in sb:
            diffs.setdefault(m, []).append(sn[m] - sb[m])
    print(f"{len(songs)} rows of {n_songs} songs; {args.resamples} draws of songs (seed {args.seed})\n")
    print("| metric | base | new | new - base | 95 % interval | draws with new ahead |")
    print("|---|---:|---:|---:|---:|---:|")
    for m, d in diffs.items():
        d = np.concatenate(d)
        lo, hi = np.percentile(d, [2.5, 97.5])
        b0, n0 = observed_base[m][0], observed_new[m][0]
        print(f"| {m} | {b0:.3f} | {n0:.3f} | {n0 - b0:+.3f} | {lo:+.3f} to {hi:+.3f} | "
              f"{100 * (d > 0).mean():.0f} % |")


if __name__ == "__main__":
    main()
