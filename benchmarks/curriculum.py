"""The paper's curriculum against the replay variant, under one budget, judged by one classifier.

    python benchmarks/curriculum.py --data data/synth-u4 --classifier runs/classifier-u4/classifier.safetensors \
        [--max-len 3] [--epochs 2] [--size 128] [--per-length 300] [--out runs/curriculum]

Both runs share data, seed, model size and epochs per stage; only the schedule differs:
  paper  - stage L trains on L-digit numbers only (section III-D);
  replay - stage L also replays shorter lengths (30% of its batches).
The question is whether the paper's schedule forgets the short lengths by the end: the per-length
test bound (nats per image, lower is better) answers it even before the classifier can read the
samples of either model.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqdraw.data.shards import load_splits
from seqdraw.evaluate.report import evaluate, pct
from seqdraw.trainer import TrainConfig, train


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--max-len", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--size", type=int, default=128, help="LSTM width (the paper: 400)")
    ap.add_argument("--train-images", type=int, default=12000)
    ap.add_argument("--per-length", type=int, default=300)
    ap.add_argument("--out", default="runs/curriculum")
    args = ap.parse_args()
    train_data, test_data = load_splits(args.data)
    train_data = {k: v[: args.train_images] for k, v in train_data.items()}
    results = {}
    for curriculum in ("paper", "replay"):
        out = Path(args.out) / curriculum
        config = TrainConfig(preset="seqdraw-cur", curriculum=curriculum, data=args.data, out=str(out),
                             epochs=args.epochs, max_len=args.max_len, val_size=256,
                             model={"enc_size": args.size, "dec_size": args.size})
        summary = train(config, data=(train_data, test_data))
        report = evaluate(out / "final", args.classifier, test_data, out / "evaluation", per_length=args.per_length,
                          progress=False)
        results[curriculum] = {"sequence_accuracy": report["sequence_accuracy"], "seconds": summary["seconds"],
                               "test_bound_nats": report["test_bound_nats"]}
    Ls = [str(L) for L in range(1, args.max_len + 1)]
    # the bound shows forgetting even where the classifier cannot read either model's images yet
    print("| curriculum | " + " | ".join(f"accuracy L={L}" for L in Ls) + " | "
          + " | ".join(f"bound L={L}" for L in Ls) + " | train s |")
    print("|---|" + "---|" * (2 * len(Ls) + 1))
    for name, r in results.items():
        acc, bound = r["sequence_accuracy"], r["test_bound_nats"]
        print(f"| {name} | " + " | ".join(pct(acc.get(L)) for L in Ls) + " | "
              + " | ".join(f"{bound[L]:.1f}" for L in Ls) + f" | {r['seconds']:.0f} |")
    (Path(args.out) / "curriculum.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
