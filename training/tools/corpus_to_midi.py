"""Writes pieces of music21's bundled score corpus as MIDI files, one per piece, for
`instrunet synth --midi-dir DIR --arrange`.

The corpus ships inside the `music21` package on PyPI (pinned in requirements-corpus.txt): Bach
chorales, Palestrina masses, Monteverdi madrigals, Trecento pieces, string quartets, Irish fiddle
tunes (Ryan's Mammoth Collection, O'Neill's), Essen folk songs. Pieces are taken in a fixed,
seeded order across the collections so that any prefix of the output is a varied sample; each
piece is cut to its first --max-seconds at its own tempo. A piece the corpus holds in two
encodings (a chorale as .krn and .mxl) is exported once, and files are named by collection,
subfolder and stem, so that no two pieces share a name. (Exports before this rule, such as those
of the default models' data, used the file stem only; `git log` on this file has that version.)

    python corpus_to_midi.py --out DIR [--pieces N] [--skip K] [--seed S] [--jobs J]

--skip K starts after the files that hold the first K pieces of that order, so that the output
is new music for a model trained on an earlier export of fewer pieces with the same seed. Files
are counted at the pieces they give when they parse (one, or the collection's pieces per opus);
a file that fails gives fewer, so leave a margin (e.g. --skip 1500 after an export of 1400).
"""

import argparse
import hashlib
import multiprocessing
import os
import random
import sys
import warnings

# Per collection: at most this many files, and at most this many pieces from one file (an opus).
COLLECTIONS = {
    "bach": (433, 1),
    "palestrina": (350, 1),
    "ryansMammoth": (350, 1),
    "trecento": (103, 1),
    "monteverdi": (97, 1),
    "oneills1850": (39, 6),
    "essenFolksong": (31, 6),
    "beethoven": (26, 1),
    "mozart": (16, 1),
    "haydn": (9, 1),
    "josquin": (8, 1),
    "airdsAirs": (6, 4),
    "schumann_robert": (7, 1),
    "schumann_clara": (5, 1),
}


def in_corpus(path):
    """The path inside music21's corpus folder: collection/[subfolders/]file."""
    return str(path).split("/corpus/")[1]


def collection_of(path):
    return in_corpus(path).split("/")[0]


def piece_name(path):
    """Collection, subfolders and file stem: quartets keep their opus (beethoven/opus59no1 and
    opus59no2 both hold a movement2, which would otherwise overwrite each other)."""
    stem = os.path.splitext(in_corpus(path))[0].replace(".", "_")
    return stem.replace("/", "-").replace(" ", "_")


def music_of(path):
    """The same music in another encoding (bach/bwv366.krn and .mxl) has the same key."""
    return os.path.splitext(str(path))[0]


def export(job):
    path, max_pieces, out, max_seconds = job
    warnings.filterwarnings("ignore")
    from music21 import converter, stream, tempo

    written = []
    try:
        parsed = converter.parse(path)
    except Exception as e:  # noqa: BLE001 - the corpus has a few files music21 cannot read
        return [], f"{path}: {e}"
    scores = list(parsed.scores)[:max_pieces] if isinstance(parsed, stream.Opus) else [parsed]
    for i, score in enumerate(scores):
        try:
            bpm = 100.0
            marks = score.recurse().getElementsByClass(tempo.MetronomeMark)
            if marks and marks[0].number:
                bpm = float(marks[0].number)
            # Quarter lengths that fit the time limit at the piece's tempo.
            limit = max_seconds * bpm / 60.0
            if score.highestTime > limit:
                score = _cut(score, limit)
            name = f"{piece_name(path)}-{i:02d}"
            target = os.path.join(out, name + ".mid")
            score.write("midi", fp=target)
            written.append(target)
        except Exception as e:  # noqa: BLE001
            return written, f"{path}[{i}]: {e}"
    return written, None


def _cut(score, limit):
    """The score up to `limit` quarter lengths (whole measures)."""
    measures = score.parts[0].getElementsByClass("Measure") if score.parts else []
    last = None
    for m in measures:
        if m.offset >= limit:
            break
        last = m.number
    if last is None:
        return score
    return score.measures(0, last)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--pieces", type=int, default=1000, help="stop after this many MIDI files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--skip",
        type=int,
        default=0,
        help="leave out the files holding the first SKIP pieces of the order",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=90.0)
    args = ap.parse_args()
    from music21 import corpus

    os.makedirs(args.out, exist_ok=True)
    by_collection = {}
    for p in corpus.getCorePaths():
        c = collection_of(p)
        if c in COLLECTIONS and p.suffix != ".rntxt":
            by_collection.setdefault(c, []).append(p)
    rng = random.Random(args.seed)
    files = []
    for c, paths in sorted(by_collection.items()):
        paths = sorted(paths)
        rng.shuffle(paths)
        n, per_file = COLLECTIONS[c]
        files += [(p, per_file) for p in paths[:n]]
    # Interleave collections: a stable shuffle keyed by the path's hash and the seed.
    files.sort(key=lambda f: hashlib.sha1(f"{args.seed}:{f[0]}".encode()).hexdigest())
    # A piece that the corpus holds in two encodings is one song: keep its first file in the
    # order, so that it can never land in the training and the test split at once.
    seen, unique = set(), []
    for f in files:
        key = music_of(f[0])
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if len(unique) < len(files):
        print(f"{len(files) - len(unique)} files left out: the same music as an earlier file")
    files = unique
    # Without parsing, a file counts as the pieces it gives when it parses: every opus in these
    # collections holds more tunes than the per-file limit.
    skipped, start = 0, 0
    while start < len(files) and skipped < args.skip:
        skipped += files[start][1]
        start += 1
    jobs = [(str(p), k, args.out, args.max_seconds) for p, k in files[start:]]
    done, failed = 0, 0
    with multiprocessing.Pool(args.jobs) as pool:
        for written, err in pool.imap(export, jobs):
            done += len(written)
            if err:
                failed += 1
                print("skipped:", err, file=sys.stderr)
            if done >= args.pieces:
                pool.terminate()
                break
            if done and done % 50 == 0:
                print(f"{done} pieces", flush=True)
    print(f"{done} MIDI files in {args.out} ({failed} files skipped)")


if __name__ == "__main__":
    main()
