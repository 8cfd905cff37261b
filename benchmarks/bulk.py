"""Bulk drawing: images/s per length and batch size, eager and compiled (one graph per length: the
whole T-step drawing, no Python between steps), fp32 and bf16, side by side in one run (the machine is
shared: compare within a run only). The shipped weights.

    python benchmarks/bulk.py [--batches 64 256 1024 2048] [--lengths 1 2 3 4]
"""
import argparse
import time

import torch

import seqdraw


def images_per_s(model, L: int, batch: int, bf16: bool, seconds: float = 1.5) -> float:
    labels, lengths = torch.randint(0, 10, (batch, L)), torch.full((batch,), L)
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        model.generate(labels, lengths, generator=g)                 # warm: compiles this length
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds or n < 2:
            model.generate(labels, lengths, generator=g)
            n += 1
        return n * batch / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024, 2048])
    ap.add_argument("--lengths", type=int, nargs="+", default=[1, 2, 3, 4])
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; images/s")
    arms = {"eager": seqdraw.load().model.eval(), "compiled": seqdraw.load().model.eval().use_compiled()}
    print("| arm | precision | batch | " + " | ".join(f"L={L}" for L in args.lengths) + " |")
    print("|---|---|---|" + "---|" * len(args.lengths))
    for name, model in arms.items():
        for bf16 in (False, True):
            for batch in args.batches:
                rates = [images_per_s(model, L, batch, bf16) for L in args.lengths]
                print(f"| {name} | {'bf16' if bf16 else 'fp32'} | {batch} | "
                      + " | ".join(f"{r:,.0f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
