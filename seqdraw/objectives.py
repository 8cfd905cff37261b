"""What training minimises: the paper's bound (eq. 18-19), and the project's added terms, each one small
function, summed by `total_loss`. Every term is per image, in nats, so that a sum over a batch and a
mean over many batches mean the same thing everywhere.

    bound          -log p(x|y,z) + KL, eq. 18-19, one sample of z (the model's forward pass)
    digit weights  the reconstruction term counts pixels inside digit boxes `digit_weight` times
    guide          a frozen reader's cross-entropy on prior samples (docs/training.md)
    style match    sliced Wasserstein distance between those samples and real images (docs/training.md)

The guide is any callable guide(images [B, H, W], labels [B, 5] padded with -1, lengths [B]) -> [B]
cross-entropy, so this module needs no reader class.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from seqdraw.data.labels import MAX_LEN

Guide = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class Weights(NamedTuple):
    """How much each added term counts (0: off; all 0 and digit 1: the paper's eq. 18)."""
    digit: float = 1.0
    guide: float = 0.0
    guide_style_temperature: float = 1.0
    style: float = 0.0
    style_pool: int = 4
    style_directions: int = 64


def digit_pixel_weights(boxes: np.ndarray, weight: float, height: int, width: int) -> torch.Tensor:
    """[B, H, W]: `weight` on pixels inside any digit box (boxes [B, L, 4]: left, top, width, height),
    1 elsewhere. Zero-size padding boxes cover nothing."""
    b = torch.from_numpy(boxes.astype(np.float32))
    x = torch.arange(width, dtype=torch.float32) + 0.5
    y = torch.arange(height, dtype=torch.float32) + 0.5
    l, t, w, h = (b[..., i, None] for i in range(4))                               # B, L, 1
    inside_x = (x >= l) & (x < l + w)                                               # B, L, W
    inside_y = (y >= t) & (y < t + h)                                               # B, L, H
    inside = (inside_y[..., :, None] & inside_x[..., None, :]).any(1)               # B, H, W
    return 1 + (weight - 1) * inside.float()


def guide_cross_entropy(guide: Guide, model, labels, lengths, noise: torch.Generator,
                        style_temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the guide's cross-entropy on a sample from the prior for its labels, and the samples.
    Only the prior and the decoder learn from it (the guide is frozen): it asks the generative path
    itself, not only the reconstructions, to draw the digits it was given."""
    drawn = model.draw(labels, lengths, generator=noise, style_temperature=style_temperature).images
    padded = F.pad(labels, (0, MAX_LEN - labels.shape[1]), value=-1)
    return guide(drawn, padded, lengths), drawn


def style_distance(drawn: torch.Tensor, real: torch.Tensor, pool: int, directions: int,
                   noise: torch.Generator) -> torch.Tensor:
    """Sliced Wasserstein distance (squared W2, summed over random directions) between drawn and real
    images [B, H, W] of one length, both at 1/pool resolution: how far the samples' ground, polarity,
    contrast and layout are from the spread real images have (Deshpande et al. 2018). Sorting pairs
    the i-th smallest projection of each set, so the two sets must be the same size."""
    a = F.avg_pool2d(drawn[:, None], pool).flatten(1)
    b = F.avg_pool2d(real[:, None], pool).flatten(1)
    u = torch.randn(a.shape[1], directions, generator=noise, dtype=a.dtype, device=a.device)
    u = u / u.norm(dim=0, keepdim=True)
    pa, pb = (a @ u).sort(0).values, (b @ u).sort(0).values
    return (pa - pb).pow(2).mean(0).sum()


def total_loss(model, images, labels, lengths, noise: torch.Generator, weights: Weights = Weights(),
               pixel_weights: torch.Tensor | None = None, guide: Guide | None = None,
               drawer=None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The summed training objective of one batch, and its terms per image (for logging).

    `model` runs the bound (it may be the DDP wrapper); `drawer` is the plain model that draws the
    guide's samples (default: model)."""
    out = model(images, labels, lengths, generator=noise, pixel_weights=pixel_weights)   # eq. 18-19
    terms = {"loss": out["loss"], "recon": out["recon"], "kl": out["kl"]}
    objective = (out["recon"] + out["kl"]).sum()
    if guide is not None and weights.guide:
        ce, drawn = guide_cross_entropy(guide, drawer or model, labels, lengths, noise,
                                        weights.guide_style_temperature)
        terms["guide"] = ce
        objective = objective + weights.guide * ce.sum()
        if weights.style:
            style = style_distance(drawn, images, weights.style_pool, weights.style_directions, noise)
            terms["style"] = style.expand(len(labels))
            objective = objective + weights.style * terms["style"].sum()
    return objective, terms


@torch.no_grad()
def test_bound(model, data: dict, max_len: int, per_length: int, seed: int) -> dict[str, float]:
    """The negative bound (eq. 18), nats per image, on up to `per_length` images of each length
    1..max_len, with fixed noise: {"1": ..., "all": ...}; "all" is the mean over images. Validation
    during training and the evaluation report both use this."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    out, total, count = {}, 0.0, 0
    for L in range(1, max_len + 1):
        idx = np.flatnonzero(data["lengths"] == L)[:per_length]
        if len(idx) == 0:
            continue
        s = 0.0
        for i in range(0, len(idx), 256):
            j = idx[i: i + 256]
            images = torch.from_numpy(data["images"][j]).float().div_(255).to(device)
            labels = torch.from_numpy(data["labels"][j, :L].astype(np.int64)).to(device)
            s += model(images, labels, torch.full((len(j),), L, device=device), generator=g)["loss"].sum().item()
        out[str(L)] = s / len(idx)
        total, count = total + s, count + len(idx)
    out["all"] = total / max(count, 1)
    model.train(was_training)
    return out
