#!/usr/bin/env python3
"""General MIDI songs that people wrote for free games packaged in Debian, gathered into one
folder for `instrunet synth --midi-dir` (a test proxy only: never trained or tuned on).

Sources are folders (an unpacked package: every *.mid under them) and Doom WAD files (their
music lumps D_*, kept where the lump is a Standard MIDI File; MUS lumps are skipped and
counted). Files are named SOURCE-NAME.mid and byte-identical songs are kept once.

    python3 training/tools/game_midi.py --out DIR SOURCE...
"""

import argparse
import hashlib
import pathlib
import struct
import sys


def wad_music(path: pathlib.Path):
    """(lump name, bytes) of every music lump of a WAD that is a Standard MIDI File; and the
    number of music lumps in another format (DMX MUS)."""
    data = path.read_bytes()
    if len(data) < 12 or data[:4] not in (b"IWAD", b"PWAD"):
        raise ValueError(f"{path}: not a WAD file (no IWAD/PWAD header)")
    count, directory = struct.unpack_from("<ii", data, 4)
    if directory < 12 or directory + 16 * count > len(data):
        raise ValueError(f"{path}: its lump directory lies outside the file")
    songs, other = [], 0
    for i in range(count):
        offset, size, raw = struct.unpack_from("<ii8s", data, directory + 16 * i)
        name = raw.rstrip(b"\0").decode("ascii", "replace")
        if not name.startswith("D_") or size <= 0:
            continue
        if offset < 0 or offset + size > len(data):
            raise ValueError(f"{path}: lump {name} lies outside the file")
        lump = data[offset : offset + size]
        if lump[:4] == b"MThd":
            songs.append((name, lump))
        else:
            other += 1
    return songs, other


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("sources", nargs="+", type=pathlib.Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    kept = duplicates = 0

    def keep(name: str, data: bytes) -> None:
        nonlocal kept, duplicates
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            duplicates += 1
            return
        seen.add(digest)
        # Two different songs of one name (in two subfolders) are both kept.
        path, n = args.out / f"{name}.mid", 1
        while path.exists():
            n += 1
            path = args.out / f"{name}-{n}.mid"
        path.write_bytes(data)
        kept += 1

    for source in args.sources:
        if source.is_dir():
            for f in sorted(source.rglob("*")):
                if f.is_file() and f.suffix.lower() in (".mid", ".midi"):
                    keep(f"{source.name}-{f.stem}", f.read_bytes())
        elif source.suffix.lower() == ".wad":
            try:
                songs, other = wad_music(source)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            for name, data in songs:
                keep(f"{source.stem}-{name}", data)
            if other:
                print(f"{source}: {other} music lumps are not MIDI (skipped)")
        else:
            print(f"error: {source} is neither a folder nor a .wad file", file=sys.stderr)
            return 1
    print(f"{kept} songs in {args.out} ({duplicates} duplicates left out)")
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
