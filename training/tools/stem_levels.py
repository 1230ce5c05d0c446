#!/usr/bin/env python3
"""How loud each part sits under the mix in Slakh-format songs: per melodic stem, the median over
its sounding 100 ms frames of (stem level - mix level) in dB, summed up per class.

A frame sounds when the stem's RMS is above -50 dBFS (the hidden checks' label rule). A stem
that sounds in fewer than 10 frames is skipped. The question it answers: are the parts that
people's songs bury (the game songs' Pipe stems sit 7-13 dB under the mix) rare in the
composer's songs, so that the model never learnt to hear them?

    python3 training/tools/stem_levels.py [--max-tracks N] FOLDER...

Needs numpy, soundfile and pyyaml (pip install numpy soundfile==0.14.0 pyyaml).
"""

import argparse
import collections
import pathlib
import sys

try:
    import numpy as np
    import soundfile
    import yaml
except ImportError as e:
    sys.exit(f"error: {e.name} is missing: pip install numpy soundfile==0.14.0 pyyaml")

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from doubling_share import folder_tracks, program_class  # noqa: E402  (one class table for the tools)

FRAME_S = 0.1
SOUNDING_DBFS = -50.0


def audio(path_stem):
    """Mono samples and rate of PATH.flac or PATH.wav, or None when neither is there."""
    for ext in (".flac", ".wav"):
        p = path_stem.with_suffix(ext)
        if p.is_file():
            x, rate = soundfile.read(p, dtype="float32", always_2d=True)
            return x.mean(axis=1), rate
    return None


def frame_db(x, rate):
    n = int(rate * FRAME_S)
    frames = len(x) // n
    if frames == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(x[: frames * n].reshape(frames, n) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def track_levels(track):
    """[(class, median dB under the mix)] of a track's melodic stems."""
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    mix = audio(track / "mix")
    if mix is None:
        raise ValueError(f"{track}: no mix.flac or mix.wav")
    mix_db = frame_db(*mix)
    out = []
    for name, info in (meta.get("stems") or {}).items():
        if info.get("is_drum") or not info.get("audio_rendered", True):
            continue
        stem = audio(track / (meta.get("audio_dir") or "stems") / name)
        if stem is None:
            continue
        db = frame_db(*stem)
        n = min(len(db), len(mix_db))
        sounding = db[:n] > SOUNDING_DBFS
        if sounding.sum() < 10:
            continue
        # By program: Slakh's own metadata names classes its way ("Strings (continued)").
        out.append((program_class(int(info.get("program_num", 0))), float(np.median(db[:n][sounding] - mix_db[:n][sounding]))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=pathlib.Path)
    ap.add_argument("--max-tracks", type=int, default=0, help="per folder; 0: all")
    args = ap.parse_args()
    levels = collections.defaultdict(list)
    for folder in args.folders:
        for t in folder_tracks(folder, args.max_tracks):
            try:
                for cls, level in track_levels(t):
                    levels[cls].append(level)
            except (OSError, ValueError, RuntimeError) as e:
                sys.exit(f"error: {t}: {e}")
    every = [v for vs in levels.values() for v in vs]
    print(f"{' + '.join(str(f) for f in args.folders)}: {len(every)} melodic stems")
    print()
    print("| class | stems | median dB under the mix | share 7 dB or more under | share 13 dB or more under |")
    print("|---|---:|---:|---:|---:|")
    for cls in sorted(levels) + ["all"]:
        v = np.array(every if cls == "all" else levels[cls])
        print(f"| {cls} | {len(v)} | {np.median(v):.1f} | {np.mean(v <= -7):.0%} | {np.mean(v <= -13):.0%} |")


if __name__ == "__main__":
    main()
