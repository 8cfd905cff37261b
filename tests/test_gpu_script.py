"""benchmarks/gpu.sh's job on a machine without CUDA: the CPU fallback runs the same path end to end
(measure, train for a fixed time, stop with SIGTERM, which checkpoints) and writes its figures."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_gpu_job_cpu_fallback(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_run.py"), "--out", str(tmp_path),
                          "--minutes", "0.25", "--smoke"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["device"] == "cpu (fallback)" and figures["checkpoint"]
    assert figures["training_exit"] in (0, 130) and figures["latency_ms_one_2digit_compiled"] > 0
    assert all(v > 0 for k, v in figures.items() if k.startswith("train_images_per_s"))
    assert (Path(figures["checkpoint"]) / "model.safetensors").exists()
