"""A discriminator on prior samples (VAE-GAN, Larsen et al. 2016; ScrabbleGAN, Fogel et al. 2020): a small
convolutional network that tells full-resolution drawn numbers from real ones. It is not part of the
paper's network and is used only in training (`adversarial_weight`, docs/training.md); the generator
learns from it through prior samples only, like the guide.

Spectral normalisation (Miyato et al. 2018) on every layer keeps it Lipschitz, so its gradients stay
useful to the generator without a gradient penalty (which would need a second backward pass).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm


class Discriminator(nn.Module):
    """images [B, H, W] in [0, 1] -> one logit each (high: real). Three stride-2 convolutions see the
    whole 32x64 frame at full resolution, then a linear layer reads the 4x8 map."""

    def __init__(self, width: int = 32, height: int = 32, image_width: int = 64):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, w, 4, 2, 1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * w, 4 * w, 4, 2, 1)), nn.LeakyReLU(0.2),
        )
        self.head = spectral_norm(nn.Linear(4 * w * (height // 8) * (image_width // 8), 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images[:, None] * 2 - 1).flatten(1)).squeeze(-1)
