"""Both shipped judges on prior samples of a training run's checkpoints: the judges' column of a
learning curve (issue 39), appended to a CSV so that a lost run folder loses no point.

    python benchmarks/judge_curve.py RUN --csv docs/curves/NAME-judges.csv [--per-length 200] [--max-len 4]
        [--every 1000]

For each complete checkpoint of RUN (and best/, final/) not yet in the CSV: one prior sample of each of
`--per-length` random seen strings per length (the strings `seqdraw evaluate` draws, seed 0,
temperature 1), read by the multidigit and the CTC judge. Each row: checkpoint, step, images seen,
length, judge, accuracy, its 95% Wilson interval.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch

from seqdraw.checkpoint import complete_checkpoints
from seqdraw.model.pretrained import load_model
from seqdraw.data.labels import encode
from seqdraw.evaluate.judges import load_judge, shipped_judge_paths
from seqdraw.evaluate.metrics import wilson_interval
from seqdraw.readers import read_correct
from seqdraw.evaluate.report import random_strings

FIELDS = ["checkpoint", "step", "images_seen", "length", "judge", "accuracy", "low", "high", "n"]


def images_seen(run: Path, step: int) -> int | None:
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("step") == step and "images_seen" in r:
            return r["images_seen"]
    return None


@torch.no_grad()
def judge_checkpoint(path: Path, judges: dict, per_length: int, max_len: int) -> list[dict]:
    model, meta = load_model(path)
    model.eval()
    rows = []
    g = torch.Generator().manual_seed(0)
    for L in range(1, max_len + 1):
        strings = random_strings(L, per_length, False, np.random.default_rng([0, L]))
        labels, lengths = encode(strings)
        images = model.generate(torch.from_numpy(labels), torch.from_numpy(lengths), generator=g).images
        for name, reader in judges.items():
            correct = read_correct(reader, images, labels, lengths)
            lo, hi = wilson_interval(int(correct.sum()), len(correct))
            rows.append({"length": L, "judge": name, "accuracy": round(float(correct.mean()), 4),
                         "low": round(lo, 4), "high": round(hi, 4), "n": len(correct), "step": meta.get("step")})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--per-length", type=int, default=200)
    ap.add_argument("--max-len", type=int, default=4)
    ap.add_argument("--every", type=int, default=0,
                    help="judge only checkpoints whose step is a multiple of this (and final/); 0: all")
    args = ap.parse_args()
    run, out = Path(args.run), Path(args.csv)
    done = set()
    if out.is_file():
        with open(out) as f:
            done = {(r["checkpoint"], r["step"]) for r in csv.DictReader(f)}
    judges = {}
    for path in shipped_judge_paths():
        reader, meta = load_judge(path, {})
        judges[meta.get("arch", path.stem)] = reader.eval()
    targets = complete_checkpoints(run) + [run / d for d in ("best", "final") if (run / d / "model.safetensors").is_file()]
    new = []
    for ckpt in targets:
        step = load_model(ckpt)[1].get("step")
        if (ckpt.name, str(step)) in done:
            continue
        if args.every and ckpt.name != "final" and (step is None or step % args.every):
            continue
        rows = judge_checkpoint(ckpt, judges, args.per_length, args.max_len)
        seen = images_seen(run, step) if step is not None else None
        for r in rows:
            new.append({"checkpoint": ckpt.name, "images_seen": seen, **r})
        print(f"{ckpt.name} (step {step}, {seen} images): " + ", ".join(
            f"L={r['length']} {r['judge']} {100 * r['accuracy']:.1f}%" for r in rows))
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = not out.is_file()
    with open(out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if fresh:
            w.writeheader()
        w.writerows({k: r[k] for k in FIELDS} for r in new)


if __name__ == "__main__":
    main()
