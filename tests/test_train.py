import dataclasses
import json

import numpy as np
import pytest
import torch

from seqdraw.checkpoint import complete_checkpoints, latest_checkpoint
from seqdraw.model.pretrained import load_model, load_weights, weights_digest
from seqdraw.cli import main
from conftest import TINY, one_line_error
from seqdraw.data.synth import generate
from seqdraw.errors import SeqdrawError
from seqdraw.data.heldout import heldout_mask
from seqdraw.data.shards import fingerprint
from seqdraw.evaluate.judges import load_judge
from seqdraw.readers import Schedule, load_guide, train_reader
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.objectives import ObjectiveConfig, digit_pixel_weights as pixel_weights, guide_cross_entropy, prior_samples, style_distance
from seqdraw.trainer import TrainConfig, batch_plan, train


def config(tmp_path, **kw):
    base = dict(out=str(tmp_path / "run"), epochs=2, batch_size=16, max_len=3, val_size=16, warmup_steps=2,
                checkpoint_every=3, log_every=1, lr=3e-2, model=TINY, compile=False)
    return TrainConfig.from_dict({**base, **kw})


def test_loss_goes_down(tmp_path, data):
    # a tiny model on 96 images sits on a plateau for a few epochs before it learns the digits
    cfg = config(tmp_path, curriculum="none", epochs=8)
    train(cfg, data=data, progress=False)
    vals = [json.loads(l)["val_bound_nats"] for l in open(tmp_path / "run" / "metrics.jsonl") if "val_bound_nats" in l]
    assert len(vals) == 8 and vals[-1] < vals[0] - 20


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


def test_resume_of_a_fixed_scale_logistic_run_is_exact(tmp_path, data):
    model = {**TINY, "likelihood": "logistic", "logistic_scale": 0.1}
    a = config(tmp_path / "a", curriculum="none", epochs=1, model=model)
    train(a, data=data, progress=False)
    b = config(tmp_path / "b", curriculum="none", epochs=1, model=model)
    assert train(b, data=data, stop_after=3, progress=False)["stopped"]
    train(b, resume=True, data=data, progress=False)
    wa = load_model(tmp_path / "a" / "run" / "final")[0].state_dict()
    wb = load_model(tmp_path / "b" / "run" / "final")[0].state_dict()
    assert wa.keys() == wb.keys() and "log_scale" not in wa
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-5)


def test_init_starts_from_given_weights(tmp_path, data):
    first = config(tmp_path / "a", curriculum="none", epochs=1)
    train(first, data=data, progress=False)
    source, _ = load_model(tmp_path / "a" / "run" / "final")
    tuned = config(tmp_path / "b", curriculum="none", epochs=1, lr=1e-9, warmup_steps=1,
                   init=str(tmp_path / "a" / "run" / "final"))
    train(tuned, data=data, progress=False)
    result, _ = load_model(tmp_path / "b" / "run" / "final")
    for (name, p), q in zip(source.named_parameters(), result.parameters()):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=0, msg=name)    # lr ~0: still the init weights
    wrong = config(tmp_path / "c", curriculum="none", epochs=1, init=str(tmp_path / "a" / "run" / "final"),
                   model={**TINY, "dec_size": 16})
    with pytest.raises(SeqdrawError, match="do not match"):
        train(wrong, data=data, progress=False)
    # a Bernoulli model fine-tuned under the logistic likelihood: every weight carried, the scale new
    logistic = config(tmp_path / "d", curriculum="none", epochs=1, lr=1e-9, warmup_steps=1,
                      init=str(tmp_path / "a" / "run" / "final"), model={**TINY, "likelihood": "logistic"})
    train(logistic, data=data, progress=False)
    switched, _ = load_model(tmp_path / "d" / "run" / "final")
    assert switched.config.likelihood == "logistic"
    # the scale starts at the width of the init's own errors on validation images, not at the default
    from seqdraw.model.likelihood import logistic_scale_from
    val = data[1]
    rows = val["lengths"] == 1
    images = torch.from_numpy(val["images"][rows][:64]).float() / 255
    with torch.no_grad():
        canvas = source(images, torch.from_numpy(val["labels"][rows][:64, :1].astype(np.int64)),
                        torch.ones(len(images), dtype=torch.int64))["logits"]
    assert abs(switched.log_scale.item() - np.log(0.1)) > 0.1
    assert abs(switched.log_scale.exp().item() / logistic_scale_from(images - torch.sigmoid(canvas)) - 1) < 0.5
    carried = dict(switched.named_parameters())
    for name, p in source.named_parameters():
        torch.testing.assert_close(p, carried[name], atol=1e-6, rtol=0, msg=name)
    # a scale held fixed replaces the one the init learned: from the logistic model just made, and
    # from the Bernoulli one, every network weight is carried and no scale is learned
    for i, init in enumerate(("d", "a")):
        fixed = config(tmp_path / f"e{i}", curriculum="none", epochs=1, lr=1e-9, warmup_steps=1,
                       init=str(tmp_path / init / "run" / "final"),
                       model={**TINY, "likelihood": "logistic", "logistic_scale": 0.09})
        train(fixed, data=data, progress=False)
        held, _ = load_model(tmp_path / f"e{i}" / "run" / "final")
        assert held.config.logistic_scale == 0.09 and not hasattr(held, "log_scale")
        for name, p in held.named_parameters():
            torch.testing.assert_close(p, carried[name], atol=1e-6, rtol=0, msg=name)


