"""-log p(x | c_T): how the final canvas scores an image, per pixel, in nats.

  bernoulli  the paper's eq. 10: sigmoid(c_T) is the mean of a Bernoulli for each grey level x in
             [0, 1]. On grey images it is not a likelihood of the data (it has no normalised density
             over grey levels), and it scores a blurred edge almost as well as a sharp one: a pixel
             of grey 0.5 costs 0.69 nats whatever the model says.
  logistic   a discretised logistic over the 256 grey levels (PixelCNN++, Salimans et al. 2017) with
             mean sigmoid(c_T) and one learned scale for the whole image set: a true likelihood of
             8-bit images, in which a confident, sharp canvas pays off and a blur costs nats at every
             edge.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LEVELS = 256
HALF_BIN = 0.5 / (LEVELS - 1)           # grey levels k / 255, k = 0..255, each owns [x - HALF_BIN, x + HALF_BIN]


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Eq. 10, per pixel."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def discretised_logistic_nll(logits: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log P(x) per pixel for x on the 256 grey levels of [0, 1]: the mass a logistic of mean
    sigmoid(logits) and scale exp(log_scale) puts on x's bin, the two end bins taking the tails, so the
    256 probabilities sum to 1 (tested)."""
    inv_scale = torch.exp(-log_scale)
    centred = x - torch.sigmoid(logits)
    upper = inv_scale * (centred + HALF_BIN)
    lower = inv_scale * (centred - HALF_BIN)
    log_cdf_upper = upper - F.softplus(upper)                  # log sigmoid(upper): the lowest bin
    log_survival_lower = -F.softplus(lower)                    # log (1 - sigmoid(lower)): the highest bin
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    mid = inv_scale * centred                                  # a bin too narrow for the difference:
    log_density_mid = mid - log_scale - 2 * F.softplus(mid)    # density at its centre x bin width
    inner = torch.where(mass > 1e-5, torch.log(mass.clamp(min=1e-12)),
                        log_density_mid + math.log(2 * HALF_BIN))
    log_p = torch.where(x < HALF_BIN, log_cdf_upper, torch.where(x > 1 - HALF_BIN, log_survival_lower, inner))
    return -log_p


def logistic_scale_from(residuals: torch.Tensor) -> float:
    """The scale of the logistic whose mean absolute deviation (2 ln 2 times its scale) is the
    residuals': where the logistic's scale starts for a model that learned under another likelihood."""
    return max(float(residuals.abs().mean()) / (2 * math.log(2)), HALF_BIN)
