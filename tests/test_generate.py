import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import seqdraw
from conftest import SMALL, one_line_error
from seqdraw.model.pretrained import load_model, save_model
from seqdraw.cli import main
from seqdraw.errors import SeqdrawError
from seqdraw.model import ConditionalDRAW, preset


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "model.safetensors"
    save_model(path, ConditionalDRAW(preset("seqdraw", **SMALL)), extra={"max_len": 4})
    return path


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_api_generate_and_seed(model_path):
    m = seqdraw.load(model_path)
    a = m.generate("157", n=3, seed=0).images
    assert a.shape == (3, 32, 64) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, m.generate("157", n=3, seed=0).images)
    assert not np.array_equal(a, m.generate("157", n=3, seed=1).images)
    assert m.generate("157", n=1).canvases is None          # one result type; the process only when asked
    p = m.generate("68", n=2, seed=0, process=True)
    assert p.canvases.shape == (2, 3 * 2 + 1, 32, 64) and p.alpha.shape == (2, 6, 2)
    np.testing.assert_allclose(p.canvases[:, -1], p.images, atol=1e-6)


def test_stored_temperatures_are_the_defaults(model_path, tmp_path):
    model, meta = load_model(model_path)
    path = tmp_path / "styled.safetensors"
    save_model(path, model, extra={**meta, "temperature": 0.5, "style_temperature": 2.0})
    styled, plain = seqdraw.load(path), seqdraw.load(model_path)
    assert (styled.temperature, styled.style_temperature) == (0.5, 2.0) and plain.style_temperature is None
    a = styled.generate("42", n=2, seed=0).images
    np.testing.assert_array_equal(a, plain.generate("42", n=2, seed=0, temperature=0.5, style_temperature=2.0).images)
    assert not np.array_equal(a, plain.generate("42", n=2, seed=0, temperature=0.5).images)


@pytest.mark.parametrize("bad", ["12a", "", " ", "-5", "12345", "1.5"])
def test_api_bad_numbers(model_path, bad):
    with pytest.raises(SeqdrawError):
        seqdraw.load(model_path).generate(bad)


def test_cli_grid_process_gif_attention(model_path, tmp_path, capsys):
    out = tmp_path / "g.png"
    argv = ["generate", "7", "157", "--n", "4", "--model", str(model_path), "--out", str(out),
            "--process", str(tmp_path / "p.png"), "--gif", str(tmp_path / "d.gif"),
            "--attention", str(tmp_path / "a.png"), "--scale", "1"]
    assert exit_code(argv) == 0
    grid_img = Image.open(out)
    assert grid_img.size == (40 + 4 * 66 + 2, 2 * 34 + 2)           # captions, then 2 rows x 4 samples with borders
    assert np.asarray(grid_img)[:, :40].min() < 128                  # the numbers are written left of their rows
    gif = Image.open(tmp_path / "d.gif")
    assert gif.n_frames == 3 * 3                                     # k L frames for the longest number
    assert Image.open(tmp_path / "p.png").size[1] == 2 * (4 * 34 + 2)  # one row per sample, per number
    assert (tmp_path / "a.png").stat().st_size > 1000
    a1 = np.asarray(grid_img)
    assert exit_code(argv) == 2                                      # the files exist: never replaced unasked
    assert exit_code(argv + ["--overwrite"]) == 0
    assert np.array_equal(a1, np.asarray(Image.open(out)))           # same seed, same pixels


def test_gif_has_kL_frames_for_one_number(model_path, tmp_path):
    assert exit_code(["generate", "2024", "--n", "1", "--model", str(model_path), "--out", str(tmp_path / "x.png"),
                      "--gif", str(tmp_path / "d.gif")]) == 0
    assert Image.open(tmp_path / "d.gif").n_frames == 3 * 4


@pytest.mark.parametrize("argv, message", [
    (["12a"], "not a number"),
    ([""], "empty"),
    ([" "], "empty"),
    (["-5"], "not a number"),
    (["12345"], "too long"),
    (["12", "--n", "0"], "n must satisfy 1 <= n <= 10000"),
    (["12", "--temperature", "-1"], "temperature must satisfy 0 <= temperature"),
    (["12", "--temperature", "hot"], "must be a number"),
    (["12", "--style-temperature", "-2"], "style_temperature must satisfy 0 <="),
])
def test_cli_bad_input(model_path, tmp_path, capsys, argv, message):
    assert exit_code(["generate", *argv, "--model", str(model_path), "--out", str(tmp_path / "o.png")]) == 2
    assert message in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "o.png").exists()