def test_pixel_weights_cover_exactly_the_digit_boxes():
    boxes = np.zeros((2, 5, 4), np.float32)
    boxes[0, 0] = (10, 4, 6, 20)             # left, top, width, height
    boxes[0, 1] = (14, 6, 6, 20)             # overlaps the first: weight not doubled
    w = pixel_weights(boxes, 3.0, 32, 64)
    expect = torch.ones(2, 32, 64)
    expect[0, 4:24, 10:16] = 3
    expect[0, 6:26, 14:20] = 3
    torch.testing.assert_close(w, expect)    # sample 1 has only zero-size padding boxes: all ones


def test_digit_weight_trains_and_validates_on_the_bound(tmp_path, data):
    with pytest.raises(SeqdrawError, match="digit_weight"):
        config(tmp_path, digit_weight=0.5)
    summary = train(config(tmp_path, curriculum="none", epochs=1, digit_weight=4.0), data=data, progress=False)
    logged = [json.loads(l) for l in open(tmp_path / "run" / "metrics.jsonl")]
    train_loss = [r["loss"] for r in logged if "loss" in r]
    assert all(np.isfinite(train_loss)) and np.isfinite(summary["val_bound_nats"])
    model, _ = load_model(tmp_path / "run" / "final")
    images, labels, lengths = (torch.from_numpy(data[1]["images"][:4]).float() / 255,
                               torch.from_numpy(data[1]["labels"][:4, :5].astype(np.int64)).clamp(min=-1),
                               torch.from_numpy(data[1]["lengths"][:4].astype(np.int64)))
    labels = labels[:, : int(lengths.max())]
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    plain = model(images, labels, lengths, generator=g())["recon"]
    weighted = model(images, labels, lengths, generator=g(),
                     pixel_weights=pixel_weights(data[1]["boxes"][:4], 4.0, 32, 64))["recon"]
    assert (weighted > plain).all()          # the digits' pixels count more, the rest the same


def test_rejected_flags_are_gone_with_a_one_line_error(tmp_path, capsys):
    for key in ("kl_weight", "guide_margin", "diversity_weight", "diversity_target", "prior_temperature_spread"):
        with pytest.raises(SeqdrawError, match=f"{key} is gone"):
            TrainConfig.from_dict({key: 1.0})
        assert main(["train", "--set", f"{key}=1"]) == 2
        assert "is gone" in one_line_error(capsys.readouterr().err)
    cfg_file = tmp_path / "old.json"
    cfg_file.write_text(json.dumps({"epochs": 1, "model": {"write_max_stride": 3.0}}))
    assert main(["train", "--config", str(cfg_file)]) == 2
    assert "write_max_stride is gone" in one_line_error(capsys.readouterr().err)


