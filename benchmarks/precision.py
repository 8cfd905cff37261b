"""fp32 against bf16 autocast on this CPU, side by side in one run (the machine is shared: compare
within a run only): a training step of the shipped network at batch 64 (2-digit numbers, T = 20),
eager and compiled; drawing images/s per length at batch 256; one 2-digit number's latency.

    python benchmarks/precision.py
"""
import statistics
import time

import numpy as np
import torch

import seqdraw
from seqdraw.data.synth import generate
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.objectives import total_loss


def median_time(fn, repeats, warm=2):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def training(compiled: bool):
    torch.manual_seed(0)
    data = generate(400, seed=0)
    idx = np.flatnonzero(data["lengths"] == 2)[:64]
    images = torch.from_numpy(data["images"][idx]).float() / 255
    labels = torch.from_numpy(data["labels"][idx, :2].astype(np.int64))
    lengths = torch.full((len(idx),), 2)
    model = ConditionalDRAW(preset("seqdraw-cur", label_attention="scheduled"))
    if compiled:
        model.use_compiled()
    opt = torch.optim.Adam(model.parameters(), 1e-5)
    out = {}
    for precision in ("fp32", "bf16"):
        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = total_loss(model, images, labels, lengths, torch.Generator().manual_seed(0)).total
            opt.zero_grad()
            loss.float().backward()
            opt.step()
        out[precision] = len(idx) / median_time(step, 6)
    return out


def main():
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for compiled in (False, True):
        r = training(compiled)
        name = "compiled" if compiled else "eager"
        print(f"training, batch 64, L=2, {name:8s}: fp32 {r['fp32']:6.0f} images/s, bf16 {r['bf16']:6.0f} "
              f"images/s ({r['bf16'] / r['fp32']:.2f}x)", flush=True)
    for compiled in (False, True):
        drawers = {p: seqdraw.load(precision=p) for p in ("fp32", "bf16")}
        if compiled:
            for d in drawers.values():
                d.model.use_compiled()
        for L in range(1, 5):
            number = "6842"[:L]
            rates = {p: 256 / median_time(lambda: d.generate(number, n=256, seed=0), 3) for p, d in drawers.items()}
            print(f"drawing, batch 256, L={L}, {'compiled' if compiled else 'eager':8s}: fp32 {rates['fp32']:6.0f}, "
                  f"bf16 {rates['bf16']:6.0f} images/s ({rates['bf16'] / rates['fp32']:.2f}x)", flush=True)
        lat = {p: 1000 * median_time(lambda: d.generate("68", n=1, seed=0), 50) for p, d in drawers.items()}
        print(f"one 2-digit number, {'compiled' if compiled else 'eager':8s}: fp32 {lat['fp32']:.2f} ms, "
              f"bf16 {lat['bf16']:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
