"""The second judge: a CTC sequence recogniser (Shi, Bai & Yao 2015, "CRNN"), of another family than the
multi-digit classifier.

Convolutions turn the 32x64 image into 32 columns of features, a BiLSTM reads the columns left to right
and back, and a CTC head (Graves et al. 2006) emits a digit or a blank per column. It reads a whole
number without a length head and without digit positions, so it shares no blind spot with a classifier
that predicts "length 3, digit 2 at position 1". It is trained with strong augmentation (blur, noise,
contrast and polarity, small warps, JPEG), on synthetic data from seeds no generative model uses.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from seqdraw.readers.classifier import standardise

BLANK = 10                            # CTC's blank; classes 0-9 are the digits


@dataclass
class CTCConfig:
    width: int = 32                   # channels of the first conv block (then 2x, 3x, 3x)
    hidden: int = 128                 # BiLSTM units per direction


class CTCRecogniser(nn.Module):
    arch = "ctc"

    def __init__(self, config: CTCConfig | None = None):
        super().__init__()
        self.config = c = config or CTCConfig()
        w = c.width

        def block(i, o, pool):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(pool))
        # 32x64 -> 16x32 -> 8x32 -> 4x32 -> 2x32: the width stays at 32 columns, enough for a blank
        # between two equal digits of a four-digit number
        self.conv = nn.Sequential(block(1, w, 2), block(w, 2 * w, (2, 1)), block(2 * w, 3 * w, (2, 1)),
                                  block(3 * w, 3 * w, (2, 1)))
        self.rnn = nn.LSTM(3 * w * 2, c.hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * c.hidden, 11)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 2 hidden]: the BiLSTM's outputs averaged over the columns (for feature distances)."""
        return self.columns(images).mean(1)

    def columns(self, images: torch.Tensor) -> torch.Tensor:
        f = self.conv(standardise(images))                       # [B, C, 2, 32]
        f = f.flatten(1, 2).transpose(1, 2)                      # [B, 32, C*2]
        return self.rnn(f)[0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[B, 32, 11] log-probabilities per column."""
        return self.head(self.columns(images)).log_softmax(-1)

    def loss(self, images, labels, lengths) -> torch.Tensor:
        """CTC loss (Graves et al. 2006, eq. 14), mean over the batch; labels [B, 5] padded with -1."""
        logp = self(images)
        targets = labels[labels >= 0]                            # concatenated, as ctc_loss takes them
        T = torch.full((len(images),), logp.shape[1], dtype=torch.long)
        return F.ctc_loss(logp.transpose(0, 1), targets, T, lengths, blank=BLANK, reduction="mean",
                          zero_infinity=True)

    @torch.no_grad()
    def read(self, images: torch.Tensor, batch: int = 512) -> list[str]:
        """Greedy CTC decoding: the best class per column, repeats merged, blanks dropped."""
        self.eval()
        out = []
        for i in range(0, len(images), batch):
            best = self(images[i: i + batch]).argmax(-1).numpy()
            for row in best:
                keep = np.concatenate([[True], row[1:] != row[:-1]]) & (row != BLANK)
                out.append("".join(map(str, row[keep].tolist())))
        return out

    @staticmethod
    def augment(images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Strong augmentation: warps, blur, contrast, polarity, noise and JPEG, each drawn per image."""
        n = images.shape[0]
        u = lambda *shape: torch.rand(*shape, generator=g)               # noqa: E731
        angle = (u(n) - 0.5) * 0.16                                       # about +-4.6 degrees
        scale = 1 + (u(n) - 0.5) * 0.3
        shear = (u(n) - 0.5) * 0.3
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = scale * torch.cos(angle)
        theta[:, 0, 1] = -torch.sin(angle) * 0.5 + shear * 0.5            # the frame is twice as wide as tall
        theta[:, 1, 0] = torch.sin(angle) * 2
        theta[:, 1, 1] = scale * torch.cos(angle)
        theta[:, :, 2] = (u(n, 2) - 0.5) * torch.tensor([0.12, 0.2])
        grid = F.affine_grid(theta, (n, 1, *images.shape[1:]), align_corners=False)
        x = F.grid_sample(images[:, None], grid, padding_mode="border", align_corners=False)
        sigma = u(n) * 1.2                                                # Gaussian blur, sigma 0-1.2 px
        r = torch.arange(-2, 3, dtype=torch.float32)
        k = torch.exp(-r[None] ** 2 / (2 * sigma[:, None].clamp(min=0.05) ** 2))
        k = k / k.sum(1, keepdim=True)                                    # [n, 5]
        x = F.pad(x, (2, 2, 2, 2), mode="replicate").transpose(0, 1)     # [1, n, H+4, W+4], a group per image
        x = F.conv2d(x, k.view(n, 1, 1, 5), groups=n)
        x = F.conv2d(x, k.view(n, 1, 5, 1), groups=n).transpose(0, 1)[:, 0]
        mean = x.mean(dim=(1, 2), keepdim=True)
        x = (x - mean) * (0.5 + 0.9 * u(n, 1, 1)) + mean + (u(n, 1, 1) - 0.5) * 0.3
        flip = u(n) < 0.3                                                 # dark on light and light on dark
        x[flip] = 1 - x[flip]
        x = x + torch.randn(x.shape, generator=g) * (u(n, 1, 1) * 0.035)
        x = x.clamp(0, 1)
        jpeg = torch.nonzero(u(n) < 0.3).flatten().tolist()
        quality = (20 + 60 * u(n)).long()
        for i in jpeg:
            buf = io.BytesIO()
            Image.fromarray((x[i].numpy() * 255).round().astype(np.uint8)).save(buf, "JPEG",
                                                                                  quality=int(quality[i]))
            x[i] = torch.from_numpy(np.asarray(Image.open(buf), np.float32) / 255)
        return x
