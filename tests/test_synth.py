import numpy as np
import pytest

from conftest import one_line_error
from seqdraw.cli import main
from seqdraw.data import fonts
from seqdraw.data.preprocess import FRAME_H, FRAME_W
from seqdraw.data.shards import load_shard
from seqdraw.data import synth
from seqdraw.data.synth import SVHN_LENGTH_PROBS, SynthConfig, SynthGenerator, generate
from seqdraw.errors import SeqdrawError


def exit_code(argv) -> int:
    """main's return value, or argparse's exit status."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.fixture(scope="module")
def batch():
    return generate(300, seed=7)


def test_shapes_and_dtypes(batch):
    assert batch["images"].shape == (300, FRAME_H, FRAME_W) and batch["images"].dtype == np.uint8
    assert batch["labels"].shape == (300, 5) and batch["boxes"].shape == (300, 5, 4)
    assert batch["images"].std() > 20                     # not blank


def test_labels_and_boxes_consistent(batch):
    for lab, L, bx in zip(batch["labels"], batch["lengths"], batch["boxes"]):
        assert 1 <= L <= 5
        assert ((lab[:L] >= 0) & (lab[:L] <= 9)).all() and (lab[L:] == -1).all()
        b = bx[:L]
        assert (b[:, 2] > 0).all() and (b[:, 3] > 0).all() and (bx[L:] == 0).all()
        assert (b[:, 0] >= -0.5).all() and (b[:, 0] + b[:, 2] <= FRAME_W + 0.5).all()
        assert (b[:, 1] >= -0.5).all() and (b[:, 1] + b[:, 3] <= FRAME_H + 0.5).all()
        centres = b[:, 0] + b[:, 2] / 2
        assert (np.diff(centres) > 0).all()                # ordered left to right


def test_deterministic_bytes():
    a, b = generate(20, seed=3), generate(20, seed=3)
    for k in a:
        assert a[k].tobytes() == b[k].tobytes()
    c = generate(20, seed=4)
    assert a["images"].tobytes() != c["images"].tobytes()
    # sample i depends only on (seed, i): a later start reproduces the tail
    tail = generate(5, seed=3, start=15)
    assert tail["images"].tobytes() == a["images"][15:].tobytes()


def test_worker_processes_make_the_same_bytes(monkeypatch):
    monkeypatch.setattr(synth, "WORKER_CHUNK", 16)            # 40 samples: three tasks over two processes
    one = generate(40, seed=2, start=5, crops=True)
    two = generate(40, seed=2, start=5, crops=True, workers=2)
    assert sorted(one) == sorted(two)
    for k in one:
        assert one[k].tobytes() == two[k].tobytes(), k
    with pytest.raises(SeqdrawError, match="workers"):
        generate(4, workers=0)


def test_projective_inverse_and_warp_of_a_region():
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = np.zeros((60, 140), np.uint8)
        x, y, w, h = (int(v) for v in rng.integers([30, 10, 10, 20], [80, 20, 50, 35]))
        mask[y:y + h, x:x + w] = rng.integers(1, 256, (h, w))
        cx, cy, sx, sh = x + w / 2, y + h / 2, np.exp(rng.normal(0, 0.15)), rng.uniform(-0.25, 0.25)
        th, (px, py), scale = np.deg2rad(rng.uniform(-5, 5)), rng.uniform(-0.0015, 0.0015, 2), rng.uniform(0.9, 1.1)
        M, inv = synth._projective(cx, cy, sx, sh, th, px, py, scale)
        # the hand-multiplied map is the product its docstring names: T^-1 P R A T
        T = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
        A = np.array([[sx * scale, -sh * scale, 0], [0, scale, 0], [0, 0, 1]])
        R = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
        P = np.array([[1, 0, 0], [0, 1, 0], [px, py, 1]])
        np.testing.assert_allclose(M, np.linalg.inv(T) @ P @ R @ A @ T, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(M @ inv, np.eye(3), atol=1e-9)
        full = synth._warp(mask, inv, mask.shape)
        region = synth._bounds(synth._warp_boxes(np.array([[x, y, w, h]], float), M), margin=2)
        part = synth._warp(mask, inv, mask.shape, region)
        assert full.sum() > 0
        np.testing.assert_allclose(part, full, atol=1.5 / 255, rtol=0)     # PIL's fixed point: 1 level


def test_noise_fields_are_standard_normal_and_vary():
    rng = np.random.default_rng(0)
    a, b = synth._normal_field(rng, (60, 150)), synth._normal_field(rng, (60, 150))
    assert a.shape == (60, 150) and a.dtype == np.float32
    assert abs(float(a.mean())) < 0.05 and abs(float(a.std()) - 1) < 0.05
    assert not np.array_equal(a, b)
    assert synth._normal_field(rng, (300, 700)).shape == (300, 700)            # larger than the bank


def test_box_geometry_matches_svhn(batch):
    """Box aspect and gaps, as SVHN train.csv has them (synth.NUMBER_ASPECT, BOX_GAP)."""
    aspects, gaps, ones, others = [], [], [], []
    for lab, L, bx in zip(batch["labels"], batch["lengths"], batch["boxes"]):
        b = bx[:L]
        aspects.append(float(np.mean(b[:, 2] / b[:, 3])))
        gaps += list((b[1:, 0] - (b[:-1, 0] + b[:-1, 2])) / b[:-1, 3])
        ones += list(b[lab[:L] == 1, 2] / b[lab[:L] == 1, 3])
        others += list(b[lab[:L] != 1, 2] / b[lab[:L] != 1, 3])
    assert abs(np.mean(aspects) - synth.NUMBER_ASPECT[0]) < 0.03          # SVHN: 0.495
    assert 0.08 < np.std(aspects) < 0.16                                  # SVHN: 0.122
    assert abs(np.mean(gaps) - synth.BOX_GAP[0]) < 0.03                   # SVHN: -0.004
    assert np.mean(ones) < 0.95 * np.mean(others)                         # SVHN: a 1 is 0.86x


@pytest.mark.parametrize("weight", [0.085, 0.15, 0.26])
def test_restroke_reaches_the_weight_asked_for(weight):
    face = next(f for f in fonts.font_pool() if "DejaVuSans.ttf" in f)
    assert abs(synth._relative_weight(face, weight) - weight) < 0.15 * weight
    own = synth._relative_weight(face, None)
    assert (synth._relative_weight(face, weight) > own) == (weight > own)


@pytest.mark.parametrize("weight", [None, 0.2])
def test_plain_one_loses_its_foot_and_only_its_foot(weight):
    pool = fonts.font_pool()
    footed = next(f for f in pool if "DejaVuSans.ttf" in f)          # a 1 with a base serif
    m, x, y = synth._master_glyphs(footed, weight)[1]
    plain, px, py = synth._plain_one(footed, weight)
    assert plain.shape[0] == m.shape[0] and py == y                  # same height: only the foot goes
    bottom, middle = (plain[-3:] > 127).sum(1).max(), np.median((plain[len(plain) // 2:][:10] > 127).sum(1))
    assert (m[-3:] > 127).sum(1).max() > 1.8 * middle                # the foot was there
    assert bottom < 1.3 * middle                                     # and is gone: the stem is left
    assert plain.shape[1] < m.shape[1]
    top = len(m) // 2                                                # the upper half is untouched
    assert (plain[:top] == m[:top, px - x: px - x + plain.shape[1]]).all()
    footless = next(f for f in pool if "Roboto-Regular" in f)        # a 1 with no foot is left as it is
    a, b = synth._master_glyphs(footless, weight)[1], synth._plain_one(footless, weight)
    assert a[0] is b[0] and a[1:] == b[1:]


def test_font_families_group_faces():
    paths = ("/f/Roboto-Bold.ttf", "/f/Roboto-Regular.ttf", "/f/STIXGeneral.ttf", "/f/STIXGeneralBolIta.ttf",
             "/f/cmb10.ttf", "/f/cmr10.ttf", "/f/cmss10.ttf", "/f/FjallaOne-Regular.ttf")
    groups = {tuple(sorted(p.split("/")[-1] for p in g)) for g in fonts.font_families(paths)}
    assert groups == {("Roboto-Bold.ttf", "Roboto-Regular.ttf"), ("STIXGeneral.ttf", "STIXGeneralBolIta.ttf"),
                      ("cmb10.ttf", "cmr10.ttf"), ("cmss10.ttf",), ("FjallaOne-Regular.ttf",)}


def test_length_distribution_matches_svhn():
    lengths = generate(1500, seed=11)["lengths"]
    shares = np.bincount(lengths, minlength=6)[1:] / len(lengths)
    np.testing.assert_allclose(shares, SVHN_LENGTH_PROBS, atol=0.035)


def test_uniform_lengths_flag():
    cfg = SynthConfig(length_probs=SynthConfig.lengths_from_flag("uniform"))
    lengths = generate(500, seed=1, config=cfg)["lengths"]
    assert set(np.unique(lengths)) == {1, 2, 3, 4, 5}


def test_requested_digits_and_crops():
    s = SynthGenerator().sample(0, 0, digits="2024", crops=True)
    assert s.digits == "2024" and s.boxes.shape == (4, 4) and s.crops.shape == (4, 32, 32)


def test_font_folder_fallback(tmp_path):
    good = fonts.bundled_font_files()[0]
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    (tmp_path / "good.ttf").write_bytes(good.read_bytes())
    pool = fonts.font_pool(str(tmp_path))
    assert pool == (str(tmp_path / "good.ttf"),)           # the broken file is skipped
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SeqdrawError, match="no usable font"):
        fonts.font_pool(str(empty))


def test_cli_writes_shards_and_preview(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["data", "synth", "--n", "40", "--out", str(out), "--seed", "1", "--crops"]) == 0
    train, test = load_shard(out / "train.npz"), load_shard(out / "test.npz")
    assert len(train["images"]) == 36 and len(test["images"]) == 4
    assert (out / "preview.png").stat().st_size > 0 and (out / "train_crops32.npz").exists()
    assert not list(out.glob("*.tmp"))


@pytest.mark.parametrize("argv, message", [
    (["--n", "-3"], "n must satisfy 2 <= n"),
    (["--lengths", "bogus"], "--lengths"),
    (["--test-fraction", "2"], "test_fraction must satisfy 0 < test_fraction < 1"),
    (["--workers", "257"], "workers must satisfy 0 <= workers <= 256"),
])
def test_cli_bad_arguments(tmp_path, capsys, argv, message):
    assert exit_code(["data", "synth", "--out", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err
    assert message in one_line_error(err)


def test_cli_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["data", "synth", "--n", "4", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in one_line_error(err)


def test_heldout_set_is_a_fixed_tenth_of_long_strings():
    from seqdraw.data.heldout import heldout_strings, is_heldout
    assert [len(heldout_strings(L)) for L in range(1, 6)] == [0, 0, 100, 1000, 10000]
    assert all(len(s) == 4 and s.isdigit() for s in heldout_strings(4))
    # the rule is sha256-based, so it cannot drift with a library version: pinned examples
    assert sorted(heldout_strings(3))[:5] == ["040", "068", "072", "077", "092"]
    assert is_heldout("040") and not is_heldout("041") and not is_heldout("7")


def test_heldout_strings_never_reach_a_training_shard(tmp_path):
    from seqdraw.data.heldout import heldout_mask
    out = tmp_path / "s"
    assert main(["data", "synth", "--n", "1500", "--lengths", "0,0,1,1", "--test-fraction", "0.2",
                 "--out", str(out), "--workers", "1"]) == 0
    train, test = load_shard(out / "train.npz"), load_shard(out / "test.npz")
    assert len(train["images"]) == 1200 and not heldout_mask(train["labels"], train["lengths"]).any()
    assert 10 < heldout_mask(test["labels"], test["lengths"]).sum() < 60      # ~10% of 300: test keeps them
    # a sample whose first draw is held out is drawn again; every other sample keeps its bytes
    free = generate(300, seed=0, config=SynthConfig(length_probs=(0, 0, 1, 1)), exclude_heldout=True)
    full = generate(300, seed=0, config=SynthConfig(length_probs=(0, 0, 1, 1)))
    redrawn = heldout_mask(full["labels"], full["lengths"])
    assert redrawn.any() and not heldout_mask(free["labels"], free["lengths"]).any()
    assert np.array_equal(free["images"][~redrawn], full["images"][~redrawn])
    both = tmp_path / "j"
    assert main(["data", "synth", "--n", "300", "--lengths", "0,0,1,1", "--out", str(both), "--workers", "1",
                 "--include-heldout"]) == 0
    assert heldout_mask(*(load_shard(both / "train.npz")[k] for k in ("labels", "lengths"))).any()