def test_guide_trains_the_prior_path_to_be_read_back(tmp_path, data):
    train_reader(data[0], data[1], tmp_path / "guide", "multidigit", {"width": 4},
                 progress=False, schedule=Schedule(epochs=1, batch=32))
    guide = load_guide(str(tmp_path / "guide" / "classifier.safetensors"))
    assert not any(p.requires_grad for p in guide.parameters()) and not guide.training
    model = ConditionalDRAW(preset("seqdraw-cur", **TINY))
    labels, lengths = torch.tensor([[4, 2], [7, -1]]), torch.tensor([2, 1])
    drawn = prior_samples(model, labels, lengths, torch.Generator().manual_seed(0))
    loss = guide_cross_entropy(guide.loss_per_image, drawn, labels, lengths)
    assert loss.shape == (2,) and (loss > 0).all() and drawn.shape == (2, 32, 64)
    wide = guide_cross_entropy(guide.loss_per_image, prior_samples(model, labels, lengths, torch.Generator().manual_seed(0),
                                                                   style_temperature=3.0), labels, lengths)
    assert not torch.allclose(wide, loss)        # the guide's samples come from a wider z_1
    loss.sum().backward()                    # reaches the prior and the decoder, not the encoder
    assert model.prior.weight.grad.abs().sum() > 0 and model.decoder.weight_ih.grad.abs().sum() > 0
    assert model.encoder.weight_ih.grad is None and model.posterior.weight.grad is None

    cfg = config(tmp_path, curriculum="none", epochs=1, guide=str(tmp_path / "guide" / "classifier.safetensors"))
    summary = train(cfg, data=data, progress=False)            # the trainer loads config.guide itself
    assert np.isfinite(summary["val_bound_nats"])
    logged = [json.loads(l) for l in open(tmp_path / "run" / "metrics.jsonl") if '"loss"' in l]
    assert logged and all(r["guide"] > 0 for r in logged) and not any("spread" in r for r in logged)
    matched = config(tmp_path / "matched", curriculum="none", epochs=1, max_steps=2, log_every=1,
                     style_match_weight=10.0, guide=str(tmp_path / "guide" / "classifier.safetensors"))
    train(matched, data=data, progress=False)
    logged = [json.loads(l) for l in open(tmp_path / "matched" / "run" / "metrics.jsonl") if '"loss"' in l]
    assert logged and all(r["style"] > 0 for r in logged)

    # provenance: the guide is recorded, inherited through --init, and refused as the judge
    digest = weights_digest(load_weights(tmp_path / "guide" / "classifier.safetensors", "classifier")[0])
    assert load_model(tmp_path / "run" / "final")[1]["guides"] == [digest]
    tuned = config(tmp_path / "tuned", curriculum="none", epochs=1, init=str(tmp_path / "run" / "final"))
    train(tuned, data=data, progress=False)
    tuned_meta = load_model(tmp_path / "tuned" / "run" / "final")[1]
    assert tuned_meta["guides"] == [digest]
    with pytest.raises(SeqdrawError, match="cannot judge"):
        load_judge(tmp_path / "guide" / "classifier.safetensors", tuned_meta)
    # what the weights saw: the training images' fingerprint (once per run of the lineage) and how many
    # of them show held-out strings
    assert tuned_meta["trained_on"] == [fingerprint(data[0])] * 2
    seen = int(heldout_mask(data[0]["labels"], data[0]["lengths"])[data[0]["lengths"] <= 3].sum())
    assert tuned_meta["heldout_seen"] == 2 * seen
    train_reader(data[0], data[1], tmp_path / "same-images", "multidigit", {"width": 4}, progress=False,
                 schedule=Schedule(epochs=1, batch=32, seed=1))
    with pytest.raises(SeqdrawError, match="own training images"):
        load_judge(tmp_path / "same-images" / "classifier.safetensors", tuned_meta)
    train_reader(generate(96, seed=2), data[1], tmp_path / "judge", "multidigit", {"width": 4}, progress=False,
                 schedule=Schedule(epochs=1, batch=32, seed=1))
    load_judge(tmp_path / "judge" / "classifier.safetensors", tuned_meta)     # an independent one is fine
    train_reader(data[0], data[1], tmp_path / "ctc", "ctc", {"width": 4, "hidden": 4},
                 progress=False, schedule=Schedule(epochs=1, batch=32))
    with pytest.raises(SeqdrawError, match="multidigit"):            # a guide's loss needs the length head
        load_guide(str(tmp_path / "ctc" / "classifier.safetensors"))
    for bad in (1.0, 1.2, -0.1):                 # 1 divided by zero; above 1 silently turned replay off
        with pytest.raises(SeqdrawError, match="replay"):
            config(tmp_path, replay=bad)
    with pytest.raises(SeqdrawError, match="guide_weight"):
        config(tmp_path, guide_weight=0)
    with pytest.raises(SeqdrawError, match="guide_style_temperature"):
        config(tmp_path, guide_style_temperature=-1)
    with pytest.raises(SeqdrawError, match="needs a guide"):
        config(tmp_path, style_match_weight=10)
    with pytest.raises(SeqdrawError, match="style_match_weight"):
        config(tmp_path, style_match_weight=-1, guide="g")
    with pytest.raises(SeqdrawError, match="no such reader"):
        load_guide(str(tmp_path / "nope.safetensors"))


