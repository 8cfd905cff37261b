"""Nothing a user has is lost: kills at any moment, Ctrl-C, stale pointers, leftovers, overwrites, full
disks and read-only places (docs/reliability.md)."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_FILE, one_line_error
from seqdraw.checkpoint import latest_checkpoint
from seqdraw.model.pretrained import load_weights
from seqdraw.cli import main
from seqdraw.data.shards import load_splits
from seqdraw.data.synth import SynthConfig, write_dataset
from seqdraw.data.synth_set import SynthSet
from seqdraw.trainer import TrainConfig, batch_plan, train

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_dataset(folder, SynthSet(120, 0.2, 0), SynthConfig(length_probs=(1.0, 1.0)))
    return folder


def config(data_dir, out, **kw):
    return TrainConfig.from_dict({**dict(out=str(out), data=str(data_dir), epochs=3, batch_size=8, max_len=2, val_size=4,
                                         checkpoint_every=2, log_every=1, compile=False, model=TINY_FILE,
                                         warmup_steps=2), **kw})


def final_weights(run):
    return load_weights(run / "final")[0]


def assert_same_weights(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def steps_logged(run):
    return [json.loads(line)["step"] for line in open(run / "metrics.jsonl") if '"loss"' in line]


# ---- checkpoints ---------------------------------------------------------------------------------------

def test_stale_latest_falls_back_to_the_newest_complete_checkpoint(tmp_path, data_dir):
    """The kill window of issue 24: latest.json names a folder that is gone (or garbage)."""
    cfg = config(data_dir, tmp_path / "run")
    data = load_splits(str(data_dir))
    train(cfg, data=data, stop_after=7, progress=False)
    run = tmp_path / "run"
    newest = latest_checkpoint(run)
    assert newest.name == "ckpt-00000006"
    shutil.rmtree(newest)                                  # the folder latest.json names is gone
    assert latest_checkpoint(run).name == "ckpt-00000004"
    (run / "latest.json").write_text("[1, 2]")             # and a corrupt pointer
    assert latest_checkpoint(run).name == "ckpt-00000004"
    (run / "ckpt-00000004" / "state.json").unlink()        # an incomplete folder is skipped too
    assert latest_checkpoint(run).name == "ckpt-00000002"
    summary = train(cfg, resume=True, data=data, progress=False)
    reference = config(data_dir, tmp_path / "ref")
    assert summary["step"] == train(reference, data=data, progress=False)["step"]
    assert_same_weights(final_weights(run), final_weights(tmp_path / "ref"))
    assert steps_logged(run) == sorted(set(steps_logged(run)))          # no step logged twice after resume
    assert steps_logged(run) == steps_logged(tmp_path / "ref")


def test_temporary_files_are_cleaned(tmp_path, data_dir):
    run = tmp_path / "run"
    data = load_splits(str(data_dir))
    train(config(data_dir, run), data=data, stop_after=3, progress=False)
    (run / ".ckpt-leftover").mkdir()
    (run / ".ckpt-00000002.x1.old").mkdir()                  # a checkpoint moved aside by a killed save
    (run / ".latest.json.abc.tmp").write_text("x")
    (run / "best").mkdir(exist_ok=True)
    (run / "best" / ".model.safetensors.x.tmp").write_bytes(b"x" * 100)
    train(config(data_dir, run), resume=True, data=data, progress=False)
    leftovers = [p for p in run.rglob(".*") if p.name.startswith(".ckpt-") or p.name.endswith(".tmp")]
    assert leftovers == []


def test_same_step_saved_twice_keeps_a_checkpoint_at_every_moment(tmp_path, data_dir, monkeypatch):
    """Saving a step that already has a folder moves the old one aside first: a kill between the renames
    leaves the old folder, which the fallback finds."""
    import seqdraw.checkpoint as ck
    run = tmp_path / "run"
    data = load_splits(str(data_dir))
    train(config(data_dir, run), data=data, stop_after=4, progress=False)
    trainer_state = json.loads((run / "ckpt-00000004" / "state.json").read_text())
    real_replace = os.replace
    calls = []

    def dying_replace(src, dst):
        calls.append((src, dst))
        if Path(dst) == run / "ckpt-00000004":               # the old folder is aside, the new not yet in
            raise KeyboardInterrupt("killed")
        return real_replace(src, dst)

    from seqdraw.model import ConditionalDRAW, preset
    model = ConditionalDRAW(preset("seqdraw-cur", **TINY_FILE))
    opt = torch.optim.Adam(model.parameters())
    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(run, model, opt, {**trainer_state, "optimizer": None} | {"step": 4}, {}, keep=3)
    monkeypatch.setattr(os, "replace", real_replace)
    found = latest_checkpoint(run)
    assert found is not None and found.name == "ckpt-00000002"


# ---- kills, Ctrl-C and a larger budget, through the real command ------------------------------------------

def train_argv(data_dir, out, *extra):
    return [sys.executable, "-m", "seqdraw", "train", "--data", str(data_dir), "--out", str(out), "--compile", "false",
            "--max-len", "2", "--batch-size", "8", "--epochs", "8", "--checkpoint-every", "3", "--val-size", "4",
            "--log-every", "1", "--warmup-steps", "2"] + [f"--set=model.{k}={v}" for k, v in TINY_FILE.items()] + list(extra)


def last_step_logged(run) -> int:
    try:
        return max(steps_logged(run), default=-1)
    except (OSError, ValueError):                 # not there yet, or a line cut by the previous kill
        return -1


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_is_exact(tmp_path, data_dir):
    """10 kills -9 at random moments of a real `seqdraw train`, each 1-4 steps past the last step logged
    before it started, and up to 0.2 s into the next step: the kills follow the run's own progress, not the
    clock, so a slow machine gets the same 10. Every restart resumes (or starts over, when the kill came
    before the first checkpoint) and the end is bit-identical to a run that was never interrupted."""
    ref = subprocess.run(train_argv(data_dir, tmp_path / "ref"), capture_output=True, text=True, env=ENV, timeout=600)
    assert ref.returncode == 0, ref.stderr[-2000:]
    run, kills, rng = tmp_path / "run", 0, random.Random(0)
    for _ in range(40):
        ckpt = latest_checkpoint(run)
        argv = ["--resume", str(run)] if ckpt else ["--overwrite"]
        cmd = [sys.executable, "-m", "seqdraw", "train", *argv] if ckpt else train_argv(data_dir, run, *argv)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        if kills < 10:
            # past what the killed run logged (its lines after the checkpoint stay until the resume cuts them)
            target = max(int(ckpt.name[5:]) if ckpt else 0, last_step_logged(run)) + rng.randint(1, 4)
            deadline = time.time() + 300
            while proc.poll() is None and last_step_logged(run) < target and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.2))
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                kills += 1
                continue
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
        if (run / "summary.json").exists() and kills >= 10:
            break
    assert kills >= 10
    assert_same_weights(final_weights(run), final_weights(tmp_path / "ref"))
    assert steps_logged(run) == steps_logged(tmp_path / "ref")


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_exactly(tmp_path, data_dir):
    ref = subprocess.run(train_argv(data_dir, tmp_path / "ref"), capture_output=True, text=True, env=ENV, timeout=600)
    assert ref.returncode == 0
    run = tmp_path / "run"
    proc = subprocess.Popen(train_argv(data_dir, run, "--checkpoint-every", "1000"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and not ((run / "metrics.jsonl").exists() and len(steps_logged(run)) >= 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "checkpoint saved" in err and "Traceback" not in err
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and int(ckpt.name[5:]) >= 5          # saved where it stopped, not at 1000
    done = subprocess.run([sys.executable, "-m", "seqdraw", "train", "--resume", str(run)], capture_output=True,
                          text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_weights(final_weights(run), final_weights(tmp_path / "ref"))


def test_a_larger_budget_on_resume_continues_the_run(tmp_path, data_dir, capsys):
    data = load_splits(str(data_dir))
    run = tmp_path / "run"
    first = train(config(data_dir, run, max_steps=6), data=data, progress=False)
    assert first["step"] == 6
    assert main(["train", "--resume", str(run), "--max-steps", "9"]) == 0
    assert "done: 9 steps" in capsys.readouterr().out
    assert json.loads((run / "summary.json").read_text())["step"] == 9
    whole = train(config(data_dir, tmp_path / "whole", max_steps=0), data=data, progress=False)["step"]
    assert main(["train", "--resume", str(run), "--max-steps", "0"]) == 0          # to the end of the epochs
    assert json.loads((run / "summary.json").read_text())["step"] == whole
    assert main(["train", "--resume", str(run), "--epochs", "4"]) == 0             # one more epoch of the last stage
    cfg = config(data_dir, run)
    extra = len(batch_plan(data[0]["lengths"], cfg.stages()[-1], cfg, len(cfg.stages()) - 1, 3))
    assert json.loads((run / "summary.json").read_text())["step"] == whole + extra
    assert json.loads((run / "config.json").read_text())["curriculum"]["epochs"] == 4
    assert steps_logged(run) == sorted(set(steps_logged(run)))


# ---- output folders --------------------------------------------------------------------------------------

def test_overwrite_replaces_the_whole_set(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["data", "synth", "--n", "20", "--out", str(out), "--workers", "1", "--crops"]) == 0
    assert (out / "train_crops32.npz").exists()
    before = (out / "train.npz").read_bytes()
    assert main(["data", "synth", "--n", "10", "--out", str(out), "--workers", "1"]) == 2
    assert "--overwrite" in one_line_error(capsys.readouterr().err)
    assert (out / "train.npz").read_bytes() == before                  # untouched
    assert main(["data", "synth", "--n", "10", "--out", str(out), "--workers", "1", "--overwrite"]) == 0
    assert not (out / "train_crops32.npz").exists()                     # nothing of the old set is left
    assert json.loads((out / "config.json").read_text())["n_train"] == 9
    assert len(np.load(out / "test.npz")["images"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["d"]                # no temporary folders left


def test_a_failed_command_leaves_nothing_behind(tmp_path, capsys):
    assert main(["data", "synth", "--n", "10", "--out", str(tmp_path / "d"), "--fonts", str(tmp_path / "none")]) == 2
    capsys.readouterr()
    assert list(tmp_path.iterdir()) == []


def test_read_only_and_full_disk_are_one_line_errors(tmp_path, capsys):
    """On tmpfs mounts of 3 MB and read-only ones; needs root (skipped otherwise)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(full)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)], check=True)
        (full / "mine.png").write_bytes(b"precious")
        (full / "filler").write_bytes(b"\0" * (3 * 2**20 - 24 * 2**10))     # 24 KB left
        cases = (["data", "synth", "--n", "400", "--workers", "1", "--out", str(full / "d")],
                 ["generate", "157", "--n", "64", "--out", str(full / "big.png")],
                 ["generate", "157", "--n", "64", "--out", str(full / "mine.png"), "--overwrite"],
                 ["train", "--out", str(full / "run"), "--synth-n", "16", "--val-size", "64", "--compile", "false",
                  "--epochs", "1", "--max-len", "1"] + [f"--set=model.{k}={v}" for k, v in TINY_FILE.items()],
                 ["data", "synth", "--n", "10", "--out", str(ro / "d")],
                 ["generate", "157", "--out", str(ro / "x.png")],
                 ["train", "--out", str(ro / "run"), "--synth-n", "16", "--compile", "false"])
        for argv in cases:
            assert main(argv) == 2, argv
            line = one_line_error(capsys.readouterr().err)
            assert "space" in line or "read-only" in line or "Read-only" in line, line
        assert (full / "mine.png").read_bytes() == b"precious"      # an existing file survives a failed overwrite
        assert sorted(p.name for p in full.iterdir()) == ["filler", "mine.png"]   # nothing half-written is left
    finally:
        subprocess.run(["umount", str(ro)])
        subprocess.run(["umount", str(full)])
