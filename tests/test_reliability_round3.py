"""Issue 36's kinds that live in the trainer: a bad torchrun environment, a validation split without the
trained lengths, and strict JSON in summary.json."""
import json
import math

import numpy as np
import pytest

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.data.synth import generate
from seqdraw.errors import SeqdrawError
from seqdraw.trainer import Distributed, TrainConfig, Trainer

TINY = {"enc_size": 8, "dec_size": 8, "z_size": 2, "attention_size": 4, "steps_per_digit": 1, "read_n": 2,
        "write_n": 2}


@pytest.mark.parametrize("env", [{"WORLD_SIZE": "abc"}, {"WORLD_SIZE": "0"}, {"WORLD_SIZE": "-2"},
                                 {"WORLD_SIZE": "2"}, {"WORLD_SIZE": "2", "RANK": "0"}])
def test_bad_torchrun_environment_is_one_line(tmp_path, capsys, monkeypatch, env):
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SeqdrawError, match="WORLD_SIZE"):
        Distributed.from_env()
    code = main(["train", "--data", "synth", "--out", str(tmp_path / "r"), "--set", "synth_n=8", "--set",
                 "compile=false", "--max-steps", "1"])
    assert code != 0 and "WORLD_SIZE" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_validation_without_the_trained_lengths_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    train, val = generate(32, seed=0), generate(32, seed=1)
    keep = val["lengths"] >= 3
    val = {k: v[keep] for k, v in val.items()}
    config = TrainConfig(out=str(tmp_path / "r"), max_len=2, batch_size=8, val_size=8, compile=False, model=TINY)
    with pytest.raises(SeqdrawError, match="no validation"):
        Trainer(config, (train, val), progress=False)
    assert not (tmp_path / "r").exists()


def test_summary_is_strict_json_when_the_bound_is_not_finite(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    data = generate(16, seed=0), generate(8, seed=1)
    config = TrainConfig(out=str(tmp_path / "r"), max_len=3, batch_size=8, val_size=4, compile=False, model=TINY,
                         epochs=1)
    monkeypatch.setattr(Trainer, "validate", lambda self: math.nan)
    Trainer(config, data, progress=False).fit()
    text = (tmp_path / "r" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
    assert summary["val_bound_nats"] is None
