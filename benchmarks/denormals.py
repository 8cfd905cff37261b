"""How much denormal floats cost the filterbank, and what cutting the filter tails buys.

    python benchmarks/denormals.py

Narrow Gaussian filters have tails of 1e-30 and below; they and their products with pixel values are
denormal, which x86 CPUs compute in microcode. `seqdraw.model.attention.gaussian_filters` sets weights
below FILTER_FLOOR to exact zeros. This times the read's first batched product on filters taken from a
training step, with the tails cut and with a plain softmax, and the plain reference DRAW step with and
without torch.set_flush_denormal (docs/performance.md).
"""
import statistics
import sys
import time
from pathlib import Path

import torch

import seqdraw.model.attention as attention
from seqdraw.model import ConditionalDRAW, preset

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def median_us(fn, n: int = 100) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e6 * statistics.median(times)


def captured_filters(model, plain: bool):
    """fx of the read attention at the 5th step of a training pass, batch 64 (untrained weights)."""
    seen = []
    hook = model.read_attention.register_forward_hook(lambda m, i, out: seen.append(out[1].detach()))
    cut, attention.gaussian_filters = attention.gaussian_filters, lambda z: torch.softmax(z, -1)
    if not plain:
        attention.gaussian_filters = cut
    try:
        g = torch.Generator().manual_seed(0)
        model(torch.rand(64, 32, 64, generator=g), torch.randint(0, 10, (64, 2), generator=g),
              torch.full((64,), 2), generator=g)
    finally:
        attention.gaussian_filters = cut
        hook.remove()
    return seen[4]


def main():
    torch.manual_seed(0)
    model = ConditionalDRAW(preset("seqdraw-cur"))
    images = torch.rand(64, 64, 64)                                  # [B, C * H, W] as the read sees it
    tiny = torch.finfo(torch.float32).tiny
    print("read: bmm([64, 64, 64], [64, 64, 12]), median of 100")
    for name, plain in (("plain softmax", True), ("tails below 1e-12 cut", False)):
        fx = captured_filters(model, plain)
        denormal = ((fx > 0) & (fx < tiny)).float().mean().item()
        us = median_us(lambda: torch.bmm(images, fx.transpose(1, 2)))
        print(f"  {name:22s} {100 * denormal:4.1f}% denormal weights: {us:7.1f} us")
    if not (BENCH / "reference_draw.py").exists():
        print(f"{BENCH} not present: no reference timing")
        return
    sys.path.insert(0, str(BENCH))
    from reference_draw import DRAW
    ref = DRAW(T=21)
    opt = torch.optim.Adam(ref.parameters())
    x, y = torch.rand(64, 32 * 64), torch.rand(64, 20)

    def step():
        loss = ref.loss(x, y, T=21)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("reference training step, batch 64, T = 21, alternating")
    for _ in range(2):
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            print(f"  set_flush_denormal({flush}): {64e6 / median_us(step, 4):.0f} images/s")
    torch.set_flush_denormal(False)


if __name__ == "__main__":
    main()
