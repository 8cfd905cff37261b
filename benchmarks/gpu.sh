#!/usr/bin/env bash
# The whole GPU job in one script, within 10 minutes of wall time: install from the package registries,
# measure training and sampling speed, train for $MINUTES minutes, and write figures and a checkpoint
# under $OUT (the device tool's folder when it is set). Without CUDA it runs the CPU fallback (--smoke).
#   OUT=runs/gpu MINUTES=5 bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}
MINUTES=${MINUTES:-5}
python -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0"
pip install -q -e .
SMOKE=""
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || SMOKE="--smoke"
python benchmarks/gpu_run.py --out "$OUT" --minutes "$MINUTES" $SMOKE
