"""ONNX Runtime against PyTorch (eager and compiled) for the shipped model: one 2-digit number, and a
batch of 256, same machine, same run (compare ratios only: the machine is shared).

    python -m seqdraw export --onnx /tmp/seqdraw-onnx && python benchmarks/onnx_speed.py /tmp/seqdraw-onnx
"""
import json
import statistics
import sys
import time
from pathlib import Path

import onnxruntime as ort
import torch

import seqdraw


def median_time(fn, repeats, warm=2):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(folder: Path):
    info = json.loads((folder / "seqdraw-onnx.json").read_text())
    graph = info["graphs"]["2"]
    session = ort.InferenceSession(str(folder / graph["file"]))
    eager = seqdraw.load().model.eval()
    compiled = seqdraw.load().model.eval().use_compiled()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, threads {torch.get_num_threads()}")
    for batch, repeats in ((1, 200), (256, 10)):
        labels = torch.tensor([[6, 8]] * batch)
        lengths = torch.full((batch,), 2)
        eps = torch.randn(graph["steps"], batch, info["z_size"])
        tau = torch.ones(graph["steps"])
        feed = {"labels": labels.numpy(), "eps": eps.numpy(), "tau": tau.numpy()}
        rows = {"onnxruntime": lambda: session.run(None, feed),
                "torch eager": lambda: eager.generate(labels, lengths),
                "torch compiled": lambda: compiled.generate(labels, lengths)}
        for name, fn in rows.items():
            with torch.inference_mode():
                t = median_time(fn, repeats, warm=1)
            print(f"batch {batch:4d}  {name:15s} {1000 * t:8.2f} ms   {batch / t:9.0f} images/s")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
