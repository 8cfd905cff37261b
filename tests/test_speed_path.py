"""The fast training path (issue 34): bf16 autocast at batch 256 by default, one thread per claimed core,
windowed images/s in the log, validation within an epoch. It must compute the bound the eager fp32
reference computes, resume exactly, and refuse a bad --threads in one line."""
import json
import os
import subprocess
import sys

import pytest
import torch

from seqdraw import cores
from seqdraw.model.pretrained import load_model
from seqdraw.cli import main
from conftest import TINY, one_line_error
from seqdraw.errors import SeqdrawError
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.trainer import TrainConfig, train


@pytest.fixture(autouse=True)
def own_core_locks(tmp_path, monkeypatch):
    """Each test claims cores in a folder of its own, so the suite never competes with a real run."""
    monkeypatch.setenv("SEQDRAW_CORES_DIR", str(tmp_path / "cores"))
    yield
    cores.release_cores()


def test_defaults_are_the_fast_path():
    c = TrainConfig()
    assert (c.run.precision, c.optimiser.batch_size, c.optimiser.lr, c.run.threads) == ("bf16", 256, 2e-3, 0)


def test_bf16_bound_matches_the_eager_fp32_reference():
    """The paper's network at its real size: the bf16 step's bound is the fp32 bound within 0.5%,
    per image, for the same weights and noise (bf16 keeps 8 bits of mantissa; the sums stay fp32)."""
    torch.manual_seed(0)
    model = ConditionalDRAW(preset("seqdraw"))
    x = torch.rand(16, 32, 64).round()
    labels = torch.randint(0, 10, (16, 3))
    lengths = torch.tensor([1, 2, 3, 3] * 4)
    ref = model(x, labels, lengths, generator=torch.Generator().manual_seed(1))["loss"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast = model(x, labels, lengths, generator=torch.Generator().manual_seed(1))["loss"].float()
    rel = ((fast - ref).abs() / ref.abs()).max().item()
    assert rel < 5e-3, rel
    assert not torch.equal(fast, ref)              # it really ran in bf16


def test_bf16_resume_is_exact(tmp_path, data):
    base = dict(epochs=2, batch_size=16, max_len=3, val_size=16, warmup_steps=2, checkpoint_every=3, log_every=1,
                model=TINY, compile=False, curriculum="none", threads=1)
    a = TrainConfig.from_dict({"out": str(tmp_path / "a"), **base})
    assert a.run.precision == "bf16"
    train(a, data=data, progress=False)
    b = TrainConfig.from_dict({"out": str(tmp_path / "b"), **base})
    assert train(b, data=data, stop_after=5, progress=False)["stopped"]
    train(b, resume=True, data=data, progress=False)
    wa = load_model(tmp_path / "a" / "final")[0].state_dict()
    wb = load_model(tmp_path / "b" / "final")[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_log_carries_windowed_rate_images_seen_and_mid_epoch_validation(tmp_path, data):
    c = TrainConfig.from_dict(dict(out=str(tmp_path / "run"), epochs=1, batch_size=8, max_len=3, val_size=8,
                                   warmup_steps=2, log_every=2, val_every=4, model=TINY, compile=False,
                                   curriculum="none", threads=1))
    train(c, data=data, progress=False)
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [l for l in lines if "loss" in l]
    vals = [l for l in lines if "val_bound_nats" in l]
    assert all(l["images_per_s"] > 0 for l in steps)
    seen = [l["images_seen"] for l in steps]
    assert seen == sorted(set(seen)) and seen[-1] <= 96
    # batches hold one length each, so 96 images make a few more than 12 steps; validations every 4
    # steps within the epoch, and one at its end
    last = json.loads((tmp_path / "run" / "summary.json").read_text())["step"]
    assert [l["step"] for l in vals] == list(range(4, last, 4)) + [last]
    assert len(list((tmp_path / "run" / "samples").glob("*.png"))) == len(vals)
    from PIL import Image
    curves = Image.open(tmp_path / "run" / "curves.png")              # bound, loss, recon, kl panels
    assert curves.format == "PNG" and curves.size[0] > 3 * curves.size[1]


def test_claim_takes_free_cores_and_pins_to_them():
    allowed = cores.allowed_cores()
    n, claimed, warning = cores.claim_cores(1)
    assert n == 1 and len(claimed) == 1 and claimed[0] in allowed and warning is None
    assert os.sched_getaffinity(0) == set(claimed) and torch.get_num_threads() == 1
    cores.release_cores()
    assert os.sched_getaffinity(0) == set(allowed)


def test_a_second_job_gets_only_the_cores_the_first_left(tmp_path):
    """Another process holds every core but one: this one claims that one, with one thread."""
    allowed = cores.allowed_cores()
    held = ",".join(map(str, allowed[:-1])) if len(allowed) > 1 else ""
    code = ("import os, sys, time; from seqdraw import cores; cores.claim_cores(0)" if not held else
            "import os, sys, time; from seqdraw import cores; cores.claim_cores(%d)" % (len(allowed) - 1))
    holder = subprocess.Popen([sys.executable, "-c", code + "; print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert holder.stdout.readline().strip() == "held"
        n, claimed, warning = cores.claim_cores(0)
        if held:
            assert n == 1 and claimed == [allowed[-1]] and warning is None
        else:                                   # a 1-core machine: nothing free, one thread, said so
            assert n == 1 and claimed == [] and "held by other seqdraw jobs" in warning
    finally:
        holder.kill()
        holder.wait()
    cores.release_cores()
    # the holder died without releasing anything: the kernel dropped its locks
    n, claimed, _ = cores.claim_cores(0)
    assert claimed == allowed


@pytest.mark.parametrize("value", ["-1", "x", "1.5", str(len(os.sched_getaffinity(0)) + 1)])
def test_wrong_threads_is_a_one_line_error(tmp_path, capsys, value):
    try:
        code = main(["train", "--data", "synth", "--out", str(tmp_path / "run"), "--threads", value,
                     "--set", "synth_n=8", "--max-steps", "1", "--set", "compile=false"])
    except SystemExit as e:                     # argparse's own exit for a value of the wrong type
        code = e.code
    assert code != 0
    line = one_line_error(capsys.readouterr().err)
    assert "threads" in line
    assert not (tmp_path / "run").exists()


def test_claim_refuses_more_threads_than_cores():
    with pytest.raises(SeqdrawError, match="threads"):
        cores.claim_cores(len(cores.allowed_cores()) + 1)


def test_resume_of_a_finished_run_stops_at_once(tmp_path, capsys, monkeypatch):
    """`train --resume` on a finished run says so and renders, loads and trains nothing (issue 37); a
    larger budget still trains further."""
    import seqdraw.trainer as trainer_module

    run = tmp_path / "run"
    args = ["train", "--data", "synth", "--out", str(run), "--set", "synth_n=32", "--max-steps", "2",
            "--set", "compile=false", "--set", "val_size=4", "--batch-size", "8"] + [
                f"--set=model.{k}={v}" for k, v in TINY.items()]
    assert main(args) == 0
    capsys.readouterr()
    real_load_data = trainer_module.load_data
    monkeypatch.setattr(trainer_module, "load_data", lambda c: pytest.fail("a finished run loaded its data"))
    assert main(["train", "--resume", str(run)]) == 0
    assert "is complete (2 steps" in capsys.readouterr().out
    monkeypatch.setattr(trainer_module, "load_data", real_load_data)
    assert main(["train", "--resume", str(run), "--max-steps", "3"]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 3