def test_cli_missing_and_corrupt_model(tmp_path, capsys):
    assert exit_code(["generate", "12", "--model", str(tmp_path / "nope.safetensors")]) == 2
    assert "no such model file" in one_line_error(capsys.readouterr().err)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    assert exit_code(["generate", "12", "--model", str(bad)]) == 2
    assert "bad.safetensors" in one_line_error(capsys.readouterr().err)


def test_shipped_model_works_with_no_model_argument(tmp_path, capsys):
    from seqdraw.model.pretrained import default_model_path
    if not default_model_path().exists():
        pytest.skip("no shipped weights in this checkout")
    images = seqdraw.load().generate("2024", n=2, seed=0).images
    assert images.shape == (2, 32, 64) and images.std() > 0.01
    assert exit_code(["generate", "2024", "--n", "2", "--out", str(tmp_path / "x.png")]) == 0
    assert exit_code(["generate", "12345", "--out", str(tmp_path / "y.png")]) == 2     # trained for 1-4 digits
    assert "too long" in one_line_error(capsys.readouterr().err)


def test_generate_and_help_load_only_what_they_need(tmp_path):
    """Startup: `seqdraw --help` loads no torch; `seqdraw generate` loads neither the trainer nor
    matplotlib, SciPy, Gradio or ONNX."""
    import subprocess
    import sys
    probe = ("import sys, runpy; sys.argv = ['seqdraw'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('seqdraw', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print(sorted({m.split('.')[0] if not m.startswith('seqdraw') else m for m in sys.modules}))")
    help_run = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=120)
    assert "'torch'" not in help_run.stdout.splitlines()[-1]
    gen = subprocess.run([sys.executable, "-c", probe, "generate", "42", "--out", str(tmp_path / "42.png")],
                         capture_output=True, text=True, timeout=300)
    loaded = gen.stdout.splitlines()[-1]
    assert (tmp_path / "42.png").exists() and "'torch'" in loaded
    for heavy in ("'matplotlib'", "'scipy'", "'seqdraw.trainer'", "'gradio'", "'onnx'", "'onnxruntime'", "'pandas'"):
        assert heavy not in loaded, heavy


def test_bf16_drawing_is_close_to_fp32(model_path):
    fp32 = seqdraw.load(model_path).generate("157", n=6, seed=2).images
    bf16 = seqdraw.load(model_path, precision="bf16").generate("157", n=6, seed=2).images
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    assert 0 < np.abs(bf16 - fp32).mean() < 0.05                 # other arithmetic, the same pictures
    with pytest.raises(SeqdrawError, match="precision"):
        seqdraw.load(model_path, precision="fp8")


def test_padded_batch_draws_the_same_pixels_and_takes_no_noise(model_path):
    """A compiled Drawer pads short batches to one size (one graph per length); padding must change
    neither the real rows' pixels nor the noise left for the next batch."""
    model = seqdraw.load(model_path).model
    labels, lengths = torch.tensor([[6, 8], [1, 5], [0, 0]]), torch.tensor([2, 2, 2])
    plain, padded = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(2):                                     # the second batch sees what the first left
        a = model.generate(labels, lengths, plain, process=True)
        b = model.generate(labels, lengths, padded, process=True, pad_to=16)
        for field in ("images", "canvases", "write_where", "alpha"):
            assert getattr(b, field).shape == getattr(a, field).shape
            torch.testing.assert_close(getattr(b, field), getattr(a, field), atol=1e-6, rtol=1e-5)


@pytest.mark.skipif(not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")),
                    reason="torch.compile needs a C++ compiler on the CPU")
def test_compiled_generate_matches_eager(model_path, capsys):
    eager, compiled = seqdraw.load(model_path), seqdraw.load(model_path, compile=True)
    assert compiled.pad_to is not None and eager.pad_to is None
    for n in (3, 5):                                       # two batch sizes, one padded graph
        np.testing.assert_allclose(compiled.generate("68", n=n, seed=1).images, eager.generate("68", n=n, seed=1).images,
                                   atol=1e-5)
    said = [line for line in capsys.readouterr().err.splitlines() if "compiling" in line]
    assert said == ["seqdraw: compiling the drawing of 2-digit numbers (about a minute, once per length)..."]


