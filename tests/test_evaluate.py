import json

import numpy as np
import pytest
import torch

import seqdraw

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.data.synth import SynthConfig, generate
from seqdraw.evaluate.classifier import (ClassifierConfig, MultiDigitClassifier, evaluate_classifier, load_classifier,
                                         train_classifier)
from seqdraw.evaluate.metrics import (accuracy_by_length, frechet_distance, mean_pairwise_distance,
                                      position_accuracy, sequence_correct)
from seqdraw.evaluate.report import feature_frechet


def test_sequence_accuracy_arithmetic():
    labels = np.array([[1, -1, -1], [2, 3, -1], [4, 5, 6], [7, 8, -1]])
    lengths = np.array([1, 2, 3, 2])
    pred_len = np.array([1, 2, 3, 3])                      # last: wrong length
    pred_dig = np.array([[1, 9, 9], [2, 3, 0], [4, 0, 6], [7, 8, 0]])   # third: one wrong digit
    ok = sequence_correct(pred_len, pred_dig, lengths, labels)
    assert ok.tolist() == [True, True, False, False]      # digits past the length do not count
    acc = accuracy_by_length(ok, lengths)
    assert acc == {"1": 1.0, "2": 0.5, "3": 0.0, "all": 0.5}
    pos = position_accuracy(pred_dig, lengths, labels)
    assert pos == {"1": 1.0, "2": pytest.approx(2 / 3), "3": 1.0}     # position 2: 3 vs 3, 0 vs 5, 8 vs 8


def test_frechet_features_come_from_every_length():
    torch.manual_seed(0)
    clf = MultiDigitClassifier(ClassifierConfig(width=4)).eval()
    rng = np.random.default_rng(0)
    left, right = np.zeros((32, 64), np.float32), np.zeros((32, 64), np.float32)
    left[:, :32], right[:, 32:] = 1, 1
    noise = lambda n: rng.uniform(0, 0.3, (n, 32, 64)).astype(np.float32)  # noqa: E731
    generated = np.concatenate([left + noise(200), right + noise(200)]) / 1.3   # sorted: "short" ones first
    real = torch.from_numpy(generated[rng.permutation(400)[:200]].copy())       # fewer, of both kinds
    fd = feature_frechet(clf, generated, real, np.random.default_rng(1))
    with torch.no_grad():
        prefix = frechet_distance(clf.features(torch.from_numpy(generated[:200])).numpy(), clf.features(real).numpy())
    assert fd < 0.3 * prefix                 # the first 200 alone (one kind) are far from the real mix


def test_frechet_distance_zero_for_same_set_and_grows_with_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    assert abs(frechet_distance(a, a)) < 1e-6
    d1 = frechet_distance(a, a + rng.normal(scale=0.3, size=a.shape))
    d2 = frechet_distance(a, a + rng.normal(scale=1.0, size=a.shape))
    assert 0 < d1 < d2


def test_mean_pairwise_distance():
    x = np.zeros((3, 2, 2))
    x[1] += 1
    # pairs: (0,1) = 2, (0,2) = 0, (1,2) = 2 -> mean 4/3
    assert mean_pairwise_distance(x) == pytest.approx(4 / 3)


@pytest.fixture(scope="module")
def small_sets():
    # an easy variant (single digits, clean, high contrast) keeps the test to seconds
    cfg = SynthConfig(length_probs=(1,), contrast=(0.5, 0.85), blur_sigma=(0, 0), noise_std=(0, 0), p_jpeg=0,
                      p_neighbours=0, p_low_res=0, texture_amplitude=(0, 0.05), max_rotation=0, max_shear=0.1)
    return generate(1200, seed=0, config=cfg), generate(200, seed=1, config=cfg)


def test_classifier_learns_a_small_set(tmp_path, small_sets):
    train, test = small_sets
    result = train_classifier(train, test, tmp_path, epochs=8, batch_size=64, lr=3e-3,
                              config=ClassifierConfig(width=16, hidden=128), progress=False)
    assert result["test_sequence_accuracy"]["all"] > 0.85       # chance is 0.1
    model = load_classifier(tmp_path / "classifier.safetensors")
    again = evaluate_classifier(model, test)
    assert again["all"] == pytest.approx(result["test_sequence_accuracy"]["all"])


