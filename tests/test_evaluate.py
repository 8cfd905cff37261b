import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import seqdraw

from conftest import TINY_FILE, one_line_error, save_tiny_model
from seqdraw.cli import main
from seqdraw.data.synth import SynthConfig, generate
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.critic import critic_auc
from seqdraw.evaluate.metrics import (mean_pairwise_distance, nearest_distances, roc_auc,
                                      stroke_maps, unit_images, wilson_interval)
from seqdraw.readers import Schedule, accuracy_by_length, load_reader, reader_accuracy, train_reader
from seqdraw.evaluate.report import memorisation


# ---- statistics with known answers -------------------------------------------------------------------


def reproduce_table2(data, out, overrides=None, progress=False, rows=(), judges=(), objectives=("paper",), **kw):
    """The table's API with the old keyword names of these tests: Table2Config plus the overrides."""
    from seqdraw.experiments.config import Table2Config
    from seqdraw.experiments.table2 import reproduce_table2 as run
    objective = "both" if set(objectives) == {"paper", "recipe"} else objectives[0]
    config = Table2Config(data=data, rows=",".join(rows), judge=list(judges), objective=objective, **kw)
    return run(config, out, overrides, progress)

def test_accuracy_by_length_arithmetic():
    ok = np.array([True, True, False, False])
    assert accuracy_by_length(ok, np.array([1, 2, 2, 3])) == {"1": 1.0, "2": 0.5, "3": 0.0, "all": 0.5}


def test_one_digit_accuracy_by_digit_arithmetic():
    from seqdraw.evaluate.report import by_digit, digit_lines
    labels = np.array([[5, -1], [5, -1], [5, -1], [0, -1], [0, 1], [7, 3]])
    lengths = np.array([1, 1, 1, 1, 2, 2])
    correct = np.array([True, False, False, True, False, True])
    d = by_digit(correct, labels, lengths)
    assert set(d) == {"0", "5"}                                  # two-digit numbers do not count
    assert (d["5"]["acc"], d["5"]["n"], d["0"]["acc"], d["0"]["n"]) == (pytest.approx(1 / 3), 3, 1.0, 1)
    assert "**5: 33.3%" in "\n".join(digit_lines({"judge": d}))     # the worst digit is named


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(97, 100)
    assert (round(lo, 4), round(hi, 4)) == (0.9155, 0.9897)          # Wilson (1927), z = 1.96
    lo, hi = wilson_interval(0, 50)
    assert lo == 0 and 0.06 < hi < 0.08                              # never a zero-width interval at 0%


def test_roc_auc_known_values():
    assert roc_auc(np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([4, 3, 2, 1]), np.array([0, 0, 1, 1])) == 0.0
    assert roc_auc(np.array([1, 1, 1, 1]), np.array([0, 1, 0, 1])) == 0.5     # ties count half


def test_mean_pairwise_distance():
    x = np.zeros((3, 4))
    x[1] += 1
    # pairs: (0,1) = 2, (0,2) = 0, (1,2) = 2 -> mean 4/3
    assert mean_pairwise_distance(x) == pytest.approx(4 / 3)


def test_stroke_variety_ignores_the_ground_and_sees_the_strokes():
    glyphs = generate(12, seed=0, config=SynthConfig(length_probs=(0, 0, 1)))["images"].astype(np.float32) / 255
    one = np.repeat(glyphs[:1], 8, axis=0)
    yy, xx = np.mgrid[0:32, 0:64] / 64.0
    grounds = np.stack([one[0] * 0.6 + 0.4 * (a * yy + b * xx) / 1.5 + c * 0.2 for a, b, c in
                        np.random.default_rng(0).uniform(0, 1, (8, 3))])
    raw_ground_spread = mean_pairwise_distance(grounds.reshape(8, -1))
    assert raw_ground_spread > 2                                        # in pixels the ground change is large
    template = mean_pairwise_distance(stroke_maps(grounds))
    varied = mean_pairwise_distance(stroke_maps(glyphs[:8]))
    assert template < 0.2 and varied > 0.8                               # one template on many grounds is ~0


