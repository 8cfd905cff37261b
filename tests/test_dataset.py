"""seqdraw data generated: a labelled data set, reproducible by seed, resumable, in two formats."""
import json

import numpy as np
import pytest
import torch

import seqdraw.dataset as dataset
from conftest import TINY_FILE, one_line_error
from seqdraw.model.pretrained import save_model
from seqdraw.cli import main
from seqdraw.data.shards import load_splits
from seqdraw.errors import SeqdrawError
from seqdraw.model import ConditionalDRAW, preset



@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "model.safetensors"
    save_model(path, ConditionalDRAW(preset("seqdraw", **TINY_FILE)), extra={"max_len": 3})
    return path


@pytest.fixture(autouse=True)
def small_shards(monkeypatch):
    monkeypatch.setattr(dataset, "SHARD", 16)        # several shards from a few dozen images


def export(model_path, out, *extra):
    return main(["data", "generated", "--n", "50", "--model", str(model_path), "--out", str(out), "--seed", "3",
                 "--lengths", "1,1,1", *extra])


def test_npz_export_is_a_data_set_readers_train_on(model_path, tmp_path):
    assert export(model_path, tmp_path / "a", "--format", "npz") == 0
    train, test = load_splits(str(tmp_path / "a"))
    assert len(train["images"]) == 45 and len(test["images"]) == 5
    assert set(train["lengths"].tolist()) == {1, 2, 3} and train["images"].dtype == np.uint8
    assert not (tmp_path / "a" / "parts").exists()
    assert main(["classifier", "train", "--data", str(tmp_path / "a"), "--out", str(tmp_path / "r"), "--epochs", "1",
                 "--width", "4", "--batch-size", "16"]) == 0
    # the same seed gives the same bytes; another seed other images
    assert export(model_path, tmp_path / "b", "--format", "npz") == 0
    assert (tmp_path / "a" / "train.npz").read_bytes() == (tmp_path / "b" / "train.npz").read_bytes()
    assert main(["data", "generated", "--n", "50", "--model", str(model_path), "--out", str(tmp_path / "c"),
                 "--seed", "4", "--lengths", "1,1,1", "--format", "npz"]) == 0
    assert not np.array_equal(load_splits(str(tmp_path / "c"))[0]["images"], train["images"])


def test_imagefolder_export_and_its_metadata(model_path, tmp_path):
    assert export(model_path, tmp_path / "f") == 0
    for split, count in (("train", 45), ("test", 5)):
        rows = [json.loads(line) for line in open(tmp_path / "f" / split / "metadata.jsonl")]
        assert len(rows) == count and all((tmp_path / "f" / split / r["file_name"]).is_file() for r in rows)
        assert all(r["text"].isdigit() and 1 <= len(r["text"]) <= 3 for r in rows)


def test_an_interrupted_export_resumes_without_rewriting_finished_shards(model_path, tmp_path, monkeypatch, capsys):
    assert export(model_path, tmp_path / "whole", "--format", "npz") == 0
    real = dataset.draw_shard

    def dying(drawer, strings, seed, shard, *a):
        if shard == 2:
            raise KeyboardInterrupt
        return real(drawer, strings, seed, shard, *a)

    monkeypatch.setattr(dataset, "draw_shard", dying)
    assert export(model_path, tmp_path / "cut", "--format", "npz") == 130
    parts = sorted((tmp_path / "cut" / "parts").iterdir())
    assert [p.name for p in parts] == ["000000.npz", "000001.npz"]
    drawn = []
    monkeypatch.setattr(dataset, "draw_shard", lambda d, s, seed, shard, *a: drawn.append(shard) or real(d, s, seed, shard, *a))
    assert export(model_path, tmp_path / "cut", "--format", "npz") == 0
    assert drawn == [2, 3]                                     # only the missing shards are drawn
    assert (tmp_path / "cut" / "train.npz").read_bytes() == (tmp_path / "whole" / "train.npz").read_bytes()
    # another request in the same folder is refused
    capsys.readouterr()
    assert export(model_path, tmp_path / "cut", "--format", "imagefolder") == 2
    assert "--overwrite" in one_line_error(capsys.readouterr().err)