def test_classifier_cli_errors(tmp_path, capsys):
    assert main(["classifier", "eval", "--model", str(tmp_path / "none.safetensors"),
                 "--data", str(tmp_path / "x.npz")]) == 2
    assert "no such classifier file" in one_line_error(capsys.readouterr().err)
    assert main(["classifier", "train", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "train.npz" in one_line_error(capsys.readouterr().err)


REPORT_FIELDS = {"sequence_accuracy", "classifier_on_real_test", "position_accuracy", "test_bound_nats",
                 "diversity_ratio", "frechet_distance", "paper_table2_seqDRAW_cur", "images", "max_len", "seed"}


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory, small_sets):
    """A data folder, a tiny classifier and a tiny (untrained) model file."""
    import torch
    from seqdraw.checkpoint import save_model
    from seqdraw.data.shards import save_shard
    from seqdraw.model import ConditionalDRAW, preset
    root = tmp_path_factory.mktemp("eval")
    train, test = generate(64, seed=3, config=SynthConfig(length_probs=(1, 1))), generate(24, seed=4,
                                                                                         config=SynthConfig(length_probs=(1, 1)))
    save_shard(root / "train.npz", train)
    save_shard(root / "test.npz", test)
    train_classifier(train, test, root / "clf", epochs=1, batch_size=32, config=ClassifierConfig(width=8, hidden=32),
                     progress=False)
    torch.manual_seed(0)
    save_model(root / "model.safetensors", ConditionalDRAW(preset("seqdraw", **TINY_MODEL)), extra={"max_len": 2})
    return root


TINY_MODEL = {"enc_size": 16, "dec_size": 16, "z_size": 4, "attention_size": 8, "steps_per_digit": 2,
              "read_n": 4, "write_n": 4}


def test_evaluate_writes_every_field(tiny_setup, capsys):
    root = tiny_setup
    out = root / "report"
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--classifier",
                 str(root / "clf" / "classifier.safetensors"), "--data", str(root), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert REPORT_FIELDS <= set(report)
    assert set(report["sequence_accuracy"]) == {"1", "2", "all"}
    assert report["images"] == 24 and report["diversity_ratio"] > 0
    assert (out / "report.md").read_text().count("L=") >= 2 and (out / "samples.png").exists()
    again = root / "report2"
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--classifier",
                 str(root / "clf" / "classifier.safetensors"), "--data", str(root), "--out", str(again),
                 "--diversity-strings", "3"]) == 0
    report2 = json.loads((again / "report.json").read_text())
    assert report2["sequence_accuracy"] == report["sequence_accuracy"]
    assert (report["diversity_strings"], report2["diversity_strings"]) == (20, 3)
    assert report2["diversity_ratio"] != report["diversity_ratio"]


def test_reproduce_table2_tiny_budget(tiny_setup, capsys):
    root = tiny_setup
    argv = ["reproduce", "table2", "--data", str(root), "--out", str(root / "t2"), "--max-steps", "2",
            "--max-len", "2", "--per-length", "4", "--classifier", str(root / "clf" / "classifier.safetensors"),
            "--set", "val_size=8", "--set", "batch_size=16", "--set", "compile=false"] + [
                f"--set=model.{k}={v}" for k, v in TINY_MODEL.items()]
    assert main(argv) == 0
    table = (root / "t2" / "table2.md").read_text()
    for name in ("rnnDRAW", "seqDRAW", "seqDRAW-cur"):
        assert f"| {name} |" in table
    assert "81.65%" in table                                         # the paper's numbers beside ours
    assert json.loads((root / "t2" / "table2.json").read_text()).keys() == {"rnnDRAW", "seqDRAW", "seqDRAW-cur"}


def test_budget_reaches_every_curriculum_stage():
    from seqdraw.evaluate.table2 import epochs_for_budget
    from seqdraw.trainer import TrainConfig, batch_plan
    lengths = np.repeat([1, 2, 3], 640)
    for curriculum in ("none", "paper", "replay"):
        cfg = TrainConfig(curriculum=curriculum, max_len=3, batch_size=64)
        per_pass = sum(len(batch_plan(lengths, st, cfg, s, 0)) for s, st in enumerate(cfg.stages()))
        epochs = epochs_for_budget(cfg, lengths, 100)
        assert epochs * per_pass >= 100 and (epochs - 1) * per_pass < 100


def test_shipped_judge_never_guided_the_shipped_model_and_reads_its_samples():
    from seqdraw.checkpoint import load_model
    from seqdraw.evaluate.classifier import load_judge, shipped_judge_path
    from seqdraw.generate import default_model_path
    if not (shipped_judge_path().exists() and default_model_path().exists()):
        pytest.skip("no shipped weights in this checkout")
    _, meta = load_model(default_model_path())
    judge = load_judge(shipped_judge_path(), meta)          # refused if it had guided the model
    images = seqdraw.load().generate("2024", n=4, seed=0)
    lengths, digits = judge.predict(torch.from_numpy(images))
    assert lengths.shape == (4,) and digits.shape[0] == 4


def test_evaluate_uses_the_shipped_judge_unless_told(tiny_setup, tmp_path, monkeypatch, capsys):
    import seqdraw.evaluate.classifier as classifier_module
    root = tiny_setup
    monkeypatch.setattr(classifier_module, "shipped_judge_path", lambda: root / "clf" / "classifier.safetensors")
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root),
                 "--out", str(tmp_path / "r"), "--diversity-strings", "2"]) == 0
    assert json.loads((tmp_path / "r" / "report.json").read_text())["classifier"].endswith("classifier.safetensors")
    monkeypatch.setattr(classifier_module, "shipped_judge_path", lambda: tmp_path / "none.safetensors")
    assert main(["evaluate", "--model", str(root / "model.safetensors"), "--data", str(root),
                 "--out", str(tmp_path / "r2")]) == 2
    assert "no shipped judge" in one_line_error(capsys.readouterr().err)
