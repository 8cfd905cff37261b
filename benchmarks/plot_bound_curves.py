"""Validation bound against images seen, a line per run, from each run's metrics.jsonl; also a CSV.

    python benchmarks/plot_bound_curves.py OUT.png RUN[=LABEL] ... [--csv OUT.csv] [--floor DATA]

--floor DATA subtracts eq. 10's irreducible part from Bernoulli runs: a grey pixel x in (0, 1) costs at
least its binary entropy H(x) nats however good the model, so the bound's reducible part is the bound
minus the mean over the validation images of sum_pixels H(x). The validation images are the first
val_size test images of each length 1..max_len, as the trainer picks them (seqdraw.objectives.test_bound).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from seqdraw.train_config import TrainConfig  # noqa: E402


def bernoulli_floor(data: Path, max_len: int, per_length: int) -> float:
    """Mean over the validation images of sum_pixels H(x), in nats."""
    with np.load(data / "test.npz") as z:
        images, lengths = z["images"], z["lengths"]
    total, count = 0.0, 0
    for L in range(1, max_len + 1):
        x = images[np.flatnonzero(lengths == L)[:per_length]].astype(np.float64) / 255
        p = np.clip(x, 1e-12, 1 - 1e-12)
        total += float((-(p * np.log(p) + (1 - p) * np.log(1 - p))).sum())
        count += len(x)
    return total / count


def curve(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if "val_bound_nats" in r and "images_seen" in r]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the figure (PNG)")
    ap.add_argument("runs", nargs="+", help="run folders, each optionally RUN=LABEL")
    ap.add_argument("--csv", help="also write the points: label, images_seen, step, wall_s, bound, reducible")
    ap.add_argument("--floor", metavar="DATA", help="the runs' data folder: plot the bound minus the Bernoulli floor "
                                                    "for runs with the Bernoulli likelihood")
    args = ap.parse_args()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    points = []
    for spec in args.runs:
        path, _, label = spec.partition("=")
        run = Path(path)
        config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))      # either form
        label = label or f"{run.name} (batch {config.optimiser.batch_size}, {config.run.precision})"
        floor = 0.0
        if args.floor and config.model.get("likelihood", "bernoulli") == "bernoulli":
            floor = bernoulli_floor(Path(args.floor), config.data.max_len, config.data.val_size)
        rows = curve(run)
        for r in rows:
            points.append({"label": label, "images_seen": r["images_seen"], "step": r["step"],
                           "wall_s": r.get("wall_s", ""), "bound": round(r["val_bound_nats"], 2),
                           "reducible": round(r["val_bound_nats"] - floor, 2)})
        if rows:
            ax.plot([r["images_seen"] / 1e6 for r in rows], [r["val_bound_nats"] - floor for r in rows], "o-",
                    ms=3, label=label)
    ax.set_xlabel("images seen (millions)")
    ax.set_ylabel(("bound - Bernoulli floor" if args.floor else "validation bound") + " (nats/image)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(points[0]) if points else ["label"])
            w.writeheader()
            w.writerows(points)
    print(f"{len(points)} points -> {args.out}" + (f", {args.csv}" if args.csv else ""))


if __name__ == "__main__":
    main()
