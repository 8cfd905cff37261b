"""Training and sampling speed of seqdraw's seqdraw-cur model against a plain DRAW step, in one run.

    python benchmarks/speed.py [--repeats 5] [--compile] [--model PATH]

The yardstick is ../shared/bench/reference_draw.py (a plain DRAW training step of our default size,
no label attention, no learned prior); it is imported from there, never copied. The two are timed
alternately in this one process, so a noisy machine slows both alike: compare the ratios, not the
absolute numbers. A training step is forward + backward + Adam step.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seqdraw.model.pretrained import load_model
from seqdraw.data.synth import SVHN_LENGTH_PROBS
from seqdraw.model import ConditionalDRAW, preset

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def timed(fn, repeats: int) -> float:
    fn()                                            # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ours_train_step(model, opt, B: int, L: int, bf16: bool = False):
    x = torch.rand(B, 32, 64)
    labels = torch.randint(0, 10, (B, L))
    lengths = torch.full((B,), L)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(x, labels, lengths)["loss"].float().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def ref_train_step(ref, opt, B: int, T: int):
    x, y = torch.rand(B, 32 * 64), torch.rand(B, 20)

    def step():
        loss = ref.loss(x, y, T=T)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also time seqdraw with torch.compile")
    ap.add_argument("--bf16", action="store_true", help="also time training under CPU bf16 autocast")
    ap.add_argument("--model", default=None,
                    help="a model file for the single-number latency and the `seqdraw generate 42` start-up timing")
    args = ap.parse_args()
    torch.manual_seed(0)
    ref_cls = None
    if (BENCH / "reference_draw.py").exists():
        sys.path.insert(0, str(BENCH))
        from reference_draw import DRAW as ref_cls  # noqa: N813
    else:
        print(f"{BENCH} not present: timing seqdraw alone")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    # fixed T = 21: our model with k = 21 steps per digit and one-digit labels
    fixed = ConditionalDRAW(preset("seqdraw-cur", steps_per_digit=21))
    variants = [("seqdraw-cur", fixed)]
    if args.compile:
        compiled = ConditionalDRAW(preset("seqdraw-cur", steps_per_digit=21))
        compiled.load_state_dict(fixed.state_dict())
        variants.append(("seqdraw-cur compiled", compiled.use_compiled()))
    print("\n## training images/s, fixed T = 21")
    rows = []
    for B in (64, 128):
        res = {}
        for name, m in variants:
            res[name] = B / timed(ours_train_step(m, torch.optim.Adam(m.parameters()), B, 1), args.repeats)
            if args.bf16:
                res[f"{name} bf16"] = B / timed(ours_train_step(m, torch.optim.Adam(m.parameters()), B, 1, bf16=True),
                                                args.repeats)
        if ref_cls:
            ref = ref_cls(T=21)
            res["reference"] = B / timed(ref_train_step(ref, torch.optim.Adam(ref.parameters()), B, 21), args.repeats)
        rows.append((B, res))
        line = ", ".join(f"{k} {v:.0f}" for k, v in res.items())
        ratio = ("; ratio seqdraw/reference " + ", ".join(f"{res[n] / res['reference']:.2f}x ({n})" for n, _ in variants)
                 if ref_cls else "")
        print(f"batch {B}: {line}{ratio}")

    # mixed lengths from the SVHN distribution, one length per batch (T = 10 L), same plan for both
    print("\n## training images/s, lengths drawn from SVHN (T = 10 L per batch), batch 64")
    model = ConditionalDRAW(preset("seqdraw-cur"))
    opt = torch.optim.Adam(model.parameters())
    rng = np.random.default_rng(0)
    plan = rng.choice(5, size=4 * args.repeats, p=np.array(SVHN_LENGTH_PROBS) / sum(SVHN_LENGTH_PROBS)) + 1
    mixed = {"seqdraw-cur": (model, opt)}
    if args.compile:
        mixed_compiled = ConditionalDRAW(preset("seqdraw-cur"))
        mixed_compiled.load_state_dict(model.state_dict())
        mixed["seqdraw-cur compiled"] = (mixed_compiled.use_compiled(), torch.optim.Adam(mixed_compiled.parameters()))
    # timed() warms each length up first, so compilation is not counted
    seconds = {name: sum(timed(ours_train_step(m, o, 64, int(L)), 1) for L in plan) for name, (m, o) in mixed.items()}
    line = ", ".join(f"{name} {64 * len(plan) / t:.0f}" for name, t in seconds.items())
    if ref_cls:
        ref = ref_cls(T=10)
        ropt = torch.optim.Adam(ref.parameters())
        ref_t = sum(timed(ref_train_step(ref, ropt, 64, 10 * int(L)), 1) for L in plan)
        line += f", reference {64 * len(plan) / ref_t:.0f}; ratio " + ", ".join(
            f"{ref_t / t:.2f}x ({name})" for name, t in seconds.items())
    print(line)

    print("\n## training cost by length, batch 64 (seqdraw-cur)")
    base = None
    for L in range(1, 6):
        t = timed(ours_train_step(model, opt, 64, L), max(2, args.repeats // 2))
        base = base or t
        print(f"L={L} (T={10 * L}): {64 / t:.0f} images/s, {t / base:.2f}x the cost of L=1")

    print("\n## sampling, batch 64, T = 21")
    labels, lengths = torch.randint(0, 10, (64, 1)), torch.ones(64, dtype=torch.long)
    sampled = {"seqdraw-cur": 64 / timed(lambda: fixed.generate(labels, lengths), args.repeats)}
    if args.compile:
        sampled["compiled"] = 64 / timed(lambda: compiled.generate(labels, lengths), args.repeats)
    line = ", ".join(f"{k} {v:.0f}" for k, v in sampled.items()) + " images/s"
    if ref_cls:
        ref = ref_cls(T=21)
        ref_s = 64 / timed(lambda: ref.sample(torch.rand(64, 20)), args.repeats)
        line += f", reference {ref_s:.0f}; ratio " + ", ".join(f"{v / ref_s:.2f}x ({k})" for k, v in sampled.items())
    print(line)

    # the trained weights when given: how wide the filters are decides how much work they do
    one = load_model(args.model)[0].eval() if args.model else model
    print(f"\n## single 2-digit number, latency (median of 3 interleaved rounds of 100, warm; "
          f"{'weights of ' + args.model if args.model else 'untrained weights'})")
    lab, ln = torch.tensor([[4, 2]]), torch.tensor([2])
    g = torch.Generator().manual_seed(0)
    single = {"seqdraw-cur": lambda: one.generate(lab, ln, generator=g)}
    if args.compile:
        compiled_one = ConditionalDRAW(one.config).eval()
        compiled_one.load_state_dict(one.state_dict())
        compiled_one.use_compiled()
        single["compiled"] = lambda: compiled_one.generate(lab, ln, generator=g)
    if ref_cls:
        ref = ref_cls(T=20)
        single["reference"] = lambda: ref.sample(torch.rand(1, 20))
    times = {name: [] for name in single}
    for fn in single.values():
        fn()                                               # warm-up (and compilation)
    for _ in range(3):                                     # interleaved: a noisy spell hits all alike
        for name, fn in single.items():
            for _ in range(100):
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    print(", ".join(f"{name} {1e3 * statistics.median(ts):.2f} ms" for name, ts in times.items()))
    print(f"\npeak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    if args.model:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "seqdraw", "generate", "42", "--model", args.model, "--out", f"{d}/42.png"], check=True,
                           capture_output=True)
            print(f"\n`seqdraw generate 42` end to end (process start to PNG written): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
