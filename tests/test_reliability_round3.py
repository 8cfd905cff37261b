"""Issue 36's kinds that live in the trainer: a bad torchrun environment, a validation split without the
trained lengths, and strict JSON in summary.json."""
import json
import math

import pytest

from conftest import TINY_FILE, one_line_error
from seqdraw.cli import main
from seqdraw.data.synth import generate
from seqdraw.errors import SeqdrawError
from seqdraw.trainer import Distributed, TrainConfig, Trainer



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
    config = TrainConfig.from_dict(dict(out=str(tmp_path / "r"), max_len=2, batch_size=8, val_size=8, compile=False,
                                        model=TINY_FILE))
    with pytest.raises(SeqdrawError, match="no validation"):
        Trainer(config, (train, val), progress=False)
    assert not (tmp_path / "r").exists()


def test_summary_is_strict_json_when_the_bound_is_not_finite(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    data = generate(16, seed=0), generate(8, seed=1)
    config = TrainConfig.from_dict(dict(out=str(tmp_path / "r"), max_len=3, batch_size=8, val_size=4, compile=False,
                                        model=TINY_FILE, epochs=1))
    monkeypatch.setattr(Trainer, "validate", lambda self: math.nan)
    Trainer(config, data, progress=False).fit()
    text = (tmp_path / "r" / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
    assert summary["val_bound_nats"] is None


def _config(tmp_path, name):
    return TrainConfig.from_dict(dict(out=str(tmp_path / name), max_len=3, batch_size=16, val_size=4, compile=False,
                                      model=TINY_FILE, epochs=2, checkpoint_every=2, keep=4, warmup_steps=2,
                                      curriculum="none", threads=1))


DAMAGE = {
    "truncated model": lambda c: (c / "model.safetensors").write_bytes((c / "model.safetensors").read_bytes()[:100]),
    "truncated state": lambda c: (c / "state.safetensors").write_bytes((c / "state.safetensors").read_bytes()[:50]),
    "state {}": lambda c: (c / "state.json").write_text("{}"),
    "state []": lambda c: (c / "state.json").write_text("[]"),
    "step as text": lambda c: (c / "state.json").write_text((c / "state.json").read_text().replace(
        '"step": ', '"step": "five", "was": ', 1)),
    "deeply nested state": lambda c: (c / "state.json").write_text("[" * 100_000 + "]" * 100_000),
    "one flipped byte": lambda c: _flip(c / "model.safetensors"),
}


def _flip(path):
    b = bytearray(path.read_bytes())
    b[-10] ^= 0xFF
    path.write_bytes(bytes(b))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_resume_falls_back_past_a_damaged_newest_checkpoint(tmp_path, capsys, monkeypatch, damage):
    """The newest checkpoint is damaged: resume names it in one line, starts from the one before, and
    ends in exactly the weights of an uninterrupted run."""
    import torch

    from seqdraw.checkpoint import complete_checkpoints
    from seqdraw.model.pretrained import load_model
    from seqdraw.trainer import train

    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    data = generate(48, seed=0), generate(12, seed=1)
    train(_config(tmp_path, "a"), data=data, progress=False)
    b = _config(tmp_path, "b")
    assert train(b, data=data, stop_after=5, progress=False)["stopped"]
    newest = complete_checkpoints(tmp_path / "b")[-1]
    DAMAGE[damage](newest)
    config_before = (tmp_path / "b" / "config.json").read_text()
    train(b, resume=True, data=data, progress=True)
    err = capsys.readouterr().err
    assert f"warning: {newest}" in err and "falling back" in err and "Traceback" not in err
    wa = load_model(tmp_path / "a" / "final")[0].state_dict()
    wb = load_model(tmp_path / "b" / "final")[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (tmp_path / "b" / "config.json").read_text() == config_before


def test_every_checkpoint_damaged_is_one_line_and_changes_nothing(tmp_path, capsys, monkeypatch):
    from seqdraw.checkpoint import complete_checkpoints
    from seqdraw.trainer import train

    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    data = generate(48, seed=0), generate(12, seed=1)
    b = _config(tmp_path, "b")
    train(b, data=data, stop_after=5, progress=False)
    for c in complete_checkpoints(tmp_path / "b"):
        (c / "state.json").write_text("{}")
    (tmp_path / "b" / "config.json").write_text('{"marker": 1}')
    with pytest.raises(SeqdrawError, match="no intact checkpoint"):
        train(b, resume=True, data=data, progress=False)
    assert (tmp_path / "b" / "config.json").read_text() == '{"marker": 1}'


def test_a_binary_metrics_log_does_not_stop_a_resume(tmp_path, monkeypatch):
    from seqdraw.trainer import train

    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    data = generate(48, seed=0), generate(12, seed=1)
    b = _config(tmp_path, "b")
    train(b, data=data, stop_after=5, progress=False)
    with open(tmp_path / "b" / "metrics.jsonl", "ab") as f:
        f.write(b"\xff\xfe\x00garbage\n" + b'{"step": NaN}\n' + b'{"step": Infinity}\n')
    assert train(b, resume=True, data=data, progress=False)["step"] > 5


def _children(pid: int) -> list[int]:
    from pathlib import Path
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_sigterm_during_data_synth_stops_its_workers_and_leaves_nothing(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "d"
    proc = subprocess.Popen([sys.executable, "-m", "seqdraw", "data", "synth", "--n", "20000", "--workers", "2",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    for _ in range(3000):                      # until both workers are up (spawned, importing); the
        # resource tracker is a child too, with "multiprocessing" in its command line: only spawn_main is a worker
        workers = [c for c in _children(proc.pid) if b"spawn_main" in open(f"/proc/{c}/cmdline", "rb").read()]
        if len(workers) == 2 or proc.poll() is not None:
            break
        time.sleep(0.02)
    assert len(workers) == 2
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err.split("seqdraw: interrupted")[-1]
    for _ in range(200):
        alive = [w for w in workers if os.path.exists(f"/proc/{w}") and
                 open(f"/proc/{w}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive, "worker processes outlived a SIGTERM"
    assert list(tmp_path.iterdir()) == []      # neither the data set nor its .partial folder
