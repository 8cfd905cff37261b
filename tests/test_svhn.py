import csv
import tarfile

import numpy as np
import pytest

from seqdraw.cli import main
from seqdraw.data import svhn
from seqdraw.data.shards import load_shard
from seqdraw.errors import SeqdrawError
from svhn_fixtures import ENTRIES, make_archive, make_split, write_digit_struct
from conftest import one_line_error, shared_path


def test_digit_struct_round_trip(tmp_path):
    write_digit_struct(tmp_path / "d.mat", ENTRIES)
    got = svhn.read_digit_struct(tmp_path / "d.mat")
    assert [e.name for e in got] == [e[0] for e in ENTRIES]
    for e, (name, labels, boxes) in zip(got, ENTRIES):
        assert e.digits.tolist() == labels                 # label 10 came back as 0
        np.testing.assert_allclose(e.boxes, boxes)


def test_csv_matches_mat(tmp_path):
    write_digit_struct(tmp_path / "d.mat", ENTRIES)
    with open(tmp_path / "train.csv", "w", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["name", "label", "top", "left", "height", "width"])
        for name, labels, boxes in ENTRIES:
            for l, (x, y, bw, bh) in zip(labels, boxes):
                w.writerow([name, 10 if l == 0 else l, y, x, bh, bw])
    a, b = svhn.read_digit_struct(tmp_path / "d.mat"), svhn.read_csv(tmp_path / "train.csv")
    for x, y in zip(a, b):
        assert x.name == y.name and (x.digits == y.digits).all() and np.allclose(x.boxes, y.boxes)


def trust_fixture_archive(monkeypatch, archive):
    """Our fixture archives are not the official ones: let the checksum check accept this one."""
    import hashlib
    monkeypatch.setitem(svhn.SHA256, archive.name.split(".")[0], hashlib.sha256(archive.read_bytes()).hexdigest())


def test_prepare_from_archive_geometry_and_summary(tmp_path, capsys, monkeypatch):
    trust_fixture_archive(monkeypatch, make_archive(tmp_path))
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train", "--max-len", "2"]) == 0
    out = capsys.readouterr().out
    assert "dropped: longer than 2: 1" in out
    d = load_shard(tmp_path / "train.npz")
    assert d["lengths"].tolist() == [1, 2]
    # each bright box lands at its mapped place in the frame
    for img, L, boxes in zip(d["images"], d["lengths"], d["boxes"]):
        for x, y, w, h in boxes[:L]:
            assert img[int(y) + 2: int(y + h) - 1, int(x) + 2: int(x + w) - 1].mean() > 200
        right = (boxes[:L, 0] + boxes[:L, 2]).max()
        assert 60 < right <= 64                             # right-aligned


def test_missing_image_errors_or_skips(tmp_path, capsys):
    d = make_split(tmp_path, "test")
    (d / "2.png").unlink()
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "test"]) == 2
    err = capsys.readouterr().err
    line = one_line_error(err)
    assert "2.png" in line and "missing" in line
    assert not (tmp_path / "test.npz").exists()
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "test", "--skip-missing"]) == 0
    assert "missing image: 1" in capsys.readouterr().out


def test_unreadable_png(tmp_path, capsys):
    d = make_split(tmp_path, "test")
    (d / "1.png").write_bytes(b"\x89PNG garbage")
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "test"]) == 2
    assert "1.png" in capsys.readouterr().err


def test_corrupt_mat_keeps_good_output(tmp_path, capsys):
    d = make_split(tmp_path, "train")
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train"]) == 0
    good = (tmp_path / "train.npz").read_bytes()
    raw = (d / "digitStruct.mat").read_bytes()
    (d / "digitStruct.mat").write_bytes(raw[: len(raw) // 3])
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train"]) == 2
    assert "digitStruct.mat" in capsys.readouterr().err
    assert (tmp_path / "train.npz").read_bytes() == good      # nothing good destroyed


def test_truncated_archive(tmp_path, capsys):
    archive = make_archive(tmp_path)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train"]) == 2
    assert "train.tar.gz" in capsys.readouterr().err


def test_path_traversal_refused(tmp_path):
    evil = tmp_path / "train.tar.gz"
    (tmp_path / "x.txt").write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(tmp_path / "x.txt", arcname="../../escape.txt")
    with pytest.raises(SeqdrawError, match="unsafe member"):
        svhn.extract(evil, tmp_path)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_checksum_mismatch(tmp_path):
    f = tmp_path / "train.tar.gz.part"
    f.write_bytes(b"not the archive")
    with pytest.raises(SeqdrawError, match="checksum mismatch"):
        svhn.verify(f, "train")


def test_no_archive_says_where_to_put_it(tmp_path, capsys):
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "test"]) == 2
    err = capsys.readouterr().err
    assert "--download" in err and "test.tar.gz" in err


