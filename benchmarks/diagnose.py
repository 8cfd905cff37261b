"""Where does a model lose the digits: in the decoder, or between the labels and the prior?

    python benchmarks/diagnose.py --model MODEL --classifier CLF --data DATA [--per-length 500]

For held-out test images of each length, the classifier reads three things:
  real            the test images themselves (the classifier's ceiling),
  reconstruction  sigmoid(c_T) of the inference pass, with z from the posterior (the image is seen),
  sample          an image drawn from the prior for the same label sequence (the image is not seen).
A decoder that cannot draw digits fails on reconstructions too; a model whose labels do not reach
the prior reconstructs well and samples badly.
"""
import argparse

import numpy as np
import torch

from seqdraw.checkpoint import load_model
from seqdraw.data.shards import data_folder, load_shard
from seqdraw.evaluate.classifier import load_judge
from seqdraw.evaluate.metrics import accuracy_by_length, sequence_correct
from seqdraw.evaluate.report import generate_for
from seqdraw.pictures import grid, save_png, to_uint8


@torch.no_grad()
def reconstruct(model, images, labels, lengths, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    out = np.zeros(images.shape, np.float32)
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        for i in range(0, len(idx), 256):
            j = idx[i: i + 256]
            x = torch.from_numpy(images[j]).float() / 255
            lab = torch.from_numpy(labels[j, :L].astype(np.int64))
            out[j] = torch.sigmoid(model(x, lab, torch.full((len(j),), int(L)), generator=g)["logits"]).numpy()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--classifier", required=True)
    ap.add_argument("--data", required=True, help="a data folder; its test.npz is used")
    ap.add_argument("--per-length", type=int, default=500)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--style-temperature", dest="style_temperature", type=float, default=None,
                    help="temperature of z_1 alone (default: --temperature)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", help="also a PNG: for each length, rows real / reconstruction / sample, 8 each")
    args = ap.parse_args()
    model, meta = load_model(args.model)
    model.eval()
    clf = load_judge(args.classifier, meta)
    data = load_shard(data_folder(args.data) / "test.npz")
    max_len = int(meta.get("max_len", model.config.max_len))
    keep = np.concatenate([np.flatnonzero(data["lengths"] == L)[: args.per_length] for L in range(1, max_len + 1)])
    images, labels = data["images"][keep], data["labels"][keep].astype(np.int64)
    lengths = data["lengths"][keep].astype(np.int64)
    sets = {
        "real": images.astype(np.float32) / 255,
        "reconstruction": reconstruct(model, images, labels, lengths, args.seed),
        "sample": generate_for(model, labels, lengths, args.seed, progress=False, temperature=args.temperature,
                               style_temperature=args.style_temperature),
    }
    print(f"{args.model}: sequence accuracy on {len(keep)} test images ({args.per_length} per length), "
          f"temperature {args.temperature:g}")
    for name, x in sets.items():
        pl, pd = clf.predict(torch.from_numpy(x))
        acc = accuracy_by_length(sequence_correct(pl, pd, lengths, labels), lengths)
        print(f"  {name:15s}" + "  ".join(f"L={k}: {100 * v:5.1f}%" for k, v in acc.items()))
    if args.figure:
        rows = [to_uint8(x[np.flatnonzero(lengths == L)[:8]]) for L in range(1, max_len + 1) for x in sets.values()]
        save_png(args.figure, grid(np.concatenate(rows), cols=8), scale=2)
        print(f"figure -> {args.figure}")


if __name__ == "__main__":
    main()