def test_memorisation_finds_an_exact_copy():
    data = generate(60, seed=1, config=SynthConfig(length_probs=(1, 1)))["images"]
    train, test = data[:40], data[40:]
    generated = np.concatenate([train[:3], test[:7]]).astype(np.float32) / 255
    m = memorisation(generated, test, train)
    assert m["copies"] >= 3 and m["samples"] == 10
    d = nearest_distances(unit_images(generated), unit_images(train.astype(np.float32) / 255))
    assert np.allclose(d[:3], 0, atol=1e-3) and (d[3:] > 0.05).all()


@pytest.mark.slow
def test_critic_finds_no_difference_between_two_draws_and_a_clear_one(small_sets):
    train, _ = small_sets
    x = train["images"]
    same = critic_auc(x[:300], x[300:600], folds=3, steps=120)
    assert 0.35 < same["auc"] < 0.65 and same["lo"] < same["auc"] < same["hi"]
    marked = x[:300].astype(np.float32) / 255
    marked[:, 4:12, 4:12] = 1.0                                          # a white blob in every image
    clear = critic_auc(marked, x[300:600], folds=3, steps=120)
    assert clear["auc"] > 0.95
    assert len(clear["first_scores"]) == 300


# ---- readers ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_sets():
    # an easy variant (single digits, clean, high contrast) keeps the test to seconds
    cfg = SynthConfig(length_probs=(1,), contrast=(0.5, 0.85), blur_sigma=(0, 0), noise_std=(0, 0), p_jpeg=0,
                      p_neighbours=0, p_low_res=0, texture_amplitude=(0, 0.05), max_rotation=0, max_shear=0.1)
    return generate(1200, seed=0, config=cfg), generate(200, seed=1, config=cfg)


@pytest.mark.slow
def test_classifier_learns_a_small_set(tmp_path, small_sets):
    train, test = small_sets
    result = train_reader(train, test, tmp_path, "multidigit", {"width": 16, "hidden": 128}, progress=False,
                          schedule=Schedule(epochs=8, batch=64, lr=3e-3))
    assert result["test_sequence_accuracy"]["all"] > 0.85       # chance is 0.1
    reader, meta = load_reader(tmp_path / "classifier.safetensors")
    assert reader.arch == "multidigit" and meta["trained_on"] == result["trained_on"]
    assert reader_accuracy(reader, test)["all"] == pytest.approx(result["test_sequence_accuracy"]["all"])