@pytest.mark.parametrize("mode", ["numbers", "data set"])
def test_cli_compile_flag_reaches_the_drawer(model_path, tmp_path, monkeypatch, mode):
    """`generate --compile` asks for a compiled Drawer (the compiled drawing itself is tested above)."""
    import seqdraw.generate
    asked, real_load = [], seqdraw.generate.load
    monkeypatch.setattr(seqdraw.generate, "load", lambda *a: asked.append(a[2]) or real_load(*a[:2]))
    what = ["generate", "68", "--out", str(tmp_path / "c.png"), "--n", "2"] if mode == "numbers" else \
        ["data", "generated", "--n", "4", "--out", str(tmp_path / "d")]
    for flag in ([], ["--compile"]):
        assert main([*what, "--overwrite", "--model", str(model_path), *flag]) == 0
    assert asked == [False, True]


def test_a_shipped_model_by_name(model_path, tmp_path, monkeypatch):
    """--model paper (or recipe) names a model shipped in the package; a file or folder of that name, if
    there is one, wins; a name this install does not ship is one line."""
    import seqdraw.model.pretrained as generate
    shipped = {"recipe": model_path, "paper": tmp_path / "weights" / "paper.safetensors"}
    monkeypatch.setattr(generate, "default_model_path", lambda name="recipe": Path(shipped[name]))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SeqdrawError, match="no shipped paper model"):
        generate.model_path("paper")
    shipped["paper"].parent.mkdir()
    shipped["paper"].write_bytes(Path(model_path).read_bytes())
    assert generate.model_path("paper") == shipped["paper"] and generate.model_path(None) == Path(model_path)
    assert exit_code(["generate", "68", "--model", "paper", "--n", "2", "--out", str(tmp_path / "p.png")]) == 0
    (tmp_path / "paper").mkdir()                                            # a user's own folder named paper
    assert generate.model_path("paper") == Path("paper")


def test_device_flags_are_checked_and_cpu_draws_as_before(model_path, tmp_path, capsys):
    """--device reaches every command that draws; a device this machine lacks is one line, not a
    traceback; device="cpu" draws exactly what the default does (noise comes from CPU generators)."""
    a = seqdraw.load(model_path).generate("68", n=2, seed=4).images
    assert np.array_equal(a, seqdraw.load(model_path, device="cpu").generate("68", n=2, seed=4).images)
    for bad in ("tpu", "cuda:99" if torch.cuda.is_available() else "cuda"):
        with pytest.raises(SeqdrawError, match="device"):
            seqdraw.load(model_path, device=bad)
        for argv in (["generate", "68", "--out", str(tmp_path / "g.png")],
                     ["data", "generated", "--n", "4", "--out", str(tmp_path / "d")],
                     ["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "e")]):
            assert exit_code([*argv, "--model", str(model_path), "--device", bad]) == 2, argv
            assert "device" in one_line_error(capsys.readouterr().err), argv          # refused for the device


def test_style_from_an_example(model_path, tmp_path, capsys):
    """--style-from PICTURE (and generate(style_from=...)): every sample takes the example's z_1; a file
    that is no picture is one line before any drawing; any size is resized."""
    m = seqdraw.load(model_path)
    rng = np.random.default_rng(0)
    example = (rng.random((32, 64)) * 255).astype(np.uint8)
    Image.fromarray(example).save(tmp_path / "ex.png")
    Image.fromarray(example).resize((128, 64)).save(tmp_path / "big.png")
    a = m.generate("42", n=3, seed=0, style_from=tmp_path / "ex.png").images
    assert np.array_equal(a, m.generate("42", n=3, seed=0, style_from=example).images)         # file or array
    assert not np.array_equal(a, m.generate("42", n=3, seed=0).images)
    assert m.style_of(tmp_path / "big.png").shape == (SMALL["z_size"],)
    assert exit_code(["generate", "42", "--model", str(model_path), "--style-from", str(tmp_path / "ex.png"),
                      "--out", str(tmp_path / "s.png")]) == 0
    (tmp_path / "bad.png").write_bytes(b"no picture")
    assert exit_code(["generate", "42", "--model", str(model_path), "--style-from", str(tmp_path / "bad.png"),
                      "--out", str(tmp_path / "t.png")]) == 2
    assert "not a readable picture" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "t.png").exists()
