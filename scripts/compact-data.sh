#!/usr/bin/env bash
# Stores Slakh-format data folders as FLAC instead of WAV, losslessly and in place, as Slakh2100's
# own "flac_redux" release does: `synth` writes 16-bit WAV, which for rendered songs (stems mostly
# silent) takes 2-3 times the disk. The readers take either (`mix.flac`, `stems/S00.flac`), and the
# samples are the same, so every window, label and metric is too; only the window cache's keys
# (names and dates) change, so `train` and `eval` compute each track's windows once more.
#
#   bash scripts/compact-data.sh DIR...
#
# Each file is encoded, checked by decoding (`flac --verify`) and only then its WAV removed; a cut
# run leaves the WAVs it had not finished, so running it again completes it. Symbolic links to
# converted files (the `data solo` sets link to their songs' stems) are pointed at the FLACs.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash scripts/compact-data.sh DIR..." >&2; exit 2; }
for d in "$@"; do [ -d "$d" ] || { echo "error: $d is not a folder" >&2; exit 2; }; done
if ! command -v flac >/dev/null; then
  echo "installing flac (Debian's FLAC encoder)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y flac; else sudo apt-get install -y flac; fi
fi
jobs=$(nproc 2>/dev/null || echo 2)
before=$(du -sk "$@" | awk '{s += $1} END {print s}')
# -f: a FLAC left by a cut run is written anew; the WAV beside it is still the original.
find "$@" -type f -name '*.wav' -print0 |
  xargs -0 -r -P "$jobs" -n 64 flac -5 --verify --silent -f --delete-input-file ||
  echo "warning: flac could not convert some files (named above); they stay WAV and still load" >&2
# Links whose WAV became a FLAC: the same link, named .flac, to the FLAC.
fixed=0
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in *.wav) ;; *) continue ;; esac
  [ -e "$link" ] && continue
  flac_target=${target%.wav}.flac
  ( cd "$(dirname "$link")" && [ -e "$flac_target" ] ) || continue
  ln -sfn "$flac_target" "${link%.wav}.flac"
  rm "$link"
  fixed=$((fixed + 1))
done < <(find "$@" -type l -name '*.wav' -print0)
after=$(du -sk "$@" | awk '{s += $1} END {print s}')
left=$(find "$@" -type f -name '*.wav' | wc -l)
broken=$(find "$@" -xtype l | wc -l)
echo "$((before / 1024)) MiB -> $((after / 1024)) MiB; $fixed links now point at FLACs; $left WAV files left; $broken broken links"
