import numpy as np
import pytest

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.data.shards import load_shard, save_shard
from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path


def shard(n=4, h=32, w=64):
    return dict(images=np.zeros((n, h, w), np.uint8), labels=np.full((n, 5), -1, np.int8),
                lengths=np.ones(n, np.int8), boxes=np.zeros((n, 5, 4), np.float32))


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "data.npz"
    save_shard(target, shard())
    good = target.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == good and not list(tmp_path.glob("*.tmp"))


def test_wrong_image_size_is_one_line(tmp_path, capsys):
    save_shard(tmp_path / "bad.npz", shard(h=28, w=28))
    with pytest.raises(SeqdrawError, match=r"uint8 \[N, 32, 64\]"):
        load_shard(tmp_path / "bad.npz")
    from seqdraw.model.pretrained import save_weights
    from seqdraw.readers.classifier import ClassifierConfig, MultiDigitClassifier
    save_weights(tmp_path / "c.safetensors", MultiDigitClassifier(ClassifierConfig(width=4, hidden=8)),
                 {"classifier_config": {"width": 4, "hidden": 8, "dropout": 0.3}})
    assert main(["classifier", "eval", "--model", str(tmp_path / "c.safetensors"),
                 "--data", str(tmp_path / "bad.npz")]) == 2
    assert "32, 64" in one_line_error(capsys.readouterr().err)


def test_corrupt_or_incomplete_dataset(tmp_path, capsys):
    (tmp_path / "train.npz").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "test.npz").write_bytes(b"")
    assert main(["classifier", "train", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "train.npz" in one_line_error(capsys.readouterr().err)
    d = shard()
    del d["boxes"]
    np.savez(tmp_path / "train.npz", **d)
    with pytest.raises(SeqdrawError, match="missing arrays"):
        load_shard(tmp_path / "train.npz")


def test_a_picture_past_the_pixel_limit_is_refused_before_it_is_written(tmp_path):
    """The pixel limit lives with save_png, so the API is guarded as the CLI is."""
    from seqdraw.pictures import MAX_PICTURE_PIXELS, save_png
    with pytest.raises(SeqdrawError, match="limit"):
        save_png(tmp_path / "big.png", np.zeros((10, 10), np.uint8), scale=int(MAX_PICTURE_PIXELS ** 0.5))
    assert list(tmp_path.iterdir()) == []
    save_png(tmp_path / "ok.png", np.zeros((10, 10), np.uint8), scale=2)
    assert (tmp_path / "ok.png").is_file()
