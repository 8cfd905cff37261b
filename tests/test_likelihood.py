"""The pixel likelihoods: the discretised logistic is a distribution over the 256 grey levels, it
rewards a sharp canvas where the Bernoulli of eq. 10 hardly does, and it trains (its scale learns)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TINY_FILE
from seqdraw.model.pretrained import load_model, save_model
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.model.likelihood import bernoulli_nll, discretised_logistic_nll



@settings(max_examples=40, deadline=None)
@given(logit=st.floats(-8, 8), log_scale=st.floats(-6, 1))
def test_the_256_levels_sum_to_one(logit, log_scale):
    levels = torch.arange(256, dtype=torch.float64) / 255
    nll = discretised_logistic_nll(torch.full((256,), logit, dtype=torch.float64),
                                   torch.tensor(log_scale, dtype=torch.float64), levels)
    assert (nll >= 0).all()
    assert torch.exp(-nll).sum().item() == pytest.approx(1.0, abs=2e-3)


def test_a_sharp_edge_pays_under_the_logistic_and_hardly_under_bernoulli():
    x = torch.tensor([0.1] * 4 + [0.9] * 4)                        # an edge, 8 pixels
    sharp = torch.logit(x)
    blurred = torch.logit(torch.full_like(x, 0.5))
    log_scale = torch.tensor(math.log(0.02))
    gain_logistic = (discretised_logistic_nll(blurred, log_scale, x) - discretised_logistic_nll(sharp, log_scale, x)).sum()
    gain_bernoulli = (bernoulli_nll(blurred, x) - bernoulli_nll(sharp, x)).sum()
    assert gain_bernoulli < 3 < 50 < gain_logistic                  # nats for the same 8 pixels


def test_logistic_model_trains_its_scale_and_keeps_the_bernoulli_default():
    assert preset("seqdraw").likelihood == "bernoulli"
    torch.manual_seed(0)
    model = ConditionalDRAW(preset("seqdraw", likelihood="logistic", **TINY_FILE))
    plain = ConditionalDRAW(preset("seqdraw", **TINY_FILE))
    assert model.num_parameters() == plain.num_parameters() + 1 and not hasattr(plain, "log_scale")
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 32, 64)) / 255).float()
    labels, lengths = torch.tensor([[1, 2], [3, -1], [4, 5]]), torch.tensor([2, 1, 2])
    out = model(images, labels, lengths, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out["loss"]).all() and (out["recon"] > 0).all()
    out["loss"].sum().backward()
    assert model.log_scale.grad is not None and model.log_scale.grad.abs() > 0


def test_logistic_model_files_round_trip(tmp_path):
    model = ConditionalDRAW(preset("seqdraw", likelihood="logistic", **TINY_FILE))
    with torch.no_grad():
        model.log_scale.fill_(-3.0)
    save_model(tmp_path / "m.safetensors", model)
    loaded, _ = load_model(tmp_path / "m.safetensors")
    assert loaded.config.likelihood == "logistic" and loaded.log_scale.item() == -3.0


def test_a_fixed_logistic_scale_is_off_in_the_presets_and_learns_nothing():
    from seqdraw.model.config import PRESETS
    from seqdraw.errors import SeqdrawError
    assert all(p.logistic_scale == 0 for p in PRESETS.values())             # the paper's models: no fixed scale
    with pytest.raises(SeqdrawError, match="needs likelihood logistic"):
        preset("seqdraw", logistic_scale=0.1)
    torch.manual_seed(0)
    fixed = ConditionalDRAW(preset("seqdraw", likelihood="logistic", logistic_scale=0.1, **TINY_FILE))
    plain = ConditionalDRAW(preset("seqdraw", **TINY_FILE))
    assert fixed.num_parameters() == plain.num_parameters() and not hasattr(fixed, "log_scale")
    canvas = torch.randn(2, 32, 64)
    x = torch.rand(2, 32, 64)
    torch.testing.assert_close(fixed.pixel_nll(canvas, x),
                               discretised_logistic_nll(canvas, torch.tensor(math.log(0.1)), x))
    # the gradient reaches the network, and a wider scale makes the same canvas cost less at its errors
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 32, 64)) / 255).float()
    labels, lengths = torch.tensor([[1, 2], [3, -1], [4, 5]]), torch.tensor([2, 1, 2])
    out = fixed(images, labels, lengths, generator=torch.Generator().manual_seed(0))
    out["loss"].sum().backward()
    assert all(p.grad is not None for name, p in fixed.named_parameters() if name.startswith("write"))
    tight = discretised_logistic_nll(canvas, torch.tensor(math.log(0.01)), x).sum()
    assert fixed.pixel_nll(canvas, x).sum() < tight


def test_fixed_scale_model_files_round_trip(tmp_path):
    model = ConditionalDRAW(preset("seqdraw", likelihood="logistic", logistic_scale=0.07, **TINY_FILE))
    save_model(tmp_path / "m.safetensors", model)
    loaded, _ = load_model(tmp_path / "m.safetensors")
    assert loaded.config.logistic_scale == 0.07 and not hasattr(loaded, "log_scale")
