"""How well `--style-from` carries an example's look, and what it costs in legibility (issue 37).

    python benchmarks/style_transfer.py --data DATA [--model recipe] [--n 400] [--figure OUT.png]

For N test images (the examples, balanced by length), one random string each is drawn in that
example's style (its z_1, ConditionalDRAW.style_code) and once without (the same noise otherwise).
Each picture is summarised by its look at low resolution: the 4x8 block means of the image (ground,
lighting, polarity), centred on the image mean but not scaled. Printed:
  - distance of a styled sample to its own example, against to a random other example (a ratio below 1:
    the look is carried), and the same for the unstyled samples (about 1);
  - the ground level (median pixel) of samples against their examples: mean absolute gap;
  - both judges on the styled and the unstyled samples, with 95% intervals.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

import seqdraw
from seqdraw.data.labels import encode
from seqdraw.data.shards import data_folder, load_shard
from seqdraw.evaluate.judges import load_judge, shipped_judge_paths
from seqdraw.evaluate.metrics import wilson_interval
from seqdraw.evaluate.report import random_strings
from seqdraw.model.sampling import sample_by_length, seeded
from seqdraw.pictures import grid, save_png, to_uint8
from seqdraw.readers import read_correct


def looks(images: np.ndarray) -> np.ndarray:
    """[N, 32] block means (4x8 blocks of 8x8 pixels), each image's mean removed from the pattern but
    kept as a 33rd value: ground level, lighting and polarity, not the digits."""
    x = torch.as_tensor(images, dtype=torch.float32)
    x = x / 255 if x.max() > 1.5 else x
    blocks = F.avg_pool2d(x[:, None], 8).flatten(1)
    return torch.cat([blocks - blocks.mean(1, keepdim=True), blocks.mean(1, keepdim=True)], 1).numpy()


def carried(samples: np.ndarray, examples: np.ndarray, rng: np.random.Generator) -> dict:
    a, b = looks(samples), looks(examples)
    own = np.linalg.norm(a - b, axis=1)
    other = np.linalg.norm(a - b[rng.permutation(len(b))], axis=1)
    ground = np.abs(np.median(samples.reshape(len(samples), -1), 1) -
                    np.median(examples.reshape(len(examples), -1).astype(np.float32) / 255, 1))
    return {"own": float(np.median(own)), "random": float(np.median(other)),
            "ratio": float(np.median(own) / np.median(other)), "ground_gap": float(ground.mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default=None)
    args = ap.parse_args()
    drawer = seqdraw.load(args.model)
    model, max_len = drawer.model, drawer.max_len
    test = load_shard(data_folder(args.data) / "test.npz")
    rng = np.random.default_rng(args.seed)
    rows = np.concatenate([rng.permutation(np.flatnonzero(test["lengths"] == L))[: args.n // max_len]
                           for L in range(1, max_len + 1)])
    examples = test["images"][rows]
    strings = [random_strings(int(rng.integers(1, max_len + 1)), 1, False, rng)[0] for _ in rows]
    labels, lengths = encode(strings)
    codes = model.style_code(torch.from_numpy(examples).float() / 255)
    styled = sample_by_length(model, labels, lengths, seeded(args.seed), style=codes)
    plain = sample_by_length(model, labels, lengths, seeded(args.seed))
    print(f"{len(rows)} examples from {args.data}, model {args.model or 'recipe (shipped)'}")
    for name, samples in (("styled", styled), ("unstyled", plain)):
        c = carried(samples, examples, np.random.default_rng(args.seed + 1))
        print(f"{name:9s} look distance to own example {c['own']:.3f}, to a random example {c['random']:.3f}: "
              f"ratio {c['ratio']:.3f}; ground-level gap {c['ground_gap']:.3f}")
        for path in shipped_judge_paths():
            judge, meta = load_judge(path, {})
            ok = read_correct(judge.eval(), samples, labels, lengths)
            lo, hi = wilson_interval(int(ok.sum()), len(ok))
            print(f"          {meta.get('arch', path.stem)} judge reads {100 * ok.mean():.1f}% "
                  f"({100 * lo:.1f}-{100 * hi:.1f})")
    if args.figure:
        pick = np.arange(0, len(rows), max(1, len(rows) // 8))[:8]
        save_png(args.figure, np.concatenate([grid(examples[pick], cols=8), grid(to_uint8(styled[pick]), cols=8),
                                              grid(to_uint8(plain[pick]), cols=8)]), scale=3)
        print(f"-> {args.figure} (rows: examples; drawn in their style; drawn without)")


if __name__ == "__main__":
    main()