@pytest.mark.slow
def test_ctc_judge_learns_a_tiny_set(tmp_path):
    from seqdraw.data.heldout import strings_of
    from seqdraw.readers.ctc import CTCConfig, CTCRecogniser
    from seqdraw.data.shards import as_tensors as tensors
    cfg = SynthConfig(length_probs=(1, 1), contrast=(0.5, 0.85), blur_sigma=(0, 0), noise_std=(0, 0), p_jpeg=0,
                      p_neighbours=0, p_low_res=0, texture_amplitude=(0, 0.05), max_rotation=0, max_shear=0.1)
    tiny = generate(64, seed=0, config=cfg)
    x, labels, lengths = tensors(tiny)
    torch.manual_seed(0)
    reader = CTCRecogniser(CTCConfig(width=16, hidden=64))
    opt = torch.optim.Adam(reader.parameters(), lr=3e-3)
    for _ in range(350):                      # CTC's all-blank plateau lasts ~250 steps here, then it fits
        reader.train()
        loss = reader.loss(x, labels, lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
    read = np.array(reader.read(x))
    assert (read == np.array(strings_of(tiny["labels"], tiny["lengths"]))).mean() > 0.9     # whole strings
    assert {len(s) for s in read} == {1, 2}                              # no length head: CTC finds the lengths
    # the training path: train_reader builds, trains, saves and reloads a CTC reader
    result = train_reader(tiny, tiny, tmp_path, "ctc", {"width": 8, "hidden": 8},
                          progress=False, schedule=Schedule(epochs=1, batch=32))
    loaded, meta = load_reader(tmp_path / "classifier.safetensors")
    assert loaded.arch == "ctc" and meta["ctc_config"] == {"width": 8, "hidden": 8}
    assert reader_accuracy(loaded, tiny)["all"] == pytest.approx(result["test_sequence_accuracy"]["all"])


def test_ctc_decoding_merges_repeats_only_across_no_blank():
    from seqdraw.readers.ctc import BLANK, CTCRecogniser
    reader = CTCRecogniser()
    path = [1, 1, BLANK, 1, 7, 7, BLANK, BLANK] + [BLANK] * 24            # -> "117"
    logits = torch.full((1, 32, 11), -10.0)
    logits[0, torch.arange(32), torch.tensor(path)] = 0.0
    reader.forward = lambda images: logits.log_softmax(-1)
    assert reader.read(torch.zeros(1, 32, 64)) == ["117"]


def test_reader_cli_errors(tmp_path, capsys):
    assert main(["classifier", "eval", "--model", str(tmp_path / "none.safetensors"),
                 "--data", str(tmp_path / "x.npz")]) == 2
    assert "no such reader file" in one_line_error(capsys.readouterr().err)
    assert main(["classifier", "train", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "train.npz" in one_line_error(capsys.readouterr().err)


# ---- seqdraw evaluate --------------------------------------------------------------------------------------

FAST = ["--per-length", "6", "--critic-images", "40", "--critic-steps", "10", "--variety-strings", "2", "--reconstructions", "6"]


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    """A synthetic data folder, two tiny judges trained on other images, a tiny (untrained) model file."""
    from seqdraw.data.shards import save_shard
    root = tmp_path_factory.mktemp("eval")
    cfg = SynthConfig(length_probs=(1, 1, 1))
    train, test = generate(64, seed=3, config=cfg, exclude_heldout=True), generate(30, seed=4, config=cfg)
    save_shard(root / "train.npz", train)
    save_shard(root / "test.npz", test)
    (root / "config.json").write_text(json.dumps({"source": "synthetic", "config": {"length_probs": [1, 1, 1]}}))
    other = generate(64, seed=5, config=cfg)
    for arch, config in (("multidigit", {"width": 8, "hidden": 32}), ("ctc", {"width": 8, "hidden": 16})):
        train_reader(other, test, root / arch, arch, config, progress=False, schedule=Schedule(epochs=1, batch=32))
    save_tiny_model(root / "model.safetensors", heldout_seen=0)
    return root


def judges(root):
    return ["--judge", str(root / "multidigit" / "classifier.safetensors"),
            "--judge", str(root / "ctc" / "classifier.safetensors")]


REPORT_FIELDS = {"samples", "judges_on_test_images", "reconstructions", "test_bound_nats", "realism_auc",
                 "realism_floor_auc", "frechet", "variety", "memorisation", "usefulness", "data_source", "judges",
                 "max_len", "drawing"}


def test_evaluate_reports_every_figure_for_both_judges(tiny_setup, capsys):
    root = tiny_setup
    out = root / "report"
    argv = ["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root), "--out", str(out)]
    assert main(argv + judges(root) + FAST) == 0
    r = json.loads((out / "report.json").read_text())
    assert REPORT_FIELDS <= set(r)
    assert r["data_source"] == "synthetic test images"
    assert set(r["samples"]) == {"multidigit (classifier.safetensors)", "ctc (classifier.safetensors)"}
    for by_L in r["samples"].values():
        assert set(by_L) == {"1", "2", "3", "all"}
        assert by_L["3"]["heldout"]["n"] == 6 and by_L["3"]["seen"]["n"] == 6 and "heldout" not in by_L["2"]
        a = by_L["1"]["seen"]
        assert a["lo"] <= a["acc"] <= a["hi"]
    for name, digits in r["samples_one_digit_by_digit"].items():     # the one-digit figure, split by digit
        ones = r["samples"][name]["1"]["seen"]
        assert sum(d["n"] for d in digits.values()) == ones["n"] and set(digits) <= set("0123456789")
        assert sum(d["acc"] * d["n"] for d in digits.values()) == pytest.approx(ones["acc"] * ones["n"])
    assert 0 <= r["realism_auc"]["auc"] <= 1 and 0 <= r["realism_floor_auc"]["auc"] <= 1
    fd = r["frechet"]                       # the multidigit judge's features, against their own floor
    assert fd["judge"].startswith("multidigit") and fd["generated"] > fd["floor"] >= 0
    assert set(r["variety"]) == {"1", "2", "3", "all"} and r["variety"]["all"]["ratio"] > 0
    assert r["memorisation"]["samples"] > 0 and r["test_bound_nats"]["all"] > 0
    assert set(r["drawing"]["order"]) == set(r["drawing"]["alignment"]) == {"2", "3"}     # learned attention
    assert r["drawing"]["alignment"]["3"]["chance"] == pytest.approx(1 / 3)
    assert 0 <= r["drawing"]["order"]["2"]["spread"] <= 1
    assert set(r["drawing"]["order_ink_boxes"]) == {"2", "3"}                           # the estimate's check
    assert set(r["drawing"]["samples"]["order"]) == set(r["drawing"]["samples"]["alignment"]) == {"2", "3"}
    md = (out / "report.md").read_text()
    assert "held-out" in md and "the floor" in md and "synthetic test images" in md
    assert "digit under the pen" in md and "not the Inception FID" in md and "One-digit samples by digit" in md
    assert (out / "samples.png").exists() and (out / "critic.png").exists()
    again = root / "report2"
    assert main(argv[:-1] + [str(again)] + judges(root) + FAST) == 0
    r2 = json.loads((again / "report.json").read_text())
    assert r2["samples"] == r["samples"] and r2["realism_auc"]["auc"] == r["realism_auc"]["auc"]   # seeded


def test_usefulness_pipeline_end_to_end(tiny_setup, tmp_path, capsys):
    root = tiny_setup
    crops = tmp_path / "crops.npz"
    rng = np.random.default_rng(0)
    np.savez(crops, images=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), labels=rng.integers(0, 10, 20))
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root), "--out",
                 str(tmp_path / "u"), "--usefulness", "40", "--real-crops", str(crops)] + judges(root) + FAST) == 0
    u = json.loads((tmp_path / "u" / "report.json").read_text())["usefulness"]
    assert u["numbers"]["images"] == 40 and set(u["numbers"]["generated"]) == {"1", "2", "3"}
    assert u["digits_real_svhn"]["generated"]["n"] == 20 and u["digits_real_svhn"]["ratio"] >= 0
    assert "Usefulness" in (tmp_path / "u" / "report.md").read_text()


