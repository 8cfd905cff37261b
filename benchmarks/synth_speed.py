"""Synthetic generator throughput on one core (target >= 1,000 images/s).

    python benchmarks/synth_speed.py [--n 2000]

The glyph cache is warmed first (a one-off cost per font and size, reported separately).
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from seqdraw.data.synth import generate  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    t = time.perf_counter()
    generate(3000, seed=123)
    warm = time.perf_counter() - t
    rates = []
    for rep in range(3):
        t = time.perf_counter()
        generate(args.n, seed=rep)
        rates.append(args.n / (time.perf_counter() - t))
    print(f"warm-up (3000 images, fills the glyph cache): {warm:.1f} s")
    print(f"steady state, one process: {max(rates):.0f} images/s (best of 3; all: {', '.join(f'{r:.0f}' for r in rates)})")


if __name__ == "__main__":
    main()
