"""ONNX export: ONNX Runtime draws the pixels PyTorch draws, for the same noise."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SMALL, one_line_error
from seqdraw.model.pretrained import save_model
from seqdraw.cli import main
from seqdraw.generate import Drawer
from seqdraw.model import ConditionalDRAW, preset

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

@pytest.mark.parametrize("name, attention", [("seqdraw", "learned"), ("seqdraw", "scheduled"), ("rnndraw", "learned")])
def test_onnx_runtime_draws_the_same_pixels(tmp_path, name, attention, capsys):
    torch.manual_seed(0)
    model_path = tmp_path / "model.safetensors"
    save_model(model_path, ConditionalDRAW(preset(name, label_attention=attention, **SMALL)),
               extra={"max_len": 3, "temperature": 0.8})
    out = tmp_path / "onnx"
    assert main(["export", "--onnx", str(out), "--model", str(model_path)]) == 0
    info = json.loads((out / "seqdraw-onnx.json").read_text())
    assert sorted(info["graphs"]) == ["1", "2", "3"] and info["temperature"] == 0.8
    drawer = Drawer(model_path)
    for number in ("7", "68", "157"):
        graph = info["graphs"][str(len(number))]
        session = ort.InferenceSession(str(out / graph["file"]))
        # the noise Drawer.generate draws for this seed, step by step
        g = torch.Generator().manual_seed(5)
        eps = torch.stack([torch.randn((4, info["z_size"]), generator=g) for _ in range(graph["steps"])])
        tau = np.full(graph["steps"], 0.8, np.float32)
        tau[0] = 1.5
        images = session.run(None, {"labels": np.array([[int(d) for d in number]] * 4, np.int64),
                                    "eps": eps.numpy(), "tau": tau})[0]
        expect = drawer.generate(number, n=4, seed=5, temperature=0.8, style_temperature=1.5).images
        assert images.shape == (4, 32, 64)
        np.testing.assert_allclose(images, expect, atol=1e-4, rtol=0)
    assert main(["export", "--onnx", str(out), "--model", str(model_path)]) == 2      # never overwritten silently
    assert "--overwrite" in one_line_error(capsys.readouterr().err)


def test_the_documented_example_runs_without_torch(tmp_path):
    torch.manual_seed(0)
    model_path = tmp_path / "model.safetensors"
    save_model(model_path, ConditionalDRAW(preset("seqdraw", **SMALL)), extra={"max_len": 4})
    assert main(["export", "--onnx", str(tmp_path / "onnx"), "--model", str(model_path)]) == 0
    example = Path(__file__).parents[1] / "examples" / "onnx_generate.py"
    # torch made unimportable: the example must not need it
    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['x', sys.argv[1], '2024', sys.argv[2]]; "
            f"exec(open({str(example)!r}).read())")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "onnx"), str(tmp_path / "o.png")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "o.png").stat().st_size > 0
    for number, out, said in (("20245", "p.png", "digits"), ("2024", "o.png", "exists")):   # a length not
        again = subprocess.run([sys.executable, str(example), str(tmp_path / "onnx"), number,    # exported; a
                                str(tmp_path / out)], capture_output=True, text=True, timeout=120)   # file there
        assert again.returncode != 0 and said in again.stderr and "Traceback" not in again.stderr


@pytest.mark.slow
def test_the_shipped_paper_model_draws_the_same_through_onnx(tmp_path):
    """`--model paper`, the paper's own network and objective shipped beside the recipe's (issue 39): it
    loads by name with the same API, and ONNX Runtime draws its pixels (full size, lengths 1-4)."""
    from seqdraw.model.pretrained import default_model_path
    if not default_model_path("paper").exists():
        pytest.skip("no shipped paper model in this checkout")
    drawer = Drawer("paper")
    assert drawer.meta["guides"] == [] and drawer.meta["heldout_seen"] == 0 and drawer.max_len == 4
    assert drawer.model.config.label_encoder == "attention" and drawer.model.config.likelihood == "bernoulli"
    out = tmp_path / "onnx"
    assert main(["export", "--onnx", str(out), "--model", "paper"]) == 0
    info = json.loads((out / "seqdraw-onnx.json").read_text())
    graph = info["graphs"]["3"]
    g = torch.Generator().manual_seed(5)
    eps = torch.stack([torch.randn((2, info["z_size"]), generator=g) for _ in range(graph["steps"])])
    images = ort.InferenceSession(str(out / graph["file"])).run(
        None, {"labels": np.array([[1, 5, 7]] * 2, np.int64), "eps": eps.numpy(),
               "tau": np.ones(graph["steps"], np.float32)})[0]
    np.testing.assert_allclose(images, drawer.generate("157", n=2, seed=5).images, atol=1e-4, rtol=0)
