"""Images per second of real `seqdraw train` runs, beside the plain reference and this CPU's product rate.

    python benchmarks/train_speed.py --data DIR [--steps 400] [--guide READER] [--only a,b,c]

Run it with nothing else on the machine. In one run it measures:
- the product rate: a bf16 (and fp32) [B, 1088] x [1088, 1600] product, the encoder LSTM's, with the
  threads a run uses; the share of it a run achieves is its FLOP/s over this rate;
- the plain reference (../shared/bench/reference_draw.py, batch 64, fp32, eager, T = 21), at the start
  and again at the end, so a machine that changed speed shows up;
- (a) `seqdraw train --preset seqdraw` with its defaults, lengths 1-4 of DIR (SVHN's mix for the
  renderer's default data);
- (b) the same with the shipped recipe's terms: guide, style match and discriminator;
- (c) two runs of (a) at once, each given one core (`--threads 1`).

Each run's own metrics.jsonl gives its steady rate: the median of the logged windows after the first
(the first holds compiling). Its whole rate is images seen over the process's wall time, start-up,
data loading, compiling, validation, checkpoints and sample grids included.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
ROOT = Path(__file__).resolve().parents[1]


def train_flops_per_step(enc=400, dec=400, z=100, y=20, read_n=12, write_n=12, H=32, W=64, attention=64,
                         label_dim=20) -> float:
    """FLOPs of one drawing step for one image, forward and backward (3x forward), multiply-adds x 2."""
    macs = (4 * enc * (2 * read_n ** 2 + dec + enc)          # encoder LSTM, eq. 13
            + 4 * dec * (z + y + dec)                          # decoder LSTM, eq. 7
            + enc * 2 * z + dec * 2 * z                        # posterior and prior, eq. 14, 4-5
            + dec * (write_n ** 2 + 10 + attention)            # write patch, two attention heads, W_a h
            + 2 * H * W * read_n + read_n * H * 2 * read_n     # the read filterbank, eq. 12
            + H * write_n * write_n + H * write_n * W          # the write filterbank, eq. 9
            + 4 * label_dim * attention)                       # U_a d over up to 4 digits, eq. 17
    return 3 * 2 * macs


def product_rate(batch: int, threads: int, dtype: torch.dtype, seconds: float = 2.0) -> float:
    """GFLOP/s of [batch, 1088] x [1088, 1600] with `threads` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(batch, 1088, dtype=dtype), torch.randn(1088, 1600, dtype=dtype)
    for _ in range(20):
        a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(20):
            a @ b
        n += 20
    rate = 2 * batch * 1088 * 1600 * n / (time.perf_counter() - t0) / 1e9
    torch.set_num_threads(before)
    return rate


def reference_rate(repeats: int = 5) -> float | None:
    """Training images/s of the plain reference DRAW step, batch 64, fp32, eager, T = 21."""
    if not (BENCH / "reference_draw.py").exists():
        return None
    sys.path.insert(0, str(BENCH))
    from reference_draw import DRAW
    torch.manual_seed(0)
    ref = DRAW(T=21)
    opt = torch.optim.Adam(ref.parameters())
    x, y = torch.rand(64, 32 * 64), torch.rand(64, 20)
    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        loss = ref.loss(x, y, T=21)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t)
    return 64 / statistics.median(times)


def start_run(out: Path, data: str, steps: int, extra: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "seqdraw", "train", "--preset", "seqdraw", "--data", data, "--out", str(out),
           "--max-len", "4", "--max-steps", str(steps), "--log-every", "20", *extra]
    log = open(out.with_suffix(".log"), "w")
    print("  $ " + " ".join(["seqdraw"] + cmd[3:]), flush=True)
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def finish_run(proc: subprocess.Popen, out: Path, t0: float) -> dict:
    rc = proc.wait()
    wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"run {out} failed (exit {rc}); its log: {out.with_suffix('.log')}")
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    windows = [r["images_per_s"] for r in lines if "images_per_s" in r]
    seen = json.loads((out / "summary.json").read_text())["images_seen"]
    return {"steady": statistics.median(windows[1:]) if len(windows) > 1 else float("nan"),
            "whole": seen / wall, "wall": wall, "images": seen}


def run_one(out: Path, data: str, steps: int, extra: list[str]) -> dict:
    t0 = time.perf_counter()
    return finish_run(start_run(out, data, steps, extra), out, t0)


