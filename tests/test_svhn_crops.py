"""seqdraw data svhn-crops: SVHN's format-2 .mat files (written here in the official layout) become the
.npz that `seqdraw evaluate --real-crops` reads; bad files are one line."""
import numpy as np
import pytest
import scipy.io

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.evaluate.report import load_real_crops


def format2(path, n=12, labels=None, X=None):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8) if X is None else X
    y = (np.arange(n) % 10 + 1).reshape(-1, 1).astype(np.uint8) if labels is None else labels
    scipy.io.savemat(str(path), {"X": X, "y": y})
    return X, y


def test_format2_becomes_the_real_crops_file(tmp_path, capsys):
    X, y = format2(tmp_path / "test_32x32.mat")
    out = tmp_path / "crops.npz"
    assert main(["data", "svhn-crops", "--mat", str(tmp_path / "test_32x32.mat"), "--out", str(out)]) == 0
    real = load_real_crops(out)                       # what evaluate --real-crops reads, checked as it checks
    assert real["images"].shape == (12, 32, 32, 3) and np.array_equal(real["images"][3], X[..., 3])
    assert list(real["labels"]) == [(i % 10 + 1) % 10 for i in range(12)]          # 10 is the digit 0
    assert "12 digit crops" in capsys.readouterr().out
    assert main(["data", "svhn-crops", "--mat", str(tmp_path / "test_32x32.mat"), "--out", str(out)]) == 2
    assert "exists" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b"not a mat file at all"), "not a readable MATLAB"),
    (lambda p: scipy.io.savemat(str(p), {"X": np.zeros((2, 2))}), "no X and y"),
    (lambda p: format2(p, X=np.zeros((32, 32, 3, 12), np.float64)), "X must be uint8"),
    (lambda p: format2(p, labels=np.zeros((12, 1), np.uint8)), "labels must be 1-10"),
    (lambda p: format2(p, labels=np.ones((5, 1), np.uint8)), "5 labels for 12 images"),
])
def test_bad_format2_files_are_one_line(tmp_path, capsys, make, message):
    path = tmp_path / "x_32x32.mat"
    make(path)
    assert main(["data", "svhn-crops", "--mat", str(path), "--out", str(tmp_path / "c.npz")]) == 2
    assert message in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "c.npz").exists()


def test_out_must_be_an_npz(tmp_path, capsys):
    format2(tmp_path / "t.mat")
    assert main(["data", "svhn-crops", "--mat", str(tmp_path / "t.mat"), "--out", str(tmp_path / "c.png")]) == 2
    assert ".npz" in one_line_error(capsys.readouterr().err)
