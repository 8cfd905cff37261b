"""DRAW's Gaussian filterbank attention (Gregor et al. 2015, eq. 19-26; this paper's eq. 9 and 12),
for a non-square canvas."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

# Filter weights below this are exactly zero. They change no pixel by a part in 10^12, but left in,
# they and their products with pixel values fall below 2^-126 into the denormal range, which x86 CPUs
# compute in microcode, many times slower (docs/performance.md).
FILTER_FLOOR = 1e-12
LOG_FILTER_FLOOR = math.log(FILTER_FLOOR)


def gaussian_filters(logits: torch.Tensor) -> torch.Tensor:
    """softmax over the last dim, with weights below FILTER_FLOOR exactly zero. The exp never sees a
    logit below the floor, so no step of the forward or backward pass makes a denormal."""
    z = logits - logits.amax(-1, keepdim=True).detach()        # softmax is shift-invariant
    w = torch.where(z > LOG_FILTER_FLOOR, z.clamp(min=LOG_FILTER_FLOOR).exp(), 0.0)
    return w / w.sum(-1, keepdim=True)                           # the maximum's weight is 1: no 0 / 0


def soft_clamp(x: torch.Tensor, limit: float) -> torch.Tensor:
    """Smoothly bound x to (-limit, limit); identity near 0, so exp() of it cannot overflow."""
    return limit * torch.tanh(x / limit)


class FilterbankAttention(nn.Module):
    """An N x N grid of 2-D Gaussian filters placed by a linear map of the decoder state.

    The five parameters (g~x, g~y, log sigma^2, log delta~, log gamma) come from W(h) (DRAW eq. 21).
    Pixel coordinates are 1-indexed as in DRAW, so g~ = 0 is the image centre (eq. 22-23), and the
    filter centres are mu_i = g + (i - (N + 1) / 2) delta for i = 1..N (eq. 19-20): symmetric about g.
    Filters are normalised with a softmax over pixels, which is exact and cannot divide by zero, with
    negligible tails cut to zero (`gaussian_filters`).
    """

    def __init__(self, in_size: int, height: int, width: int, n: int):
        super().__init__()
        self.height, self.width, self.n = height, width, n
        self.params = nn.Linear(in_size, 5)
        self.register_buffer("grid", torch.arange(1, n + 1, dtype=torch.float32) - (n + 1) / 2, persistent=False)
        self.register_buffer("px", torch.arange(1, width + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("py", torch.arange(1, height + 1, dtype=torch.float32), persistent=False)

    def forward(self, h: torch.Tensor):
        """h [B, in] -> Fy [B, N, H], Fx [B, N, W], gamma [B], and (gx, gy, delta) for pictures."""
        gx_, gy_, log_sigma2, log_delta, log_gamma = soft_clamp(self.params(h), 8.0).unbind(-1)
        gx = (self.width + 1) / 2 * (gx_ + 1)                                   # eq. 22
        gy = (self.height + 1) / 2 * (gy_ + 1)                                  # eq. 23
        delta = (max(self.height, self.width) - 1) / (self.n - 1) * log_delta.exp()   # eq. 24
        mu_x = gx[:, None] + self.grid * delta[:, None]                         # eq. 19
        mu_y = gy[:, None] + self.grid * delta[:, None]                         # eq. 20
        inv_2s2 = 0.5 * (-log_sigma2).exp()[:, None, None]
        fx = gaussian_filters(-(self.px - mu_x[..., None]) ** 2 * inv_2s2)       # eq. 25
        fy = gaussian_filters(-(self.py - mu_y[..., None]) ** 2 * inv_2s2)       # eq. 26
        return fy, fx, log_gamma.exp(), (gx, gy, delta)

    def read(self, images: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """images [B, C, H, W] -> gamma * Fy img Fx^T, flattened to [B, C * N * N] (DRAW eq. 27)."""
        fy, fx, gamma, _ = self(h)
        B, C, H, W = images.shape
        # two plain batched products (images x Fx^T first: it shrinks W to N), no broadcast copies
        cols = torch.bmm(images.reshape(B, C * H, W), fx.transpose(1, 2))          # B, C*H, N
        cols = cols.view(B, C, H, self.n).transpose(1, 2).reshape(B, H, C * self.n)
        glimpse = torch.bmm(fy, cols)                                               # B, N, C*N
        glimpse = glimpse.view(B, self.n, C, self.n).transpose(1, 2)                # B, C, N, N
        return (gamma[:, None, None, None] * glimpse).flatten(1)

    def write(self, patch: torch.Tensor, h: torch.Tensor):
        """patch [B, N, N] -> 1/gamma * Fy^T patch Fx on the canvas [B, H, W] (eq. 9)."""
        fy, fx, gamma, where = self(h)
        return torch.bmm(torch.bmm(fy.transpose(1, 2), patch / gamma[:, None, None]), fx), where
