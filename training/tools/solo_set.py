"""Makes a "solo" Slakh-format set from rendered tracks: one track per stem, whose mix is that
stem alone (links, no copies). `instrunet eval --split all` on it shows how well the model names
each instrument when nothing else plays — the diagnostic the "Played alone" paragraph of
model/STUDIES.md ("Where the errors come from") is made from.

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
        # Slakh2100 names the stem folder after its own track (`audio_dir: TrackNNNNN/stems`);
        # the solo track keeps its one stem in its own stems/.
        head = re.sub(r"(?m)^audio_dir: .*$", "audio_dir: stems", head)
        # One block per stem: "  S00:" and its indented fields.
        for block in re.split(r"(?m)^(?=  S\d+:\n)", body):
            m = re.match(r"  (S\d+):\n", block)
            if not m:
                continue
            # WAV (BabySlakh, `instrunet synth`) or FLAC (Slakh2100).
            audio = [os.path.abspath(os.path.join(src, track, "stems", m.group(1) + ext))
                     for ext in (".wav", ".flac")]
            audio = [a for a in audio if os.path.isfile(a)]
            if not audio:
                continue  # a stem listed without audio (Slakh does this)
            ext = os.path.splitext(audio[0])[1]
            n += 1
            out = os.path.join(dst, f"Track{n:05d}")
            os.makedirs(os.path.join(out, "stems"), exist_ok=True)
            with open(os.path.join(out, "metadata.yaml"), "w") as f:
                f.write(head + "stems:\n" + block)
            os.symlink(audio[0], os.path.join(out, "stems", m.group(1) + ext))
            os.symlink(audio[0], os.path.join(out, "mix" + ext))
    print(f"{n} solo tracks in {dst}")


if __name__ == "__main__":
    main()
