"""The realism critic: how well a small CNN tells one set of images from another.

Trained afresh for every comparison, k-fold: the images are split into k folds, a critic is trained on
k - 1 of them and scores the held-out fold, and the ROC AUC is computed over all out-of-fold scores
(0.5: the sets cannot be told apart; 1: every image of one set looks less like the other set than
every image of the other). Generated images are compared with held-out data images of the same
strings, and two sets of data images give the floor beside it: what a critic of this size finds
between two draws of the same distribution. The critic sees raw pixels (brightness and contrast are
part of realism) at full resolution, so blobs, ghost strokes and a single template all count.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.metrics import bootstrap_interval, roc_auc


class Critic(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        # 32x64 -> 16x32 -> 8x16 -> 4x8
        self.net = nn.Sequential(block(1, width), block(width, 2 * width), block(2 * width, 4 * width),
                                 nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * width * 4 * 8, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images[:, None] - 0.5)[:, 0]


def _train_and_score(x_train, y_train, x_test, steps: int, seed: int, batch: int = 64) -> np.ndarray:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    critic = Critic()
    opt = torch.optim.Adam(critic.parameters(), lr=2e-3)
    batch = min(batch, len(x_train))                            # a set smaller than a batch is one batch
    done = 0
    while done < steps:                                         # a fixed number of steps, whatever the set size
        critic.train()
        perm = torch.randperm(len(x_train), generator=g)
        for i in range(0, len(perm) - batch + 1, batch):
            idx = perm[i: i + batch]
            x = x_train[idx]
            flip = torch.rand(len(x), generator=g) < 0.5          # mirror: position cues are not realism
            x[flip] = x[flip].flip(-1)
            loss = F.binary_cross_entropy_with_logits(critic(x), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            if done == steps:
                break
    critic.eval()
    with torch.no_grad():
        return torch.cat([critic(x_test[i: i + 512]) for i in range(0, len(x_test), 512)]).numpy()


def critic_auc(first: np.ndarray, second: np.ndarray, folds: int = 3, steps: int = 400, seed: int = 0) -> dict:
    """k-fold ROC AUC of a critic telling `first` (positives) from `second`; images [N, H, W] in [0, 1]
    or uint8. Image i of each set goes to the same fold, so paired images (the same string) never
    fall on both sides of a split. Returns the AUC, a bootstrap 95% interval, and the out-of-fold
    score of every image of `first` (higher: more like `first`, less real when `second` is data)."""
    def prep(a):
        t = torch.as_tensor(np.asarray(a))
        return t.float() / 255 if t.dtype == torch.uint8 else t.float()
    a, b = prep(first), prep(second)
    n = min(len(a), len(b))
    if n < 2 * folds:
        raise SeqdrawError(f"the critic needs at least {2 * folds} images of each set, got {n}")
    a, b = a[:n], b[:n]
    fold_of = np.random.default_rng(seed).permutation(n) % folds
    scores = np.zeros(2 * n, np.float32)
    x_all, y_all = torch.cat([a, b]), torch.cat([torch.ones(n), torch.zeros(n)])
    fold_all = np.concatenate([fold_of, fold_of])
    for k in range(folds):
        train, test = np.flatnonzero(fold_all != k), np.flatnonzero(fold_all == k)
        scores[test] = _train_and_score(x_all[train], y_all[train], x_all[test], steps, seed + k)
    positive = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    auc = roc_auc(scores, positive)
    rng = np.random.default_rng(seed)
    lo, hi = bootstrap_interval(lambda idx: roc_auc(scores[idx], positive[idx]), 2 * n, rng)
    return {"auc": auc, "lo": lo, "hi": hi, "images_per_set": n, "folds": folds, "steps": steps,
            "first_scores": scores[:n]}
