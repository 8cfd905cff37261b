"""How far are a model's samples from real images as a set? The style match's distance (sliced
Wasserstein at low resolution, seqdraw.trainer.style_distance) on batches of one length.

    python benchmarks/style_distance.py --model MODEL --data DATA [--batches 10] [--temperature 1]

Prints, per length, the mean over batches of 32 of: two real batches (the estimator's floor) and
the model's samples for the first batch's labels against the second batch. Then, over all of
those samples and real images: the share of saturated pixels (below 0.05 or above 0.95; a model
that games pixel distances with blotches has many) and percentiles of each image's mean brightness.
"""
import argparse

import numpy as np
import torch

from seqdraw.checkpoint import load_model
from seqdraw.data.shards import data_folder, load_shard
from seqdraw.trainer import style_distance


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="seqdraw/weights/seqdraw.safetensors")
    ap.add_argument("--data", default="data/synth-u4")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--pool", type=int, default=4)
    ap.add_argument("--directions", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model, meta = load_model(args.model)
    model.eval()
    data = load_shard(data_folder(args.data) / "train.npz")
    g, rng = torch.Generator().manual_seed(args.seed), np.random.default_rng(args.seed)
    print(f"style distance, batches of 32, pool {args.pool}, {args.directions} directions, "
          f"temperature {args.temperature:g}: real vs real | samples vs real")
    samples, reals = [], []
    for L in range(1, int(meta.get("max_len", model.config.max_len)) + 1):
        pool = np.flatnonzero(data["lengths"] == L)
        if len(pool) < 64:
            continue
        floor, ours = [], []
        for _ in range(args.batches):
            i, j = rng.choice(pool, 32, replace=False), rng.choice(pool, 32, replace=False)
            a, b = (torch.from_numpy(data["images"][k]).float() / 255 for k in (i, j))
            labels = torch.from_numpy(data["labels"][i, :L].astype(np.int64))
            drawn = model.generate(labels, torch.full((32,), L), generator=g, temperature=args.temperature).images
            floor.append(style_distance(a, b, args.pool, args.directions, g).item())
            ours.append(style_distance(drawn, b, args.pool, args.directions, g).item())
            samples.append(drawn.numpy())
            reals.append(b.numpy())
        print(f"L={L}: {np.mean(floor):.2f} | {np.mean(ours):.2f}")
    samples, reals = np.concatenate(samples), np.concatenate(reals)
    saturated = lambda x: 100 * float(((x < 0.05) | (x > 0.95)).mean())  # noqa: E731
    print(f"saturated pixels: samples {saturated(samples):.1f}%, real {saturated(reals):.1f}%")
    q = lambda x: " / ".join(f"{v:.2f}" for v in np.percentile(x.mean((1, 2)), [10, 50, 90]))  # noqa: E731
    print(f"mean brightness, 10 / 50 / 90th percentiles: samples {q(samples)}, real {q(reals)}")


if __name__ == "__main__":
    main()
