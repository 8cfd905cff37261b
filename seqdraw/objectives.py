"""What training minimises: the paper's bound (eq. 18-19), and the project's added terms, each one small
function, summed by `total_loss`. Every term is per image, in nats, so that a sum over a batch and a
mean over many batches mean the same thing everywhere.

    bound          -log p(x|y,z) + KL, eq. 18-19, one sample of z (the model's forward pass)
    digit weights  the reconstruction term counts pixels inside digit boxes `digit_weight` times
    guide          a frozen reader's cross-entropy on prior samples, or on random views of them
    style match    sliced Wasserstein distance between those samples and real images
    adversarial    a discriminator's verdict on those samples (its own loss: `discriminator_loss`)

(docs/training.md says what each added term does; the dated notes in docs/notes, what each did when tried.) `ObjectiveConfig` declares
every knob of them once; adding a term means a field there and a function here. The guide is any
callable, so this module needs no reader class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from seqdraw.data.labels import MAX_LEN
from seqdraw.errors import SeqdrawError
from seqdraw.model.discriminator import Discriminator
from seqdraw.settings import check_fields, from_dict, setting

Guide = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ObjectiveConfig:
    """What training minimises: every knob of the added terms, declared once. All at their defaults (no
    guide, no discriminator, digit weight 1) it is the paper's eq. 18."""
    digit_weight: float = setting(1.0, "weight of pixels inside digit boxes in the reconstruction term "
                                       "(1: the paper's bound)", lo=1, hi=1000)
    guide: str = setting("", "a multidigit reader file: prior samples must read back as their labels")
    guide_weight: float = setting(100.0, "nats of the bound per nat of the guide's cross-entropy",
                                  lo=0, exclusive="lo", hi=1e6)
    guide_style_temperature: float = setting(1.0, "temperature of z_1 in the guide's samples", lo=0, hi=100)
    style_match_weight: float = setting(0.0, "with a guide: nats per unit of sliced Wasserstein distance "
                                             "between its samples and the batch's images (0: off)", lo=0, hi=1e6)
    style_match_pool: int = setting(4, "pooling factor of the style match's resolution", lo=1, hi=32)
    style_match_directions: int = setting(64, "random projections per step of the style match", lo=1, hi=100_000)
    guide_views: bool = setting(False, "with a guide: it reads a random view of each sample (shift, scale, blur, "
                                       "contrast), not the sample itself")
    adversarial_weight: float = setting(0.0, "nats per nat of a discriminator's loss on prior samples (0: off; "
                                             "VAE-GAN, docs/training.md)", lo=0, hi=1e6)
    adversary_lr: float = setting(2e-4, "the discriminator's learning rate (Adam, betas 0.5, 0.999)",
                                  lo=0, exclusive="lo", hi=10)
    adversary_width: int = setting(32, "channels of the discriminator's first convolution", lo=1, hi=1024)

    def __post_init__(self):
        check_fields(self)
        if self.style_match_weight and not self.guide:
            raise SeqdrawError("style_match_weight needs a guide: the images it compares are the guide's samples")
        if self.guide_views and not self.guide:
            raise SeqdrawError("guide_views needs a guide: the views are what the guide reads")
        defaults = ObjectiveConfig.__dataclass_fields__
        unused = [k for k in ("adversary_lr", "adversary_width") if getattr(self, k) != defaults[k].default]
        if unused and not self.adversarial_weight:
            raise SeqdrawError(f"{', '.join(unused)} set without adversarial_weight: there is no discriminator to train")

    @classmethod
    def from_dict(cls, d: dict, what: str = "objective") -> "ObjectiveConfig":
        return from_dict(cls, d, what)


class Batch(NamedTuple):
    images: torch.Tensor                    # [B, H, W] in [0, 1]
    labels: torch.Tensor                    # [B, L]
    lengths: torch.Tensor                   # [B]
    pixel_weights: torch.Tensor | None = None   # [B, H, W], digit_pixel_weights


class Critics(NamedTuple):
    """The networks the added terms consult: a frozen guide (any callable guide(images [B, H, W], labels
    [B, 5] padded with -1, lengths [B]) -> [B] cross-entropy) and a discriminator that trains beside the
    model (`trained_critics`)."""
    guide: Guide | None = None
    discriminator: torch.nn.Module | None = None


def trained_critics(objective: ObjectiveConfig, height: int, width: int) -> dict[str, tuple]:
    """The networks an objective trains beside the model, each with its optimiser: what the trainer steps
    and checkpoints with the model ({} for the paper's objective)."""
    if not objective.adversarial_weight:
        return {}
    adversary = Discriminator(objective.adversary_width, height, width)
    return {"adversary": (adversary, torch.optim.Adam(adversary.parameters(), lr=objective.adversary_lr,
                                                      betas=(0.5, 0.999)))}