def test_truncated_checkpoint_is_refused(tmp_path, data):
    """With every checkpoint truncated there is nothing to resume from (one damaged newest checkpoint
    falls back to the one before: tests/test_reliability_round3.py)."""
    cfg = config(tmp_path)
    train(cfg, data=data, stop_after=4, progress=False)
    for ckpt in complete_checkpoints(tmp_path / "run"):
        f = ckpt / "model.safetensors"
        f.write_bytes(f.read_bytes()[:200])
    with pytest.raises(SeqdrawError, match="no intact checkpoint"):
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
    assert TrainConfig(preset="seqdraw-cur").curriculum.kind == "replay"
    assert TrainConfig(preset="seqdraw").curriculum.kind == "none"
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
    cfg.optimiser = dataclasses.replace(cfg.optimiser, batch_size=16)
    train(cfg, data=data, progress=False)
    stages = {json.loads(l).get("stage") for l in open(tmp_path / "run" / "metrics.jsonl")}
    assert {1, 2, 3} <= stages


def test_cli_train_and_resume(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "--out", str(out), "--synth-n", "48", "--epochs", "1", "--max-len", "2", "--batch-size", "16",
            "--set", "val_size=8", "--set", "compile=false"] + [f"--set=model.{k}={v}" for k, v in TINY.items()]
    assert main(argv) == 0
    assert (out / "final" / "model.safetensors").exists() and (out / "config.json").exists()
    assert list((out / "samples").glob("*.png"))
    assert main(argv) == 2                                          # refuses to overwrite
    assert "--resume" in one_line_error(capsys.readouterr().err)
    assert main(["train", "--resume", str(tmp_path / "nope")]) == 2
    assert "config.json" in one_line_error(capsys.readouterr().err)


def test_device_is_checked_before_anything_is_written(tmp_path, capsys):
    base = ["train", "--out", str(tmp_path / "d"), "--synth-n", "16", "--set", "compile=false"]
    for device, message in (("tpu", "use cpu, cuda or cuda:N"), ("cuda", "CUDA is not available")):
        if device == "cuda" and torch.cuda.is_available():
            continue
        assert main(base + ["--set", f"device={device}"]) == 2
        assert message in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "d").exists()
    from seqdraw.devices import resolve_device
    assert resolve_device("cpu") == torch.device("cpu")


def _losses(run):
    return [json.loads(l)["loss"] for l in open(run / "metrics.jsonl") if '"loss"' in l and "event" not in l]


@pytest.mark.parametrize("recipe", [["--preset", "seqdraw"], ["--preset", "rnndraw"],
                                    ["--set", "model.label_attention=scheduled", "--digit-weight", "4"]],
                         ids=["learned", "rnndraw", "shipped-scheduled"])
@pytest.mark.slow
def test_ddp_two_processes_match_single_process(tmp_path, recipe):
    """torchrun with 2 CPU processes (gloo): the loss after a few steps matches one process on the same
    global batches, within the tolerance that different z-noise streams allow; for every preset and the
    shipped recipe's scheduled attention (which crashed DDP while it held unused attention weights)."""
    import subprocess
    import sys
    common = ["train", "--synth-n", "64", "--epochs", "1", "--max-len", "2", "--batch-size", "16",
              "--max-steps", "4", "--curriculum", "none", "--set", "val_size=8", "--set", "log_every=1",
              "--set", "warmup_steps=1", "--set", "lr=0.03", "--set", "compile=false"] + [
                  f"--set=model.{k}={v}" for k, v in TINY.items()] + recipe
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "seqdraw", *common, "--out", str(tmp_path / "one")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", "29533", "-m", "seqdraw", *common, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(a) == len(b) == 4
    print("single:", [round(v, 2) for v in a], "ddp x2:", [round(v, 2) for v in b])
    np.testing.assert_allclose(a, b, rtol=0.01)
    assert a[-1] < a[0]                                         # and it trained
    assert len(list((tmp_path / "two").glob("ckpt-*"))) >= 1    # rank 0 wrote checkpoints


