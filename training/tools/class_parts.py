#!/usr/bin/env python3
"""How many parts songs give each class: melodic stems and classes per song, and per class the
share of the songs with it that have two or more of its stems (a rhythm and a lead guitar,
strings on a pad and on the tune).

Reads each track's metadata.yaml (program and drum flag per stem; classes by program, as
InstruNET counts them). `synth --more-parts` was sized by it (people's game songs against the
composer's).

    python3 training/tools/class_parts.py [--max-tracks N] FOLDER...

Needs pyyaml, and mido for the class table it shares with doubling_share.py (pip install
mido==1.3.3 pyyaml).
"""

import argparse
import collections
import pathlib
import statistics
import sys

try:
    import yaml
except ImportError:
    sys.exit("error: pyyaml is missing: pip install pyyaml")

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from doubling_share import folder_tracks, program_class  # noqa: E402  (one class table for the tools)


def melodic_classes(track):
    """The class of each rendered melodic stem of a track."""
    path = track / "metadata.yaml"
    try:
        meta = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        sys.exit(f"error: {path}: {e}")
    return [
        program_class(int(info.get("program_num", 0)))
        for info in (meta.get("stems") or {}).values()
        if not info.get("is_drum") and info.get("audio_rendered", True)
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=pathlib.Path)
    ap.add_argument("--max-tracks", type=int, default=0, help="per folder; 0: all")
    args = ap.parse_args()
    stems, classes = [], []
    having, several = collections.Counter(), collections.Counter()
    for folder in args.folders:
        for t in folder_tracks(folder, args.max_tracks):
            per_class = collections.Counter(melodic_classes(t))
            stems.append(sum(per_class.values()))
            classes.append(len(per_class))
            for c, n in per_class.items():
                having[c] += 1
                several[c] += n > 1
    print(f"{' + '.join(str(f) for f in args.folders)}: {len(stems)} songs, "
          f"{statistics.mean(stems):.1f} melodic stems on {statistics.mean(classes):.1f} classes per song")
    print()
    print("| class | songs with it | with two or more of its stems |")
    print("|---|---:|---:|")
    for c in sorted(having, key=lambda c: -having[c]):
        print(f"| {c} | {having[c]} | {several[c] / having[c]:.0%} |")


if __name__ == "__main__":
    main()
