#!/usr/bin/env bash
# The eight Pipe programs playing one tune alone, dry, in TimGM6mb and in each training font,
# measured with the embedded model: pipe-alone.md. Needs the release `instrunet` and /tmp/m21
# (the recipe's venv: mido, numpy).
#   bash training/runs/issue19-v25/corpus-dbl/pipe-alone/pipe-alone.sh WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); cd "$here/../../../../.."
W=$1; bin=${INSTRUNET_BIN:-target/release/instrunet}; py=/tmp/m21/bin/python
rm -rf "$W"; mkdir -p "$W"
$py "$here/pipe_alone.py" midi "$W/midi"
for f in TimGM6mb sf_GMbank FluidR3_GM OPL-3_FM_128M; do
  $bin synth --midi-dir "$W/midi" --out "$W/$f" --dry --soundfont /usr/share/sounds/sf2/$f.sf2 \
      --sample-rate 44100 --seed 3 > /dev/null
  $bin eval --data "$W/$f" --split all --predictions "$W/pred-$f.csv" > /dev/null
done
$py "$here/pipe_alone.py" table "$W"/pred-{TimGM6mb,sf_GMbank,FluidR3_GM,OPL-3_FM_128M}.csv > "$here/pipe-alone.md"
cat "$here/pipe-alone.md"
