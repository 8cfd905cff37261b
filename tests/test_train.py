import json

import numpy as np
import pytest
import torch

from conftest import one_line_error
from seqdraw.checkpoint import latest_checkpoint, load_model
from seqdraw.cli import main
from seqdraw.data.synth import generate
from seqdraw.errors import SeqdrawError
from seqdraw.trainer import TrainConfig, batch_plan, train

TINY = {"enc_size": 24, "dec_size": 24, "z_size": 4, "attention_size": 8, "steps_per_digit": 2,
        "read_n": 4, "write_n": 4}


@pytest.fixture(scope="module")
def data():
    return generate(96, seed=0), generate(16, seed=1)


def config(tmp_path, **kw):
    base = dict(out=str(tmp_path / "run"), epochs=2, batch_size=16, max_len=3, val_size=16, warmup_steps=2,
                checkpoint_every=3, log_every=1, lr=3e-2, model=TINY)
    return TrainConfig(**{**base, **kw})


def test_loss_goes_down(tmp_path, data):
    cfg = config(tmp_path, curriculum="none", epochs=6)
    train(cfg, data=data, progress=False)
    vals = [json.loads(l)["val_bound_nats"] for l in open(tmp_path / "run" / "metrics.jsonl") if "val_bound_nats" in l]
    assert len(vals) == 6 and vals[-1] < vals[0] - 20


def test_resume_after_kill_matches_uninterrupted(tmp_path, data):
    a = config(tmp_path / "a", curriculum="paper")
    train(a, data=data, progress=False)
    b = config(tmp_path / "b", curriculum="paper")
    stopped = train(b, data=data, stop_after=7, progress=False)      # "killed" after step 7
    assert stopped["stopped"] and latest_checkpoint(tmp_path / "b" / "run").name == "ckpt-00000006"
    summary = train(b, resume=True, data=data, progress=False)
    wa = load_model(tmp_path / "a" / "run" / "final")[0].state_dict()
    wb = load_model(tmp_path / "b" / "run" / "final")[0].state_dict()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-5)
    assert summary["step"] == json.loads((tmp_path / "a" / "run" / "summary.json").read_text())["step"]


def test_truncated_checkpoint_is_refused(tmp_path, data):
    cfg = config(tmp_path)
    train(cfg, data=data, stop_after=4, progress=False)
    ckpt = latest_checkpoint(tmp_path / "run")
    f = ckpt / "model.safetensors"
    f.write_bytes(f.read_bytes()[:200])
    with pytest.raises(SeqdrawError, match="model.safetensors"):
        train(cfg, resume=True, data=data, progress=False)


def test_existing_run_is_never_overwritten(tmp_path, data):
    cfg = config(tmp_path)
    train(cfg, data=data, stop_after=3, progress=False)
    with pytest.raises(SeqdrawError, match="--resume"):
        train(cfg, data=data, progress=False)


def test_curriculum_stages(tmp_path, data):
    assert config(tmp_path, curriculum="paper").stages() == [(1,), (2,), (3,)]
    assert config(tmp_path, curriculum="replay").stages() == [(1,), (1, 2), (1, 2, 3)]
    assert config(tmp_path, curriculum="none").stages() == [(1, 2, 3)]
    assert TrainConfig(preset="seqdraw-cur").curriculum == "paper"
    assert TrainConfig(preset="seqdraw").curriculum == "none"
    lengths = data[0]["lengths"]
    cfg = config(tmp_path, curriculum="paper")
    for s, stage in enumerate(cfg.stages()):
        plan = batch_plan(lengths, stage, cfg, s, 0)
        assert all(set(lengths[b]) == {stage[0]} for b in plan)     # one length per batch, the stage's
    lengths = np.array([1] * 200 + [2] * 200)
    cfg = config(tmp_path, curriculum="replay", replay=0.3, batch_size=10)
    plan = batch_plan(lengths, (1, 2), cfg, 1, 0)
    share = np.mean([lengths[b][0] == 1 for b in plan])
    assert abs(share - 0.3) < 0.05 and all(len(set(lengths[b])) == 1 for b in plan)
    train(cfg.__class__(**{**cfg.__dict__, "batch_size": 16}), data=data, progress=False)
    stages = {json.loads(l).get("stage") for l in open(tmp_path / "run" / "metrics.jsonl")}
    assert {1, 2, 3} <= stages


def test_cli_train_and_resume(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "--out", str(out), "--synth-n", "48", "--epochs", "1", "--max-len", "2", "--batch-size", "16",
            "--set", "val_size=8"] + [f"--set=model.{k}={v}" for k, v in TINY.items()]
    assert main(argv) == 0
    assert (out / "final" / "model.safetensors").exists() and (out / "config.json").exists()
    assert list((out / "samples").glob("*.png"))
    assert main(argv) == 2                                          # refuses to overwrite
    assert "--resume" in one_line_error(capsys.readouterr().err)
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "config.json" in one_line_error(capsys.readouterr().err)
