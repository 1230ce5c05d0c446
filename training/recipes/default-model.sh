#!/usr/bin/env bash
# Rebuilds the data of the embedded default model (model/weights/instrunet-default.safetensors)
# and trains it again, both stages, as model/MODEL_CARD.md describes ("How it was trained").
#
#   bash training/recipes/default-model.sh DATA_DIR
#
# DATA_DIR takes tens of GB (over 100 hours of audio, stems and mixes). The split hashes corpus
# pieces by their MIDI file's path, so the same DATA_DIR path gives the same split; the shipped
# model was made with DATA_DIR=/work/data. Rendering takes hours on 2 cores and training about
# two (model/STUDIES.md has the measured times).
set -euo pipefail
[ $# -eq 1 ] || { sed -n 2,9p "$0"; exit 2; }
cd "$(dirname "$0")/../.."
source scripts/ensure-tools.sh
D=$1
mkdir -p runs
cargo build --release -p instrunet-training
bin=target/release/instrunet
for s in 11 12 13; do $bin synth --roles family --dry --out $D/synthaf-a --tracks 250 --seed $s; done
$bin synth --roles family --dry --out $D/synthaf-b --tracks 250 --seed 14
for s in 15 16; do $bin synth --roles family --dry --out $D/synthaf-c --tracks 250 --seed $s; done
$bin synth --roles family --dry --out $D/synthaf-e --tracks 250 --seed 17
python3 -m venv /tmp/m21 && /tmp/m21/bin/pip install -r training/tools/requirements-corpus.txt
# Both stages exported the corpus with the tool as of a947c2e (pieces named by file stem, twin
# encodings kept); the current tool orders and names some pieces differently.
git show a947c2e:training/tools/corpus_to_midi.py > /tmp/corpus_to_midi.py
/tmp/m21/bin/python /tmp/corpus_to_midi.py --out $D/corpus-midi --pieces 400 --seed 1
$bin synth --roles family --dry --out $D/synthaf-b --midi-dir $D/corpus-midi --arrange --seed 21
# Pieces 401-1400 of the same order, alternately into two folders rendered side by side.
/tmp/m21/bin/python /tmp/corpus_to_midi.py --out $D/corpus-all --pieces 1400 --seed 1
mkdir -p $D/corpus-midi2 $D/corpus-midi3; i=0
for f in $D/corpus-all/*.mid; do
  [ -f $D/corpus-midi/$(basename $f) ] && continue
  cp $f $D/corpus-midi$((2 + i % 2))/; i=$((i + 1))
done
$bin synth --roles family --dry --out $D/synthaf-d --midi-dir $D/corpus-midi2 --arrange --seed 22
$bin synth --roles family --dry --out $D/synthaf-f --midi-dir $D/corpus-midi3 --arrange --seed 23
DATA=$(for d in a b c d e f; do echo --data $D/synthaf-$d; done)
$bin train $DATA --out runs/lr4.safetensors --epochs 9 --steps-per-epoch 1600 \
    --max-minutes 85 --patience 3 --seed 1 --pool-bands 8 --lr 0.004
$bin baseline $DATA --out runs/baseline-more.safetensors --epochs 6 --steps-per-epoch 1600 --patience 3 --seed 1
$bin eval $DATA --weights runs/lr4.safetensors --baseline runs/baseline-more.safetensors
# The 131 test songs the fourth model was tested on: the same command on synthaf-a and -b only.

# Stage 2: fine-tune stage 1's runs/lr4.safetensors (the sixth model) on new songs.
for s in 903 904 905; do $bin synth --roles family --dry --out $D/ftA/train --tracks 200 --seed $s; done
for s in 906 907 908; do $bin synth --roles family --dry --out $D/ftB/train --tracks 200 --seed $s; done
for s in 909 910 911; do $bin synth --roles family --dry --out $D/ftC/train --tracks 200 --seed $s; done
for s in 912 913 914; do $bin synth --roles family --dry --out $D/ftD/train --tracks 200 --seed $s; done
for s in 915 916 917; do $bin synth --roles family --dry --out $D/ftG/train --tracks 200 --seed $s; done
$bin synth --roles family --dry --out $D/fresh-901 --tracks 120 --seed 901     # validation
$bin synth --roles family --dry --out $D/fresh-902 --tracks 200 --seed 902     # test
ln -s $D/fresh-901 $D/ftB/validation; ln -s $D/fresh-902 $D/ftB/test
P="/tmp/m21/bin/python /tmp/corpus_to_midi.py --seed 1 --jobs 1"
$P --out $D/corpus-old --pieces 400
$P --out $D/corpus-old2 --pieces 600 --skip 400
$P --out $D/corpus-new --pieces 400 --skip 1500
$bin synth --roles family --dry --out $D/ftF/train --midi-dir $D/corpus-old --arrange --seed 26
$bin synth --roles family --dry --out $D/ftH/train --midi-dir $D/corpus-old2 --arrange --seed 27
# corpus-new alternately (sorted names, the first to test) into a test and a fine-tune half.
mkdir -p $D/corpus-new-test $D/corpus-new-ft; i=0
for f in $(ls $D/corpus-new/*.mid | sort); do
  cp $f $D/corpus-new-$([ $((i % 2)) = 0 ] && echo test || echo ft)/; i=$((i + 1))
done
$bin synth --roles family --dry --out $D/ctest --midi-dir $D/corpus-new-test --arrange --seed 24
$bin synth --roles family --dry --out $D/ftE/train --midi-dir $D/corpus-new-ft --arrange --seed 25
mkdir $D/ftE/validation; i=0   # every fourth track of the fine-tune half validates
for t in $(ls $D/ftE/train | sort); do
  [ $((i % 4)) = 3 ] && mv $D/ftE/train/$t $D/ftE/validation/; i=$((i + 1))
done
mkdir $D/ctest-excluded; mv $D/ctest/Track00033 $D/ctest-excluded/  # op. 18/1 ii, twin in corpus-old2
ln -s $D/ctest $D/ftE/test
DATA2=$(for d in ftA ftB ftC ftD ftG ftE ftF ftH; do echo --data $D/$d; done)
$bin train --init runs/lr4.safetensors $DATA2 --out runs/ft7.safetensors --epochs 5 \
    --steps-per-epoch 1500 --lr 0.001 --mix-probability 0 --max-minutes 45 --patience 3 --seed 1
$bin baseline $DATA2 --out runs/base7.safetensors --epochs 5 --steps-per-epoch 1500 --patience 3 --seed 1
$bin eval --data $D/fresh-902 --data $D/ctest --split all --weights runs/ft7.safetensors \
    --baseline runs/base7.safetensors
