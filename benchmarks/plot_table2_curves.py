"""Issue 39's learning-curve figure: for each Table II row, the bound's reducible part and both judges
on prior samples (L = 1, 2, 3) against images seen, a line per row.

    python benchmarks/plot_table2_curves.py OUT.png --floor DATA \
        --row seqDRAW RUN docs/curves/table2-seqdraw-judges.csv --row rnnDRAW RUN2 CSV2 ...

RUN gives the bound (its metrics.jsonl; a lost run folder leaves that panel without the row), the CSV
the judges (benchmarks/judge_curve.py), so a lost run folder loses no judge point.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

from plot_bound_curves import bernoulli_floor, curve

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from seqdraw.train_config import TrainConfig  # noqa: E402


def judge_points(path: Path) -> dict:
    """{(judge, length): [(images seen, accuracy %, low %, high %)]} from a judge_curve CSV, checkpoints only."""
    out: dict = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if not r["checkpoint"].startswith("ckpt-") or not r["images_seen"]:
                continue
            out.setdefault((r["judge"], int(r["length"])), []).append(
                (int(r["images_seen"]), 100 * float(r["accuracy"]), 100 * float(r["low"]), 100 * float(r["high"])))
    return {k: sorted(v) for k, v in out.items()}


def bernoulli(run: Path) -> bool:
    """Whether the run trained under eq. 10's Bernoulli (its bound then has the floor)."""
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    return config.model.get("likelihood", "bernoulli") == "bernoulli"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--row", nargs=3, action="append", required=True, metavar=("LABEL", "RUN", "JUDGES_CSV"))
    ap.add_argument("--floor", required=True, help="the data folder whose validation images give eq. 10's floor")
    ap.add_argument("--max-len", type=int, default=4)
    ap.add_argument("--val-size", type=int, default=512)
    args = ap.parse_args()
    floor = bernoulli_floor(Path(args.floor), args.max_len, args.val_size)
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, run, judges_csv) in enumerate(args.row):
        colour = colours[i % len(colours)]
        points = curve(Path(run)) if (Path(run) / "metrics.jsonl").exists() else []
        if points and bernoulli(Path(run)):     # a logistic bound is in other units: no floor, no panel
            axes[0].plot([p["images_seen"] / 1e6 for p in points], [p["val_bound_nats"] - floor for p in points],
                         "o-", color=colour, label=label, ms=3)
        for (judge, L), pts in judge_points(Path(judges_csv)).items():
            if L > 3:
                continue
            x = [p[0] / 1e6 for p in pts]
            axes[L].plot(x, [p[1] for p in pts], "-" if judge == "multidigit" else "--", color=colour,
                         label=f"{label}, {judge}")
            axes[L].fill_between(x, [p[2] for p in pts], [p[3] for p in pts], color=colour, alpha=0.08)
    axes[0].set(title=f"bound minus eq. 10's floor ({floor:.1f} nats)", xlabel="images seen (millions)",
                ylabel="nats per image")
    for L in (1, 2, 3):
        axes[L].set(title=f"prior samples read, L = {L}", xlabel="images seen (millions)", ylabel="%", ylim=(0, 100))
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