def test_download_resumes_with_range(tmp_path, monkeypatch):
    payload = b"0123456789" * 100
    (tmp_path / "extra.tar.gz.part").write_bytes(payload[:300])
    seen = {}

    class Resp:
        status = 206
        headers = {"Content-Length": str(len(payload) - 300)}

        def __init__(self):
            self.data = payload[300:]

        def read(self, n):
            chunk, self.data = self.data[:n], self.data[n:]
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def fake_urlopen(req, timeout):
        seen["range"] = req.get_header("Range")
        return Resp()

    monkeypatch.setattr(svhn.urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(SeqdrawError, match="--trust-unverified"):        # no published checksum for extra
        svhn.download("extra", tmp_path)
    assert (tmp_path / "extra.tar.gz.part").read_bytes() == payload and not (tmp_path / "extra.tar.gz").exists()
    (tmp_path / "extra.tar.gz.part").write_bytes(payload[:300])
    out = svhn.download("extra", tmp_path, trust_unverified=True)
    assert seen["range"] == "bytes=300-" and out.read_bytes() == payload


# ---- the real files in ../shared (skipped when absent) -------------------------------------------

@pytest.mark.parametrize("split", ["train", "test"])
def test_real_digit_struct_matches_real_csv(split):
    mat = shared_path("svhn", "format1-sample", split, "digitStruct.mat")
    truth = {e.name: e for e in svhn.read_csv(shared_path("svhn", "labels", f"{split}.csv"))}
    entries = svhn.read_digit_struct(mat)
    assert len(entries) >= 30
    for e in entries:
        t = truth[e.name]
        assert (e.digits == t.digits).all() and np.allclose(e.boxes, t.boxes)


def test_real_extra_parses():
    entries = svhn.read_digit_struct(shared_path("svhn", "format1-sample", "extra", "digitStruct.mat"))
    assert len(entries) >= 30 and all(1 <= len(e.digits) <= 6 for e in entries)


def test_real_pngs_preprocess_and_missing_ones_are_reported(tmp_path, capsys):
    import shutil
    src = shared_path("svhn", "format1-sample", "train")
    shutil.copytree(src, tmp_path / "train")
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train"]) == 2
    assert "missing" in capsys.readouterr().err                # the .mat names ~40, only 3 PNGs exist
    assert main(["data", "svhn", "--root", str(tmp_path), "--splits", "train", "--skip-missing"]) == 0
    d = load_shard(tmp_path / "train.npz")
    assert len(d["images"]) == 3 and d["images"].std() > 10
    assert (tmp_path / "train_preview.png").stat().st_size > 0


def _one_image_split(tmp_path, rows: str, image=None):
    """A train/ folder with 1.png and a CSV of the given rows (name;label;top;left;height;width)."""
    from PIL import Image
    d = tmp_path / "train"
    d.mkdir(parents=True, exist_ok=True)
    (image or Image.fromarray(np.full((40, 60, 3), 128, np.uint8))).save(d / "1.png")
    (tmp_path / "train.csv").write_text("name;label;top;left;height;width\n" + rows)
    return d


@pytest.mark.parametrize("rows, said", [
    ("1.png;42;5;5;20;10\n", "not SVHN digit labels"),
    ("1.png;-1;5;5;20;10\n", "not SVHN digit labels"),
    ("1.png;3.5;5;5;20;10\n", "not SVHN digit labels"),
    ("../../outside.png;3;5;5;20;10\n", "a file in the split folder"),
    ("/etc/passwd;3;5;5;20;10\n", "a file in the split folder"),
    ("1.png;3;5;5;nan;10\n", "finite"),
    ("1.png;3;5;5;0;10\n", "positive width"),
    ("1.png;3;5000;5000;20;10\n", "outside"),
])
def test_bad_annotations_are_refused_not_wrapped(tmp_path, rows, said):
    from seqdraw.errors import SeqdrawError
    d = _one_image_split(tmp_path, rows)
    with pytest.raises(SeqdrawError, match=said):
        svhn.prepare_split(svhn.read_csv(tmp_path / "train.csv"), d, tmp_path / "out" / "train.npz", "train",
                           progress=False)


def test_a_16_bit_png_is_scaled_not_saturated(tmp_path):
    from PIL import Image
    grey = np.full((40, 60), 20000, np.uint16)             # about 31% grey in 16 bits
    grey[10:30, 20:40] = 50000
    d = _one_image_split(tmp_path, "1.png;3;10;20;20;20\n", Image.fromarray(grey))
    svhn.prepare_split(svhn.read_csv(tmp_path / "train.csv"), d, tmp_path / "train.npz", "train", progress=False)
    frame = np.load(tmp_path / "train.npz")["images"][0]
    assert frame.min() < 200 and frame.std() > 5            # saturated, it would be white and flat