def test_digit_window_crops_like_svhn_even_past_the_frame():
    from seqdraw.evaluate.usefulness import crop_digits, digit_window
    frames = np.zeros((2, 32, 64), np.uint8)
    frames[:, :, 60:] = 200
    assert np.array_equal(crop_digits(frames, (32.0, 16.0, 32.0))[0], frames[0, :, 16:48])   # in the frame: a slice
    past = crop_digits(frames, (58.0, 16.0, 30.0))           # a right-aligned digit: the window leaves the frame
    assert past.shape == (2, 32, 32) and past[0, 16, -1] == 200 and past[0, 16, 0] == 0
    boxes = np.zeros((3, 5, 4), np.float32)
    boxes[:, 0] = [[40, 4, 12, 24], [42, 5, 10, 22], [44, 6, 14, 26]]      # left, top, width, height
    assert digit_window(boxes, np.array([1, 1, 1])) == (48.0, 17.0, 24.0)  # the median box, widened to a square


def test_evaluate_refusals(tiny_setup, tmp_path, capsys):
    root = tiny_setup
    base = ["evaluate", "--data", str(root), "--out", str(tmp_path / "r")] + FAST

    save_tiny_model(tmp_path / "seen.safetensors", heldout_seen=12)         # trained on held-out strings
    assert main(base + ["--model", str(tmp_path / "seen.safetensors")] + judges(root)) == 2
    assert "held-out strings" in one_line_error(capsys.readouterr().err)

    assert main(base + ["--model", str(root / "model.safetensors"), "--judge", str(tmp_path / "none.st")]) == 2
    assert "no such judge" in one_line_error(capsys.readouterr().err)

    from seqdraw.model.pretrained import save_model
    from seqdraw.model import ConditionalDRAW, preset
    save_model(tmp_path / "wide.safetensors", ConditionalDRAW(preset("seqdraw", width=32, **TINY_FILE)),
               extra={"max_len": 3})
    assert main(base + ["--model", str(tmp_path / "wide.safetensors")] + judges(root)) == 2
    assert "32x32" in one_line_error(capsys.readouterr().err)

    from seqdraw.data.shards import fingerprint, load_shard
    own = fingerprint(load_shard(root / "train.npz"))                  # a judge trained on the model's images
    train_reader(load_shard(root / "train.npz"), load_shard(root / "test.npz"), tmp_path / "own", "multidigit",
                 {"width": 4, "hidden": 8}, progress=False, schedule=Schedule(epochs=1, batch=32))
    save_tiny_model(tmp_path / "m.safetensors", heldout_seen=0, trained_on=[own])
    assert main(base + ["--model", str(tmp_path / "m.safetensors"), "--judge",
                        str(tmp_path / "own" / "classifier.safetensors")]) == 2
    assert "own training images" in one_line_error(capsys.readouterr().err)


