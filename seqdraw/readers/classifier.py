"""The judge: a Goodfellow et al. (2013) style multi-digit classifier for 32x64 grey images.

A convolutional trunk, a length head (1..5 and "more") and five digit heads (positions from the
left). Sequence accuracy counts an image right only when the length and every digit are right.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from seqdraw.data.labels import MAX_LEN

LENGTH_CLASSES = MAX_LEN + 1        # 1..5, and "more than 5" (never seen in our data, kept as in [5])


@dataclass
class ClassifierConfig:
    width: int = 48                 # channels of the first conv block, doubled twice
    hidden: int = 512
    dropout: float = 0.3


def standardise(images: torch.Tensor) -> torch.Tensor:
    """[B, H, W] in [0, 1] -> [B, 1, H, W] with zero mean, unit variance per image (polarity-neutral scale)."""
    x = images - images.mean(dim=(1, 2), keepdim=True)
    return (x / (x.std(dim=(1, 2), keepdim=True) + 0.03)).unsqueeze(1)


class MultiDigitClassifier(nn.Module):
    arch = "multidigit"

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = c = config or ClassifierConfig()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        w = c.width
        # 32x64 -> 16x32 -> 8x16 -> 4x8 -> 2x4: four blocks, kept lean for a 2-core CPU
        self.trunk = nn.Sequential(block(1, w), block(w, 2 * w), block(2 * w, 4 * w), block(4 * w, 4 * w),
                                   nn.Flatten(), nn.Dropout(c.dropout), nn.Linear(4 * w * 2 * 4, c.hidden),
                                   nn.ReLU(), nn.Dropout(c.dropout))
        self.length_head = nn.Linear(c.hidden, LENGTH_CLASSES)
        self.digit_heads = nn.Linear(c.hidden, MAX_LEN * 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate features (for the Frechet distance)."""
        return self.trunk(standardise(images))

    def forward(self, images: torch.Tensor):
        h = self.features(images)
        return self.length_head(h), self.digit_heads(h).view(-1, MAX_LEN, 10)

    def cross_entropies(self, images, labels, lengths):
        """The length's cross-entropy [B] and each digit's [B, 5] (0 where labels, [B, 5], hold -1)."""
        length_logits, digit_logits = self(images)
        length = F.cross_entropy(length_logits, (lengths - 1).clamp(max=LENGTH_CLASSES - 1), reduction="none")
        digit = F.cross_entropy(digit_logits.flatten(0, 1), labels.clamp(min=0).flatten(), reduction="none")
        return length, digit.view(labels.shape) * (labels >= 0)

    def loss(self, images, labels, lengths):
        """Training loss: the mean length cross-entropy plus the mean over all digits of the batch."""
        length, digit = self.cross_entropies(images, labels, lengths)
        return length.mean() + digit.sum() / (labels >= 0).sum().clamp(min=1)

    def loss_per_image(self, images, labels, lengths) -> torch.Tensor:
        """[B]: the length's cross-entropy plus the sum over the image's digits (what a guide asks for)."""
        length, digit = self.cross_entropies(images, labels, lengths)
        return length + digit.sum(1)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 512):
        self.eval()
        lens, digs = [], []
        for i in range(0, len(images), batch):
            length_logits, digit_logits = self(images[i: i + batch])
            lens.append(length_logits.argmax(1) + 1)
            digs.append(digit_logits.argmax(2))
        return torch.cat(lens).numpy(), torch.cat(digs).numpy()

    def read(self, images: torch.Tensor, batch: int = 512) -> list[str]:
        """The digit string read in each image: the predicted length's first digits."""
        lengths, digits = self.predict(images, batch)
        return ["".join(map(str, d[:L].tolist())) for L, d in zip(lengths, digits)]

    @staticmethod
    def augment(images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return augment(images, g)


def augment(images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Small shifts and scalings, contrast and brightness jitter: what generated images vary in."""
    n = images.shape[0]
    s = 1 + (torch.rand(n, generator=g) - 0.5) * 0.16
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = s, s
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) - 0.5) * torch.tensor([0.08, 0.12])
    grid = F.affine_grid(theta, (n, 1, *images.shape[1:]), align_corners=False)
    x = F.grid_sample(images[:, None], grid, padding_mode="border", align_corners=False)[:, 0]
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, generator=g)
    mean = x.mean(dim=(1, 2), keepdim=True)
    x = (x - mean) * contrast + mean + (torch.rand(n, 1, 1, generator=g) - 0.5) * 0.2
    blur = torch.rand(n, generator=g) < 0.3                  # generated images are softer than data
    if blur.any():
        k = torch.tensor([0.25, 0.5, 0.25])
        xb = x[blur][:, None]
        xb = F.conv2d(F.pad(xb, (1, 1, 0, 0), mode="replicate"), k.view(1, 1, 1, 3))
        xb = F.conv2d(F.pad(xb, (0, 0, 1, 1), mode="replicate"), k.view(1, 1, 3, 1))
        x[blur] = xb[:, 0]
    return x.clamp(0, 1)
