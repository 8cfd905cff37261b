#!/usr/bin/env bash
# The shipped model's whole lineage in one go, timed end to end: one guide, then the three training
# commands of docs/model-card.md ("How it was trained"), each with both cores. The datasets are made
# beforehand (their commands are in the model card) and are not part of the time.
# Usage: scripts/train_shipped.sh OUT   (OUT must not exist; every stage writes under it)
set -euo pipefail
out=${1:?usage: scripts/train_shipped.sh OUT}
if [ -e "$out" ]; then echo "error: $out exists; choose a new folder" >&2; exit 2; fi
for d in data/table2 data/synth-u4 data/synth-guide; do
  [ -d "$d" ] || { echo "error: $d is missing; make it with the commands in docs/model-card.md" >&2; exit 2; }
done
mkdir -p "$out"
stage() {  # stage NAME COMMAND...: run it and append its wall time to OUT/times.tsv
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "== $name: $*"
  "$@"
  echo -e "$name\t$(( $(date +%s) - t0 ))" >> "$out/times.tsv"
}
stage guide seqdraw classifier train --data data/synth-guide --out "$out/guide" --width 48 --epochs 8 --seed 1
stage plain seqdraw reproduce table2 --data data/table2 --out "$out/plain" --max-steps 3500 --rows seqdraw \
  --set model.likelihood=logistic
stage guided seqdraw reproduce table2 --data data/table2 --out "$out/guided" --max-steps 500 --rows seqdraw \
  --seed 1 --set model.likelihood=logistic --set init="$out/plain/paper/seqdraw/final" \
  --set guide="$out/guide/classifier.safetensors" --set batch_size=32 --set lr=2.5e-4 \
  --set warmup_steps=50 --set compile=false
stage adversarial seqdraw train --preset seqdraw --data data/synth-u4 --out "$out/final" --max-len 4 --epochs 20 \
  --max-steps 5000 --batch-size 32 --lr 2.5e-4 --warmup-steps 50 --seed 3 \
  --init "$out/guided/paper/seqdraw/final" --set model.likelihood=logistic \
  --guide "$out/guide/classifier.safetensors" --guide-weight 100 --style-match-weight 100 --compile false \
  --adversarial-weight 30
awk '{s += $2} END {printf "total\t%d s = %.2f h\n", s, s / 3600}' "$out/times.tsv" | tee -a "$out/times.tsv"