def test_reproduce_table2_rows_share_one_budget_and_continue(tiny_setup, capsys):
    root = tiny_setup
    out = root / "t2"
    argv = ["reproduce", "table2", "--data", str(root), "--out", str(out), "--max-steps", "2",
            "--max-len", "2", "--per-length", "4", "--set", "val_size=8", "--set", "batch_size=16",
            "--set", "compile=false"] + judges(root) + [f"--set=model.{k}={v}" for k, v in TINY_FILE.items()]
    assert main(argv + ["--rows", "rnndraw,seqdraw-cur"]) == 0
    table = (out / "table2.md").read_text()
    for name in ("rnnDRAW", "seqDRAW-cur"):
        assert f"| paper | {name} | multidigit" in table and f"| paper | {name} | ctc" in table
    assert "81.65" in table                                           # the paper's numbers beside ours
    rows = json.loads((out / "table2.json").read_text())["rows"]
    assert set(rows) == {"paper/rnndraw", "paper/seqdraw-cur"}
    assert {r["steps"] for r in rows.values()} == {2}                    # one budget for every row
    assert {r["images"] for r in rows.values()} == {24}                 # (a partial last batch per length)
    for r in rows.values():
        assert r["strings_per_length"] == {"1": 4, "2": 4}
        for figure in ("reconstructions", "samples"):
            assert [j.split()[0] for j in r[figure]] == ["multidigit", "ctc"]
            assert all(set(by_length) == {"1", "2"} for by_length in r[figure].values())
        assert set(r["bound_nats"]) == {"1", "2", "all"}
    assert rows["paper/seqdraw-cur"]["curriculum"] == "paper"
    assert "alignment" in rows["paper/seqdraw-cur"]["drawing"]["alignment"]["2"]
    assert rows["paper/rnndraw"]["drawing"]["alignment"] == {}          # rnnDRAW has no attention to align
    for picture in ("process.png", "reconstructions.png", "samples.png"):
        assert (out / "paper" / "rnndraw" / picture).exists()
    # a second call with the same settings skips the finished rows and adds the others to the same table
    # (a row judged before the samples' drawing process was measured gets it on the next call)
    row_json = out / "paper" / "rnndraw" / "row.json"
    old = json.loads(row_json.read_text())
    assert set(old["drawing"]["samples"]["order"]) == {"2"} and old["drawing"]["samples"]["alignment"] == {}
    del old["drawing"]["samples"]
    row_json.write_text(json.dumps(old))
    assert main(argv + ["--rows", "rnndraw,scheduled"]) == 0
    assert "paper/rnndraw: done before" in capsys.readouterr().out
    assert json.loads(row_json.read_text())["drawing"]["samples"]["order"]["2"]["numbers"] > 0
    assert set(json.loads((out / "table2.json").read_text())["rows"]) == {"paper/rnndraw", "paper/seqdraw-cur",
                                                                         "paper/scheduled"}
    # another budget in the same folder is refused: the rows of one table share one budget
    other = [a if a != "2" or i != argv.index("--max-steps") + 1 else "3" for i, a in enumerate(argv)]
    assert main(other + ["--rows", "seqdraw"]) == 2
    assert "share one budget" in one_line_error(capsys.readouterr().err)
    assert main(argv + ["--rows", "nope"]) == 2
    assert "unknown row" in one_line_error(capsys.readouterr().err)
    assert main(argv + ["--objective", "recipe"]) == 2
    assert "--guide" in one_line_error(capsys.readouterr().err)
    assert main(argv + ["--objective", "recipe", "--guide", str(root / "none.safetensors")]) == 2
    assert "none.safetensors" in one_line_error(capsys.readouterr().err)
    assert main(argv + ["--objective", "both", "--guide", str(root / "ctc" / "classifier.safetensors")]) == 2
    assert "multidigit" in one_line_error(capsys.readouterr().err)