def test_non_finite_steps_are_skipped_and_logged(tmp_path, data, monkeypatch):
    from seqdraw.model import ConditionalDRAW
    real_forward = ConditionalDRAW.forward

    def poisoned(self, *args, **kwargs):
        out = real_forward(self, *args, **kwargs)
        out["loss"] = out["loss"] * float("nan")               # every step: a NaN loss
        return out

    monkeypatch.setattr(ConditionalDRAW, "forward", poisoned)
    cfg = config(tmp_path, curriculum="none", epochs=1, max_steps=6)
    torch.manual_seed(0)
    summary = train(cfg, data=data, progress=False)
    assert summary["skipped_steps"] == 6
    events = [json.loads(l) for l in open(tmp_path / "run" / "metrics.jsonl") if "event" in l]
    assert sum(e["event"] == "skipped non-finite step" for e in events) == 6
    assert any(e["event"] == "lr backed off" for e in events)       # 5 in a row halve the learning rate
    monkeypatch.setattr(ConditionalDRAW, "forward", real_forward)
    trained = load_model(tmp_path / "run" / "final")[0]
    torch.manual_seed(cfg.run.seed)
    fresh = ConditionalDRAW(trained.config)                         # the initial weights of that seed
    for (k, a), b in zip(fresh.state_dict().items(), trained.state_dict().values()):
        torch.testing.assert_close(a, b, msg=f"{k} changed although every step was skipped")


def test_style_distance_compares_sets_not_pairs():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(16, 32, 64, generator=g)
    shuffled = real[torch.randperm(16, generator=g)]
    # a set against itself in another order: nothing to move
    assert style_distance(shuffled, real, 4, 32, torch.Generator().manual_seed(1)) < 1e-10
    # one style for every sample is far from a varied set, and the distance says which way to move
    one_style = real[:1].expand(16, -1, -1).clone().requires_grad_(True)
    d = style_distance(one_style, real, 4, 32, torch.Generator().manual_seed(1))
    assert d > 0.01
    d.backward()
    assert one_style.grad.abs().sum() > 0
    # dark grounds against light ones are farther apart than two varied sets
    dark, light = torch.rand(16, 32, 64, generator=g) * 0.3, 0.7 + torch.rand(16, 32, 64, generator=g) * 0.3
    assert style_distance(dark, light, 4, 32, g) > 10 * style_distance(real, torch.rand(16, 32, 64, generator=g), 4, 32, g)


def test_every_train_config_field_is_a_flag():
    """The train flags are derived from TrainConfig: a new field cannot be forgotten."""
    import dataclasses

    from seqdraw.cli import build_parser
    from seqdraw.cli.train import train_config
    from seqdraw.train_config import GROUPS
    samples = {bool: "false", int: "7", float: "0.5", str: "seqdraw"}
    grouped = [(f, g) for g, cls in GROUPS.items() for f in dataclasses.fields(cls)]
    for f, group in [(f, None) for f in dataclasses.fields(TrainConfig) if f.name not in GROUPS] + grouped:
        if f.name == "model":
            continue
        name = f.metadata.get("flag") or f.name
        t = type(f.default)
        text = {"preset": "rnndraw", "curriculum": "paper", "device": "cpu", "precision": "bf16", "max_len": "2",
                "replay": "0.5", "digit_weight": "2", "lr": "0.5", "guide_style_temperature": "2"}.get(name, samples[t])
        args = build_parser().parse_args(["train", "--" + name.replace("_", "-"), text])
        assert getattr(args, name) == {bool: lambda s: s == "true", int: int, float: float, str: str}[t](text), name
        # these need another flag: a guide, or a discriminator
        if name not in ("guide", "style_match_weight", "guide_views", "adversary_lr", "adversary_width", "data"):
            built = train_config(args)
            assert getattr(getattr(built, group) if group else built, f.name) == getattr(args, name), name
    args = build_parser().parse_args(["train", "--set", "model.enc_size=32", "--set", "lr=0.25"])
    cfg = train_config(args)
    assert cfg.model == {"enc_size": 32} and cfg.optimiser.lr == 0.25
    for flag in ("guide_weight=3", "objective.guide_weight=3"):        # an objective setting by either name
        args = build_parser().parse_args(["train", "--set", flag, "--set", "guide=g.safetensors"])
        assert train_config(args).objective.guide_weight == 3.0
    for flag in ("curriculum=paper", "curriculum.kind=paper"):          # a renamed field by its flag's name too
        assert train_config(build_parser().parse_args(["train", "--set", flag])).curriculum.kind == "paper"
    for flag in ("data.max_len=x", "optimiser.nope=1", "model=1", "run.lr=1"):
        with pytest.raises(SeqdrawError, match="--set"):
            train_config(build_parser().parse_args(["train", "--set", flag]))


