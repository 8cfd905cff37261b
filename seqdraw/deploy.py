"""`seqdraw export --onnx DIR`: the drawing as ONNX graphs, for machines without PyTorch.

One graph per number length L (T = k L steps, unrolled), with the sampling noise as an input, so that
ONNX Runtime draws the same pixels as the PyTorch sampler for the same noise:

    draw-L{L}.onnx    inputs   labels int64 [B, L]      the digits, left to right
                               eps    float32 [T, B, z] N(0, 1) noise, one row per step (eq. 6)
                               tau    float32 [T]       temperature per step (tau[0]: the style's)
                      output   images float32 [B, 32, 64] in [0, 1]
    seqdraw-onnx.json          lengths, T per length, z size, the model's temperatures

docs/generation.md shows generating with onnxruntime alone.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path, output_folder
from seqdraw.generate import Drawer

OPSET = 17


class DrawingGraph(torch.nn.Module):
    """`ConditionalDRAW.drawing_loop` for numbers of one length, as a module ONNX export can trace."""

    def __init__(self, model, length: int):
        super().__init__()
        self.model, self.length = model, length

    def forward(self, labels, eps, tau):
        lengths = torch.full((labels.shape[0],), self.length, dtype=torch.long, device=labels.device)
        return self.model.drawing_loop(eps, tau, labels, lengths, False)[0]


def example_inputs(model, length: int, batch: int = 2):
    T = model.config.steps_per_digit * length
    return (torch.zeros(batch, length, dtype=torch.long), torch.zeros(T, batch, model.config.z_size),
            torch.ones(T))


def export_onnx(model_path, out: Path, overwrite: bool = False) -> dict:
    """Write one graph per length the model was trained for, and the JSON that describes them."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise SeqdrawError("ONNX export needs the onnx package: pip install -e \".[onnx]\"") from None
    drawer = Drawer(model_path)
    model = drawer.model.eval().float()
    c = model.config
    info = {"format": "seqdraw-onnx", "version": 1, "opset": OPSET, "height": c.height, "width": c.width,
            "z_size": c.z_size, "steps_per_digit": c.steps_per_digit, "temperature": drawer.temperature,
            "style_temperature": drawer.style_temperature, "graphs": {}}
    with output_folder(out, overwrite) as tmp:
        for L in range(1, drawer.max_len + 1):
            name = f"draw-L{L}.onnx"
            with atomic_path(tmp / name) as target, warnings.catch_warnings():
                warnings.simplefilter("ignore")             # the TorchScript exporter's deprecation notice
                torch.onnx.export(DrawingGraph(model, L), example_inputs(model, L), str(target), dynamo=False,
                                  input_names=["labels", "eps", "tau"], output_names=["images"],
                                  dynamic_axes={"labels": {0: "batch"}, "eps": {1: "batch"}, "images": {0: "batch"}},
                                  opset_version=OPSET)
            info["graphs"][str(L)] = {"file": name, "steps": c.steps_per_digit * L}
        with atomic_path(tmp / "seqdraw-onnx.json") as target:
            target.write_text(json.dumps(info, indent=2) + "\n")
    return info
