"""Makes a "solo" Slakh-format set from rendered tracks: one track per stem, whose mix is that
stem alone (links, no copies). `instrunet eval --split all` on it shows how well the model names
each instrument when nothing else plays — the diagnostic the model card's "Played alone" section
is made from.

    python solo_set.py SRC DST
"""

import os
import re
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    n = 0
    for track in sorted(os.listdir(src)):
        meta_path = os.path.join(src, track, "metadata.yaml")
        if not os.path.isfile(meta_path):
            continue
        with open(meta_path) as f:
            head, sep, body = f.read().partition("stems:\n")
        if not sep:
            sys.exit(f"{meta_path}: no `stems:` section")
        # One block per stem: "  S00:" and its indented fields.
        for block in re.split(r"(?m)^(?=  S\d+:\n)", body):
            m = re.match(r"  (S\d+):\n", block)
            if not m:
                continue
            wav = os.path.abspath(os.path.join(src, track, "stems", m.group(1) + ".wav"))
            if not os.path.isfile(wav):
                continue  # a stem listed without audio (Slakh does this)
            n += 1
            out = os.path.join(dst, f"Track{n:05d}")
            os.makedirs(os.path.join(out, "stems"), exist_ok=True)
            with open(os.path.join(out, "metadata.yaml"), "w") as f:
                f.write(head + "stems:\n" + block)
            os.symlink(wav, os.path.join(out, "stems", m.group(1) + ".wav"))
            os.symlink(wav, os.path.join(out, "mix.wav"))
    print(f"{n} solo tracks in {dst}")


if __name__ == "__main__":
    main()
