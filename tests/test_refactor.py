"""The trainer, the objectives and the model were reorganised (issue 23) without changing what they
compute: short runs of three configurations end in the weights the code before the change produced.
tests/reference/*.safetensors were written by that code (commit ff120f1, tests/reference/README.md) on
this project's 2-core CPU, where they match bit for bit; another CPU may round differently, hence the
tight tolerance."""
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from seqdraw.checkpoint import load_weights
from seqdraw.evaluate.readers import load_guide
from seqdraw.trainer import TrainConfig, train

REFERENCE = Path(__file__).parent / "reference"
TINY = {"enc_size": 24, "dec_size": 24, "z_size": 4, "attention_size": 8, "steps_per_digit": 2,
        "read_n": 4, "write_n": 4}
RUNS = {
    "rnndraw": dict(preset="rnndraw", curriculum="none"),
    "seqdraw-paper": dict(preset="seqdraw", curriculum="paper"),
    "shipped-recipe": dict(preset="seqdraw-cur", curriculum="none", digit_weight=4.0,
                           guide=str(REFERENCE / "guide.safetensors"), guide_weight=100.0, style_match_weight=100.0,
                           model={**TINY, "label_attention": "scheduled"}),
}


@pytest.fixture(scope="module")
def data():
    """generate(96, seed=0) and generate(16, seed=1) as they were rendered for the reference (the
    renderer's bytes depend on the Pillow version, the weights here must not)."""
    with np.load(REFERENCE / "data.npz") as z:
        return tuple({k[len(split) + 1:]: z[k] for k in z.files if k.startswith(split + "_")} for split in ("train", "val"))


@pytest.mark.parametrize("name", list(RUNS))
def test_same_seed_same_weights_as_before_the_refactor(tmp_path, data, name):
    kw = RUNS[name]
    config = TrainConfig(**{**dict(out=str(tmp_path / name), epochs=2, batch_size=16, max_len=3, val_size=16,
                                   warmup_steps=2, checkpoint_every=3, log_every=1, lr=3e-2, model=TINY,
                                   compile=False, seed=3), **kw})
    guide = load_guide(config.guide) if config.guide else None
    train(config, data=data, guide=guide, progress=False)
    now, _ = load_weights(tmp_path / name / "final")
    before = load_file(str(REFERENCE / f"{name}.safetensors"))
    # the scheduled model no longer holds the label attention it never used
    before = {k: v for k, v in before.items() if not (name == "shipped-recipe" and k.startswith("labels."))}
    assert sorted(now) == sorted(before)
    exact = all(torch.equal(now[k], before[k]) for k in now)
    for k in now:
        torch.testing.assert_close(now[k], before[k], rtol=1e-5, atol=1e-6, msg=k)
    print(name, "bit-identical" if exact else "within 1e-5")