class Objective(NamedTuple):
    total: torch.Tensor                     # the scalar to minimise (a sum over the batch)
    terms: dict[str, torch.Tensor]          # each term per image, for logging
    drawn: torch.Tensor | None              # the prior samples the added terms judged, if any


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


def prior_samples(model, labels, lengths, noise: torch.Generator, style_temperature: float = 1.0) -> torch.Tensor:
    """One sample from the prior per label row, with gradients (eq. 3-10): what the guide, the style match
    and the discriminator judge. Only the prior and the decoder learn from those terms: they ask the
    generative path itself, not only the reconstructions, to draw the digits it was given."""
    return model.draw(labels, lengths, generator=noise, style_temperature=style_temperature).images


def guide_cross_entropy(guide: Guide, drawn: torch.Tensor, labels, lengths) -> torch.Tensor:
    """Per image: the frozen guide's cross-entropy (length and digits, nats) on drawn images."""
    padded = F.pad(labels, (0, MAX_LEN - labels.shape[1]), value=-1)
    return guide(drawn, padded, lengths)


def random_views(images: torch.Tensor, noise: torch.Generator) -> torch.Tensor:
    """A random, differentiable view of each image [B, H, W]: shifted up to 2 px, scaled 0.9-1.1, blurred
    up to 0.6 of the way to a 3x3 box blur, contrast 0.6-1.2 and brightness +-0.15 about mid-grey. A
    guide that reads every view cannot be satisfied by one exact arrangement of pixels: the strokes must
    read whatever the framing (the guide's own blind spots move with the view)."""
    B, H, W = images.shape
    u = torch.rand(B, 6, generator=noise, dtype=images.dtype, device=images.device)
    scale = 0.9 + 0.2 * u[:, 0]
    theta = torch.zeros(B, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0], theta[:, 1, 1] = scale, scale
    theta[:, 0, 2] = (u[:, 1] * 2 - 1) * 2 * 2 / W                  # +-2 px in grid units
    theta[:, 1, 2] = (u[:, 2] * 2 - 1) * 2 * 2 / H
    grid = F.affine_grid(theta, (B, 1, H, W), align_corners=False)
    x = F.grid_sample(images[:, None], grid, padding_mode="border", align_corners=False)
    blur = 0.6 * u[:, 3, None, None, None]
    x = (1 - blur) * x + blur * F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    contrast = (0.6 + 0.6 * u[:, 4])[:, None, None, None]
    brightness = (u[:, 5] * 0.3 - 0.15)[:, None, None, None]
    return ((x - 0.5) * contrast + 0.5 + brightness).clamp(0, 1)[:, 0]


def adversarial_loss(discriminator, drawn: torch.Tensor) -> torch.Tensor:
    """Per image, the generator's side: -log D(drawn), the non-saturating GAN loss (Goodfellow et al.
    2014), in nats. The discriminator's own weights take no step from it (the trainer's optimiser holds
    only the generator)."""
    return F.softplus(-discriminator(drawn))


def discriminator_loss(discriminator, real: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """The discriminator's side, on detached samples (so it cannot move the generator): per pair,
    -log D(real) - log(1 - D(drawn))."""
    return F.softplus(-discriminator(real)) + F.softplus(discriminator(drawn.detach()))


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


def total_loss(model, batch: Batch, objective: ObjectiveConfig, critics: Critics, noise: torch.Generator,
               drawer=None) -> Objective:
    """The summed training objective of one batch, its terms per image (for logging), and the prior
    samples the added terms judged.

    `model` runs the bound (it may be the DDP wrapper); `drawer` is the plain model that draws the
    prior samples (default: model). The guide's terms count only when critics.guide is given."""
    images, labels, lengths = batch.images, batch.labels, batch.lengths
    out = model(images, labels, lengths, generator=noise, pixel_weights=batch.pixel_weights)   # eq. 18-19
    terms = {"loss": out["loss"], "recon": out["recon"], "kl": out["kl"]}
    total = (out["recon"] + out["kl"]).sum()
    guided = critics.guide is not None
    if not (guided or objective.adversarial_weight):
        return Objective(total, terms, None)
    drawn = prior_samples(drawer or model, labels, lengths, noise, objective.guide_style_temperature)
    if guided:
        seen = random_views(drawn, noise) if objective.guide_views else drawn
        terms["guide"] = guide_cross_entropy(critics.guide, seen, labels, lengths)
        total = total + objective.guide_weight * terms["guide"].sum()
        if objective.style_match_weight:
            style = style_distance(drawn, images, objective.style_match_pool, objective.style_match_directions, noise)
            terms["style"] = style.expand(len(labels))
            total = total + objective.style_match_weight * terms["style"].sum()
    if objective.adversarial_weight:
        terms["adversarial"] = adversarial_loss(critics.discriminator, drawn)
        total = total + objective.adversarial_weight * terms["adversarial"].sum()
    return Objective(total, terms, drawn)


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