def test_reproduce_table2_resumes_an_unfinished_row(tiny_setup, capsys):
    root = tiny_setup
    out = root / "t2-resume"
    common = dict(max_steps=4, max_len=2, judges=[str(root / "multidigit" / "classifier.safetensors")],
                  per_length=3, overrides={"val_size": 8, "batch_size": 16, "compile": False, "checkpoint_every": 1,
                                           "model": TINY_FILE}, progress=False)
    from seqdraw.experiments import table2
    real_train = table2.train
    calls = []

    def stopping_train(config, **kwargs):          # the first call stops after 2 steps, as a kill would
        calls.append(kwargs["resume"])
        return real_train(config, stop_after=2 if len(calls) == 1 else None, **kwargs)
    table2.train = stopping_train
    try:
        with pytest.raises(SeqdrawError, match="run the same command again"):
            reproduce_table2(str(root), out, rows=["seqdraw"], **common)
        assert not (out / "paper" / "seqdraw" / "row.json").exists()
        reproduce_table2(str(root), out, rows=["seqdraw"], **common)
    finally:
        table2.train = real_train
    assert calls == [False, True]
    row = json.loads((out / "paper" / "seqdraw" / "row.json").read_text())
    assert row["steps"] == 4


def test_budget_reaches_every_curriculum_stage():
    from seqdraw.experiments.table2 import epochs_for_budget
    from seqdraw.trainer import TrainConfig, batch_plan
    # unequal lengths, as in SVHN: rounding the epochs up would spend the budget before the last stage
    for lengths in (np.repeat([1, 2, 3], 640), np.repeat([1, 2, 3], [640, 3200, 192])):
        for curriculum in ("none", "paper", "replay"):
            cfg = TrainConfig.from_dict(dict(curriculum=curriculum, max_len=3, batch_size=64))
            steps = [len(batch_plan(lengths, st, cfg, s, 0)) for s, st in enumerate(cfg.stages())]
            epochs = epochs_for_budget(cfg, lengths, 100)
            if curriculum == "none":                    # the budget ends the run
                assert epochs * steps[0] >= 100 and (epochs - 1) * steps[0] < 100
            else:                                       # every stage starts within the budget
                assert epochs * sum(steps[:-1]) < 100 and (epochs + 1) * sum(steps) > 100


def test_shipped_judges_never_guided_the_shipped_model_and_read_its_samples():
    from seqdraw.model.pretrained import load_model
    from seqdraw.evaluate.judges import load_judge, shipped_judge_paths
    from seqdraw.model.pretrained import default_model_path
    if not (all(p.exists() for p in shipped_judge_paths()) and default_model_path().exists()):
        pytest.skip("no shipped weights in this checkout")
    _, meta = load_model(default_model_path())
    images = torch.from_numpy(seqdraw.load().generate("2024", n=8, seed=0).images)
    for path in shipped_judge_paths():
        judge, judge_meta = load_judge(path, meta)                     # refused if related to the model
        assert judge_meta["trained_on"]
        assert sum(s == "2024" for s in judge.read(images)) >= 6       # each judge reads the shipped model's 2024