@pytest.mark.slow
def test_readme_ddp_command_runs_with_its_defaults(tmp_path):
    """README's torchrun command as it is written (the default compile on, no --set compile=false), on
    little data and few steps but at full size: the paper's network has more weights than one DDP bucket,
    so Dynamo's DDP optimiser split the compiled step and failed (BackendCompilerFailed: 'float' object
    has no attribute 'meta'; a tiny model, one bucket, did not show it)."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
           "-m", "seqdraw", "train", "--preset", "seqdraw-cur", "--data", "synth", "--out", str(tmp_path / "ddp"),
           "--max-steps", "3", "--synth-n", "64", "--batch-size", "16", "--set", "val_size=8"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert json.loads((tmp_path / "ddp" / "summary.json").read_text())["step"] == 3


def test_settings_nest_by_concern_and_old_flat_configs_still_resume(tmp_path, data):
    """config.json groups the settings (run, data, optimiser, curriculum, objective); a run folder written
    before the groups (every setting flat) resumes unchanged, and a change that shapes the weights is
    refused on resume, whichever spelling names it."""
    from seqdraw.train_config import flatten, nest
    from seqdraw.trainer import resume_config

    cfg = config(tmp_path, curriculum="none", epochs=1, digit_weight=2.0)
    assert cfg.objective == ObjectiveConfig(digit_weight=2.0)
    train(cfg, data=data, stop_after=3, progress=False)
    path = tmp_path / "run" / "config.json"
    saved = json.loads(path.read_text())
    assert saved["objective"]["digit_weight"] == 2.0 and saved["optimiser"]["batch_size"] == cfg.optimiser.batch_size
    assert saved["data"]["source"] == cfg.data.source and saved["curriculum"]["kind"] == "none"
    assert not {"digit_weight", "batch_size", "epochs", "max_steps"} & set(saved)
    path.write_text(json.dumps(flatten(saved)))                                         # the old form
    resumed = resume_config(str(tmp_path / "run"), {"max_steps": 6})
    assert resumed.objective == cfg.objective and resumed.run.max_steps == 6
    assert dataclasses.asdict(resumed) == dataclasses.asdict(cfg) | {"run": dataclasses.asdict(resumed.run)}
    train(resumed, resume=True, data=data, progress=False)
    for change in ({"objective": {"digit_weight": 3.0}}, {"digit_weight": 3.0}):
        with pytest.raises(SeqdrawError, match="cannot change digit_weight"):
            resume_config(str(tmp_path / "run"), change)
    for change in ({"optimiser": {"lr": 1.0}}, {"lr": 1.0}):
        with pytest.raises(SeqdrawError, match="cannot change lr"):
            resume_config(str(tmp_path / "run"), change)
    with pytest.raises(SeqdrawError, match="both flat and under objective"):
        nest({"guide_weight": 1.0, "objective": {"guide_weight": 2.0}})
    with pytest.raises(SeqdrawError, match="lr given both flat and under optimiser"):
        nest({"lr": 1.0, "optimiser": {"lr": 2.0}})
    with pytest.raises(SeqdrawError, match="objective must be a JSON object"):
        TrainConfig.from_dict({"objective": [1]})
