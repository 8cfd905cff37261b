"""The training bound of runs side by side, from their metrics.jsonl (docs/performance.md's fp32 vs bf16):
    python benchmarks/plot_bound_curves.py OUT.png runs/prec-fp32 runs/prec-bf16"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(out, runs):
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for run in map(Path, runs):
        rows = [json.loads(line) for line in open(run / "metrics.jsonl")]
        train = [(r["step"], r["loss"]) for r in rows if "loss" in r and "event" not in r]
        val = [(r["step"], r["val_bound_nats"]) for r in rows if "val_bound_nats" in r]
        line, = ax.plot(*zip(*train), lw=0.8, alpha=0.8, label=f"{run.name}: training objective per batch (digit weight 4; L varies by batch)")
        ax.plot(*zip(*val), "o-", color=line.get_color(), label=f"{run.name}: validation bound (fp32 arithmetic)")
    ax.set_xlabel("step (batch 32)")
    ax.set_ylabel("nats per image")
    ax.set_ylim(top=3000)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
