"""The trainer, the objectives and the model were reorganised (issue 23) without changing what they
compute: short runs of three configurations end in the weights the code before the change produced.
tests/reference/*.safetensors were written by that code (commit ff120f1, tests/reference/README.md) on
this project's first 2-core CPU (AMD Zen 4), where they match bit for bit; tests/reference/cpu-intel-amx/
holds what the code of commit 62f74d1 writes on the Intel Xeon (AMX) machines of 2026-12-07, and today's
code matches that bit for bit there. Another CPU may round differently again, hence the tight tolerance."""
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from seqdraw.model.pretrained import load_weights
from seqdraw.trainer import TrainConfig, train

REFERENCE = Path(__file__).parent / "reference"
# the weights as the code before the refactor wrote them on each CPU family the project has run on:
# AMD Zen 4 (the first machines), Intel Xeon with AMX (from 2026-12-07); their fp32 products round apart
REFERENCES = [REFERENCE, REFERENCE / "cpu-intel-amx"]
# pinned here, not taken from conftest: the reference weights were written with exactly these sizes
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
    config = TrainConfig.from_dict({**dict(out=str(tmp_path / name), epochs=2, batch_size=16, max_len=3, val_size=16,
                                   warmup_steps=2, checkpoint_every=3, log_every=1, lr=3e-2, model=TINY,
                                   compile=False, seed=3, precision="fp32"), **kw})
    train(config, data=data, progress=False)
    now, _ = load_weights(tmp_path / name / "final")
    failures = []
    for folder in REFERENCES:              # one CPU family's rounding each; one of them must match
        before = load_file(str(folder / f"{name}.safetensors"))
        # the scheduled model no longer holds the label attention it never used
        before = {k: v for k, v in before.items() if not (name == "shipped-recipe" and k.startswith("labels."))}
        assert sorted(now) == sorted(before)
        try:
            for k in now:
                torch.testing.assert_close(now[k], before[k], rtol=1e-5, atol=1e-6, msg=k)
        except AssertionError as e:
            failures.append(f"{folder.name}: {str(e).splitlines()[0]}")
            continue
        exact = all(torch.equal(now[k], before[k]) for k in now)
        print(name, folder.name, "bit-identical" if exact else "within 1e-5")
        return
    pytest.fail(f"{name}: matches no reference ({'; '.join(failures)})")
