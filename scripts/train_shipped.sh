#!/usr/bin/env bash
# The shipped model's whole lineage in one go, timed end to end: one guide, then the three training
# stages of docs/model-card.md ("How it was trained"), each a config file in experiments/recipe/ run by
# `seqdraw train --config`, each with both cores. The datasets are made
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
stage plain seqdraw train --config experiments/recipe/plain.json --data data/table2 --out "$out/plain"
stage guided seqdraw train --config experiments/recipe/guided.json --data data/table2 --out "$out/guided" \
  --init "$out/plain/final" --guide "$out/guide/classifier.safetensors"
stage adversarial seqdraw train --config experiments/recipe/adversarial.json --data data/synth-u4 --out "$out/final" \
  --init "$out/guided/final" --guide "$out/guide/classifier.safetensors"
awk '{s += $2} END {printf "total\t%d s = %.2f h\n", s, s / 3600}' "$out/times.tsv" | tee -a "$out/times.tsv"
