"""Where do synthetic crops still differ from real ones? A small CNN learns to tell synthetic 32x32
crops from the 500 real SVHN crops in ../shared (5-fold: every crop is scored by a model that never
saw it), then prints the ROC AUC and saves the crops it finds easiest on each side.

    python benchmarks/domain_gap.py [--samples 2000] [--seed 0]

AUC 0.5: the two sets are indistinguishable to this CNN; 1.0: always told apart. The real crops it is
surest about are what the generator does not make yet; the synthetic ones, what it makes that real
photos do not have. Read the figures, not just the number: the CNN finds any difference, useful or not.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from seqdraw.data.synth import generate
from seqdraw.pictures import grid, save_png
from synth_to_real import DEV, real_grey_crops, standardise


def critic() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000, help="synthetic numbers (2,500 of their crops are used)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default="docs/figures", help="folder for domain_gap_real.png and domain_gap_synth.png")
    args = ap.parse_args()
    if not DEV.exists():
        raise SystemExit(f"{DEV} not present: this benchmark needs the real dev crops")
    torch.manual_seed(args.seed)
    crops = generate(args.samples, seed=2000 + args.seed, crops=True)["crops"]
    synth = crops[np.random.default_rng(args.seed).permutation(len(crops))[:2500]]
    real = real_grey_crops()[0]
    X = torch.cat([standardise(synth), standardise(real)])
    Y = torch.cat([torch.zeros(len(synth)), torch.ones(len(real))])
    fold = torch.arange(len(X)) % 5
    score = torch.zeros(len(X))
    for k in range(5):
        train, test = fold != k, fold == k
        model, (Xt, Yt) = critic(), (X[train], Y[train])
        weight = torch.where(Yt == 1, len(synth) / len(real), 1.0)          # the classes count equally
        opt = torch.optim.Adam(model.parameters(), 2e-3)
        for _ in range(args.epochs):
            perm = torch.randperm(len(Xt))
            for i in range(0, len(Xt), 128):
                j = perm[i: i + 128]
                loss = F.binary_cross_entropy_with_logits(model(Xt[j]).squeeze(1), Yt[j], weight=weight[j])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            score[test] = model(X[test]).squeeze(1)
    s_synth, s_real = score[: len(synth)], score[len(synth):]
    auc = (s_real[:, None] > s_synth[None]).float().mean().item()
    out = Path(args.out)
    save_png(out / "domain_gap_real.png", grid(real[torch.argsort(s_real, descending=True)[:48].numpy()], 16), scale=2)
    save_png(out / "domain_gap_synth.png", grid(synth[torch.argsort(s_synth)[:48].numpy()], 16), scale=2)
    print(f"RESULT synthetic vs real crops, 5-fold CNN critic: ROC AUC {auc:.3f} (0.5: indistinguishable); "
          f"figures {out / 'domain_gap_real.png'} (real crops least like synthetic ones), "
          f"{out / 'domain_gap_synth.png'} (synthetic crops least like real ones)")


if __name__ == "__main__":
    main()