def test_strings_file(model_path, tmp_path, capsys):
    strings = tmp_path / "s.txt"
    strings.write_text("7\n\n157\n42\n")
    assert main(["data", "generated", "--n", "20", "--strings", str(strings), "--model", str(model_path),
                 "--out", str(tmp_path / "s"), "--format", "npz"]) == 0
    train, _ = load_splits(str(tmp_path / "s"))
    texts = {"".join(map(str, r[:L])) for r, L in zip(train["labels"], train["lengths"])}
    assert texts <= {"7", "157", "42"} and len(texts) >= 2
    strings.write_text("7\n12a\n")
    assert main(["data", "generated", "--n", "20", "--strings", str(strings), "--model", str(model_path),
                 "--out", str(tmp_path / "t")]) == 2
    assert "line 2" in one_line_error(capsys.readouterr().err)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerunning_a_finished_export_draws_nothing(model_path, tmp_path, monkeypatch, capsys):
    assert export(model_path, tmp_path / "a") == 0
    before = _files(tmp_path / "a")
    monkeypatch.setattr(dataset, "draw_shard", lambda *a: pytest.fail("a finished export drew again"))
    capsys.readouterr()
    assert export(model_path, tmp_path / "a") == 0
    assert "complete: nothing to draw" in capsys.readouterr().out
    assert _files(tmp_path / "a") == before


def test_overwrite_keeps_the_old_set_until_the_new_one_is_whole(model_path, tmp_path, monkeypatch, capsys):
    """--overwrite with other settings: a failure half way leaves the old set exactly as it was; run
    again, the new set replaces it whole, and nothing is left beside it."""
    assert export(model_path, tmp_path / "a") == 0
    old = _files(tmp_path / "a")
    real, calls = dataset.draw_shard, []

    def failing(*a):
        calls.append(1)
        if len(calls) == 2:
            raise SeqdrawError("cannot write parts/000001.npz: No space left on device")   # as save_npz says it
        return real(*a)
    monkeypatch.setattr(dataset, "draw_shard", failing)
    assert main(["data", "generated", "--n", "50", "--model", str(model_path), "--out", str(tmp_path / "a"),
                 "--seed", "4", "--lengths", "1,1,1", "--overwrite"]) != 0
    assert _files(tmp_path / "a") == old
    monkeypatch.setattr(dataset, "draw_shard", real)
    assert main(["data", "generated", "--n", "50", "--model", str(model_path), "--out", str(tmp_path / "a"),
                 "--seed", "4", "--lengths", "1,1,1", "--overwrite"]) == 0
    assert _files(tmp_path / "a") != old
    assert json.loads((tmp_path / "a" / "export.json").read_text())["seed"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_a_kill_leaves_no_temporary_file_once_continued(model_path, tmp_path, monkeypatch):
    real = dataset.draw_shard
    monkeypatch.setattr(dataset, "draw_shard", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    assert export(model_path, tmp_path / "a") == 130                 # Ctrl-C (kill -9 leaves the same)
    (tmp_path / "a" / "train").mkdir(exist_ok=True)
    (tmp_path / "a" / "train" / ".00000003.png.x1y2.tmp").write_bytes(b"half a PNG")   # what kill -9 leaves
    monkeypatch.setattr(dataset, "draw_shard", real)
    assert export(model_path, tmp_path / "a") == 0
    assert not list((tmp_path / "a").rglob("*.tmp"))


def test_imagefolder_export_loads_with_the_datasets_library(model_path, tmp_path, monkeypatch):
    """Hugging Face `datasets` reads the export with its own imagefolder loader: both splits, every image,
    each with the string it was drawn from as its "text"."""
    datasets = pytest.importorskip("datasets")
    import json
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert export(model_path, tmp_path / "d") == 0
    loaded = datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "d"), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "test"} and (len(loaded["train"]), len(loaded["test"])) == (45, 5)
    for split in ("train", "test"):
        written = [json.loads(line) for line in (tmp_path / "d" / split / "metadata.jsonl").read_text().splitlines()]
        by_name = {w["file_name"]: w["text"] for w in written}
        assert sorted(loaded[split]["text"]) == sorted(by_name.values())
        first = loaded[split][0]
        assert first["image"].size == (64, 32) and first["text"].isdigit()
