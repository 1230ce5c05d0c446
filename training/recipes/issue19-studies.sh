#!/usr/bin/env bash
# Rebuilds the data of model/STUDIES.md's "Non-music" and "Real priors" sections and runs their
# measurements again (issue 19): the non-music fine-tune against its control, the real-prior
# threshold tuning, and the latency table.
#
#   bash training/recipes/issue19-studies.sh DATA_DIR RUNS_DIR
#
# About 12 GB of audio; on 2 cores about an hour (rendering ~20 min, two fine-tunes ~8 each, the
# rest evaluation). The data is the same bytes every time; the fine-tunes vary a little from run
# to run (candle draws dropout masks from an unseeded generator).
set -euo pipefail
[ $# -eq 2 ] || { sed -n 2,10p "$0"; exit 2; }
cd "$(dirname "$0")/../.."
source scripts/ensure-tools.sh
# TimGM6mb renders the real-prior test set only (never training or tuning).
if [ ! -f /usr/share/sounds/sf2/TimGM6mb.sf2 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq timgm6mb-soundfont
fi
D=$1 R=$2
mkdir -p "$D" "$R"
cargo build --release --locked -p instrunet-training
bin=target/release/instrunet

# Non-music: 400 new composer songs, 300 non-music tracks; validation and test of both, all new.
$bin synth --roles family --dry --out $D/nm19/train --tracks 200 --seed 931
$bin synth --roles family --dry --out $D/nm19/train --tracks 200 --seed 934
$bin synth --roles family --dry --out $D/nm19/validation --tracks 60 --seed 932
$bin synth --roles family --dry --out $D/nm19/test --tracks 80 --seed 933
$bin synth --out $D/nm19nm/train --non-music --tracks 300 --seed 941
$bin synth --out $D/nm19nm/validation --non-music --tracks 30 --seed 942
$bin synth --out $D/nm19nm/test --non-music --tracks 40 --seed 943
# The 60 non-music tracks of the shipped model's measurement (83.8 %), at 48 kHz.
$bin synth --out $D/non-music-48k --non-music --tracks 60 --seed 7 --sample-rate 48000
FT="--init default --epochs 4 --steps-per-epoch 500 --lr 0.001 --mix-probability 0.3 --patience 3 --max-minutes 30 --seed 1"
$bin train $FT --data $D/nm19 --data $D/nm19nm --out $R/nm19.safetensors
$bin train $FT --data $D/nm19 --out $R/ctrl19.safetensors
$bin eval --data $D/non-music-48k --split all
for w in default $R/ctrl19.safetensors $R/nm19.safetensors; do
  weights=(); [ "$w" = default ] || weights=(--weights "$w")
  $bin eval --data $D/nm19 --split test "${weights[@]}"
  $bin eval --data $D/nm19nm --split test "${weights[@]}"
done

# Real priors: tuning songs with the training fonts, test songs with TimGM6mb (testing only).
$bin synth --roles family --dry --out $D/real/validation --priors real --tracks 120 --seed 951
$bin synth --roles family --dry --out $D/real/test-timgm --priors real --tracks 120 --seed 952 \
    --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --sample-rate 44100
$bin eval --data $D/real/test-timgm --split all
$bin eval --data $D/real/test-timgm --split all --tune-on $D/real/validation

# Latency: 12 new composer songs at 48 kHz.
$bin synth --roles family --dry --out $D/latency --tracks 12 --seed 4242 --sample-rate 48000
$bin latency --data $D/latency --json $R/latency.json