def test_evaluate_uses_the_shipped_judges_unless_told(tiny_setup, tmp_path, monkeypatch, capsys):
    import seqdraw.evaluate.judges as judges_module
    root = tiny_setup
    monkeypatch.setattr(judges_module, "shipped_judge_paths", lambda: [root / "ctc" / "classifier.safetensors"])
    import seqdraw.evaluate.report as report_module
    monkeypatch.setattr(report_module, "shipped_judge_paths", judges_module.shipped_judge_paths)
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root),
                 "--out", str(tmp_path / "r")] + FAST) == 0
    assert list(json.loads((tmp_path / "r" / "report.json").read_text())["judges"]) == ["ctc (classifier.safetensors)"]
    monkeypatch.setattr(report_module, "shipped_judge_paths", lambda: [tmp_path / "none.safetensors"])
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root),
                 "--out", str(tmp_path / "r2")] + FAST) == 2
    assert "no such judge" in one_line_error(capsys.readouterr().err)


def test_reproduce_table2_on_real_svhn_format(tiny_setup, tmp_path, capsys, monkeypatch):
    """The documented real-SVHN path, on fixtures in the official format (train.tar.gz, test.tar.gz with
    digitStruct.mat): seqdraw data svhn, then seqdraw reproduce table2 on the prepared folder."""
    import hashlib

    from seqdraw.data import svhn
    from svhn_fixtures import make_archive
    for split in ("train", "test"):
        archive = make_archive(tmp_path / "staging" / split, split)
        monkeypatch.setitem(svhn.SHA256, split, hashlib.sha256(archive.read_bytes()).hexdigest())
        (tmp_path / "svhn").mkdir(exist_ok=True)
        (tmp_path / "svhn" / f"{split}.tar.gz").write_bytes(archive.read_bytes())
    assert main(["data", "svhn", "--root", str(tmp_path / "svhn"), "--splits", "train", "test", "--max-len", "3"]) == 0
    out = tmp_path / "t2"
    argv = ["reproduce", "table2", "--data", f"svhn:{tmp_path / 'svhn'}", "--out", str(out), "--max-steps", "1",
            "--rows", "seqdraw-cur", "--per-length", "2", "--set", "val_size=2", "--set", "batch_size=2",
            "--set", "compile=false"] + judges(tiny_setup) + [f"--set=model.{k}={v}" for k, v in TINY_FILE.items()]
    assert main(argv) == 0
    row = json.loads((out / "table2.json").read_text())["rows"]["paper/seqdraw-cur"]
    assert row["strings_per_length"] == {"1": 1, "2": 1, "3": 1}        # the fixture's three numbers
    assert "| paper | seqDRAW-cur |" in (out / "table2.md").read_text()


def test_a_row_being_trained_by_another_process_is_skipped(tiny_setup, tmp_path, capsys):
    import subprocess
    import sys

    root = tiny_setup
    out = tmp_path / "t2"
    run = lambda: reproduce_table2(str(root), out, max_steps=1, max_len=2, per_length=2, rows=["seqdraw"],  # noqa: E731
                                   judges=[str(root / "multidigit" / "classifier.safetensors")], progress=False,
                                   overrides={"val_size": 4, "batch_size": 16, "compile": False, "model": TINY_FILE})
    (out / "paper").mkdir(parents=True)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / "paper" / ".seqdraw.lock").write_text(str(alive.pid))
        run()
        assert f"being trained by process {alive.pid}" in capsys.readouterr().out
        assert not (out / "paper" / "seqdraw").exists()
    finally:
        alive.kill()
        alive.wait()
    run()                                                     # its process is gone: the lock is taken over
    assert (out / "paper" / "seqdraw" / "row.json").exists()
    assert not (out / "paper" / ".seqdraw.lock").exists()


