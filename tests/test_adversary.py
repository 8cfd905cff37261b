"""The levers of the model issue: random views for the guide, and a discriminator on prior samples. Each
term reaches the parts it should and nothing it must not; the flags are refused where they make no sense;
resume stays exact with the discriminator's optimiser state."""
import json

import pytest
import torch

from seqdraw.checkpoint import latest_checkpoint
from seqdraw.model.pretrained import load_model
from conftest import TINY
from seqdraw.errors import SeqdrawError
from seqdraw.readers import Schedule, load_guide, train_reader
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.model.discriminator import Discriminator
from seqdraw.objectives import (Batch, Critics, ObjectiveConfig, adversarial_loss, discriminator_loss, random_views,
                                total_loss)
from seqdraw.trainer import Trainer, TrainConfig, train


@pytest.fixture(scope="module")
def guide_path(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    train_reader(data[0], data[1], root, "multidigit", {"width": 4}, progress=False,
                 schedule=Schedule(epochs=1, batch=32))
    return str(root / "classifier.safetensors")


def config(tmp_path, **kw):
    base = dict(out=str(tmp_path / "run"), epochs=2, batch_size=16, max_len=2, val_size=8, warmup_steps=2,
                checkpoint_every=2, log_every=1, lr=3e-2, model=TINY, compile=False, curriculum="none")
    return TrainConfig.from_dict({**base, **kw})


def batch():
    torch.manual_seed(0)
    return torch.rand(4, 32, 64), torch.tensor([[4, 2], [7, -1], [1, 0], [3, -1]]), torch.tensor([2, 1, 2, 1])


def test_random_views_are_random_differentiable_and_in_range():
    images = torch.rand(6, 32, 64, requires_grad=True)
    a = random_views(images, torch.Generator().manual_seed(0))
    b = random_views(images, torch.Generator().manual_seed(1))
    assert a.shape == images.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.allclose(a, b)                                     # another draw, another view
    assert torch.equal(a, random_views(images, torch.Generator().manual_seed(0)))
    a.sum().backward()
    assert images.grad.abs().sum() > 0


def test_adversarial_term_reaches_prior_and_decoder_only():
    images, labels, lengths = batch()
    model = ConditionalDRAW(preset("seqdraw", **TINY))
    adversary = Discriminator(8)
    result = total_loss(model, Batch(images, labels, lengths), ObjectiveConfig(adversarial_weight=10.0),
                        Critics(discriminator=adversary), torch.Generator().manual_seed(0))
    assert result.drawn.shape == (4, 32, 64) and result.terms["adversarial"].shape == (4,)
    result.terms["adversarial"].sum().backward()
    assert model.prior.weight.grad.abs().sum() > 0 and model.decoder.weight_ih.grad.abs().sum() > 0
    assert model.encoder.weight_ih.grad is None and model.posterior.weight.grad is None   # the sample saw no image


def test_discriminator_loss_cannot_move_the_generator():
    images, labels, lengths = batch()
    model = ConditionalDRAW(preset("seqdraw", **TINY))
    adversary = Discriminator(8)
    drawn = model.draw(labels, lengths, generator=torch.Generator().manual_seed(0)).images
    discriminator_loss(adversary, images, drawn).mean().backward()
    assert all(p.grad is None for p in model.parameters())
    assert all(p.grad is not None for p in adversary.parameters())
    # the two sides pull the same logit opposite ways (eval: spectral norm's power iteration holds still)
    adversary.eval()
    logit = adversary(drawn.detach())
    side = discriminator_loss(adversary, images, drawn) - torch.nn.functional.softplus(-adversary(images))
    assert torch.allclose(side, torch.nn.functional.softplus(logit), atol=1e-6)
    assert torch.allclose(adversarial_loss(adversary, drawn.detach()), torch.nn.functional.softplus(-logit))


def test_each_optimiser_steps_only_its_own_side(tmp_path, data):
    trainer = Trainer(config(tmp_path, adversarial_weight=10.0), data, progress=False)
    g0 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    d0 = {k: v.clone() for k, v in trainer.adversary.state_dict().items()}
    assert {id(p) for g in trainer.opt.param_groups for p in g["params"]}.isdisjoint(
        id(p) for p in trainer.adversary.parameters())
    shown = trainer.step(batch_of(trainer))
    assert "adversarial" in shown and "discriminator" in shown
    assert any(not torch.equal(g0[k], v) for k, v in trainer.model.state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in trainer.adversary.state_dict().items())
    # the discriminator's step alone leaves every generator weight as it was
    images, drawn = torch.rand(4, 32, 64), torch.rand(4, 32, 64, requires_grad=True)
    g1 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.adversary_step(images, drawn)
    assert all(torch.equal(g1[k], v) for k, v in trainer.model.state_dict().items()) and drawn.grad is None


def batch_of(trainer):
    import numpy as np
    return np.flatnonzero(trainer.train_data["lengths"] == 2)[:8]


def test_guide_views_change_what_the_guide_reads(data, guide_path):
    images, labels, lengths = batch()
    guide = load_guide(guide_path)
    model = ConditionalDRAW(preset("seqdraw", **TINY))
    plain = total_loss(model, Batch(images, labels, lengths), ObjectiveConfig(guide="g", guide_weight=1.0),
                       Critics(guide.loss_per_image), torch.Generator().manual_seed(0))
    views = total_loss(model, Batch(images, labels, lengths),
                       ObjectiveConfig(guide="g", guide_weight=1.0, guide_views=True),
                       Critics(guide.loss_per_image), torch.Generator().manual_seed(0))
    assert torch.equal(plain.drawn, views.drawn)                       # the same samples ...
    assert not torch.allclose(plain.terms["guide"], views.terms["guide"])   # ... read through other views


@pytest.mark.parametrize("values, message", [
    ({"guide_views": True}, "guide_views needs a guide"),
    ({"adversary_lr": 1e-3}, "without adversarial_weight"),
    ({"adversary_width": 16}, "without adversarial_weight"),
    ({"adversarial_weight": -1.0}, "adversarial_weight"),
])
def test_flags_that_make_no_sense_are_refused(tmp_path, values, message):
    with pytest.raises(SeqdrawError, match=message):
        config(tmp_path, **values)


def test_resume_with_a_discriminator_is_exact(tmp_path, data, guide_path):
    extra = dict(adversarial_weight=10.0, guide=guide_path, guide_views=True, adversary_width=8)
    a = config(tmp_path / "a", **extra)
    train(a, data=data, progress=False)
    b = config(tmp_path / "b", **extra)
    stopped = train(b, data=data, stop_after=5, progress=False)
    assert stopped["stopped"] and latest_checkpoint(tmp_path / "b" / "run") is not None
    train(b, resume=True, data=data, progress=False)
    wa = load_model(tmp_path / "a" / "run" / "final")[0].state_dict()
    wb = load_model(tmp_path / "b" / "run" / "final")[0].state_dict()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    la = [json.loads(line) for line in open(tmp_path / "a" / "run" / "metrics.jsonl")]
    lb = [json.loads(line) for line in open(tmp_path / "b" / "run" / "metrics.jsonl")]
    da = [r["discriminator"] for r in la if "discriminator" in r]
    db = [r["discriminator"] for r in lb if "discriminator" in r]
    assert da == db and len(da) > 5                                    # the discriminator resumed exactly too
    # a checkpoint without discriminator state cannot resume a run that has one
    c = config(tmp_path / "c")
    train(c, data=data, stop_after=3, progress=False)
    cfg = json.loads((tmp_path / "c" / "run" / "config.json").read_text())
    cfg["objective"]["adversarial_weight"] = 10.0
    with pytest.raises(SeqdrawError, match="no adversary state"):
        train(TrainConfig.from_dict(cfg), resume=True, data=data, progress=False)