def mean_steps_per_image(data: str, max_len: int = 4, k: int = 10) -> float:
    with np.load(Path(data) / "train.npz") as z:
        lengths = z["lengths"]
    lengths = lengths[lengths <= max_len]
    return float(k * lengths.mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="a data folder with train.npz and test.npz")
    ap.add_argument("--steps", type=int, default=400, help="steps per run (the default batch: 256 images)")
    ap.add_argument("--guide", default=None, help="(b): a multidigit reader file to guide with "
                                                   "(default: the shipped judge, for speed only)")
    ap.add_argument("--only", default="a,b,c", help="which of a, b, c to run")
    ap.add_argument("--batch", type=int, default=256, help="the batch of the runs, for the product probe")
    args = ap.parse_args()
    only = set(args.only.split(","))
    cores = len(os.sched_getaffinity(0))
    guide = args.guide or str(ROOT / "seqdraw" / "weights" / "judge.safetensors")
    steps_per_image = mean_steps_per_image(args.data)
    flops_image = train_flops_per_step() * steps_per_image
    print(f"torch {torch.__version__}, {cores} cores; data {args.data}: mean T = {steps_per_image:.1f} steps, "
          f"{flops_image / 1e6:.0f} MFLOP per training image")

    bf16 = product_rate(args.batch, cores, torch.bfloat16)
    fp32 = product_rate(args.batch, cores, torch.float32)
    bf16_one = product_rate(args.batch, 1, torch.bfloat16)
    print(f"product rate [{args.batch},1088]x[1088,1600]: bf16 {bf16:.0f} GF/s, fp32 {fp32:.0f} GF/s "
          f"({cores} threads); bf16 {bf16_one:.0f} GF/s (1 thread)")
    if args.batch != 64:       # the shape of the old default batch, for comparison with earlier figures
        print(f"product rate [64,1088]x[1088,1600]: bf16 {product_rate(64, cores, torch.bfloat16):.0f} GF/s, "
              f"fp32 {product_rate(64, cores, torch.float32):.0f} GF/s ({cores} threads)")
    torch.set_num_threads(cores)
    ref0 = reference_rate()
    print(f"reference (batch 64, fp32, eager, T = 21): {ref0 or float('nan'):.0f} images/s")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "a" in only:
            a = run_one(tmp / "a", args.data, args.steps, [])
            rows.append(("(a) seqdraw, defaults", a, bf16))
        if "b" in only:
            b = run_one(tmp / "b", args.data, max(args.steps // 3, 40),
                        ["--set", "model.likelihood=logistic", "--guide", guide, "--guide-weight", "100",
                         "--style-match-weight", "100", "--adversarial-weight", "30"])
            rows.append(("(b) + guide, style match, discriminator", b, bf16))
        if "c" in only:
            t0 = time.perf_counter()
            procs = [(start_run(tmp / f"c{i}", args.data, args.steps, ["--threads", "1", "--seed", str(i)]), tmp / f"c{i}")
                     for i in range(2)]
            for i, (p, out) in enumerate(procs):
                rows.append((f"(c) two at once, run {i + 1}, 1 thread", finish_run(p, out, t0), bf16_one))
    ref1 = reference_rate()
    print(f"reference again at the end: {ref1 or float('nan'):.0f} images/s\n")

    alone = next((r[1]["steady"] for r in rows if r[0].startswith("(a)")), None)
    print("| run | steady images/s | whole run images/s (wall s) | whole / steady | GF/s | share of bf16 rate "
          "| vs reference | vs (a) alone |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r, rate in rows:
        gfs = r["steady"] * flops_image / 1e9
        vs_alone = f"{r['steady'] / alone:.2f}" if alone and name.startswith("(c)") else ""
        ref = f"{r['steady'] / ref0:.2f}x" if ref0 else ""
        print(f"| {name} | {r['steady']:.0f} | {r['whole']:.0f} ({r['wall']:.0f} s) | {r['whole'] / r['steady']:.2f} "
              f"| {gfs:.0f} | {gfs / rate:.2f} of {rate:.0f} | {ref} | {vs_alone} |")
    print("\n(b) counts the bound's pass only in its FLOPs; its prior pass, guide and discriminator are extra work.")


if __name__ == "__main__":
    main()