def test_reproduce_table2_recipe_objective_trains_with_the_guide(tiny_setup, tmp_path):
    from seqdraw.data.shards import load_shard
    root = tiny_setup
    cfg = SynthConfig(length_probs=(1, 1))
    train_reader(generate(64, seed=11, config=cfg), load_shard(root / "test.npz"), tmp_path / "guide", "multidigit",
                 {"width": 4, "hidden": 8}, progress=False, schedule=Schedule(epochs=1, batch=32))
    guide = str(tmp_path / "guide" / "classifier.safetensors")
    reproduce_table2(str(root), tmp_path / "t2", max_steps=2, max_len=2, per_length=2, rows=["seqdraw", "rnndraw"],
                     objectives=["paper", "recipe"], guide=guide, progress=False,
                     judges=[str(root / "ctc" / "classifier.safetensors")],
                     overrides={"val_size": 4, "batch_size": 16, "compile": False, "model": TINY_FILE})
    rows = json.loads((tmp_path / "t2" / "table2.json").read_text())["rows"]
    assert set(rows) == {f"{o}/{r}" for o in ("paper", "recipe") for r in ("seqdraw", "rnndraw")}
    used = json.loads((tmp_path / "t2" / "recipe" / "seqdraw" / "config.json").read_text())
    terms = used["objective"]
    assert terms["guide"] == guide and terms["style_match_weight"] == 100 and terms["adversarial_weight"] == 30
    assert used["model"]["likelihood"] == "logistic" and used["model"]["enc_size"] == TINY_FILE["enc_size"]
    assert json.loads((tmp_path / "t2" / "paper" / "seqdraw" / "config.json").read_text())["objective"]["guide"] == ""
    # a guide given with --set (any objective) guides the row too
    reproduce_table2(str(root), tmp_path / "t4", max_steps=1, max_len=2, per_length=2, rows=["seqdraw"], progress=False,
                     judges=[str(root / "ctc" / "classifier.safetensors")],
                     overrides={"val_size": 4, "batch_size": 16, "compile": False, "model": TINY_FILE, "guide": guide})
    assert json.loads((tmp_path / "t4" / "paper" / "seqdraw" / "config.json").read_text())["objective"]["guide"] == guide
    # the guide is never a judge: judging the recipe row with it is refused
    with pytest.raises(SeqdrawError, match="guided"):
        reproduce_table2(str(root), tmp_path / "t3", max_steps=1, max_len=2, per_length=2, rows=["seqdraw"],
                         objectives=["recipe"], guide=guide, progress=False, judges=[guide],
                         overrides={"val_size": 4, "batch_size": 16, "compile": False, "model": TINY_FILE})


def test_table2_config_names_the_rows_the_table_has():
    from seqdraw.experiments.config import ROW_NAMES, Table2Config
    from seqdraw.experiments.table2 import ROWS
    assert tuple(ROWS) == ROW_NAMES
    assert Table2Config(data="d").row_list() == list(ROW_NAMES)
    assert Table2Config(data="d", rows="seqdraw,rnndraw", objective="both").objectives() == ["paper", "recipe"]
    with pytest.raises(SeqdrawError, match="unknown row bogus"):
        Table2Config(data="d", rows="seqdraw,bogus")
    # the fourth row is seqDRAW under the paper's objective with the logistic likelihood, nothing else
    from seqdraw.experiments.table2 import row_config
    config = Table2Config(data="d")
    logistic = row_config("logistic", "paper", Path("r"), config, {})
    plain = row_config("seqdraw", "paper", Path("r"), config, {})
    assert logistic.model == {"likelihood": "logistic"} and plain.model == {}      # the preset's Bernoulli
    assert dataclasses.replace(logistic, model=plain.model) == plain


def test_frechet_distance_is_zero_for_one_set_and_grows_with_the_gap():
    from seqdraw.evaluate.metrics import frechet_distance
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 8))
    assert abs(frechet_distance(a, a)) < 1e-6
    b = rng.normal(size=(4000, 8))
    near = frechet_distance(a, b)                                   # two samples of one Gaussian: small
    shifted = frechet_distance(a, b + 1.0)                          # mean moved by 1 in 8 dims: about 8 more
    wider = frechet_distance(a, 2 * b)                              # covariance 4x: Tr(1 + 4 - 2 * 2) per dim
    assert near < 0.1 and abs(shifted - near - 8) < 0.5 and abs(wider - 8) < 0.8
