"""Generation: ask for a number, get a `Generated`: its images and, on request, the drawing process.

    import seqdraw
    model = seqdraw.load()                       # the shipped model, or seqdraw.load("runs/x/final")
    images = model.generate("157", n=8, seed=0).images  # float32 [8, 32, 64] in [0, 1]
    images = model.generate("157", temperature=1.0).images   # the paper's sampling (default: the model's own)
    images = model.generate("157", style_temperature=2.0).images   # a wider spread of styles (z_1 only)
    drawing = model.generate("157", n=2, seed=0, process=True)   # + canvases, write boxes, attention
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from seqdraw.data.labels import MAX_LEN, parse_number
from seqdraw.devices import resolve_device
from seqdraw.errors import SeqdrawError
from seqdraw.model import ConditionalDRAW
from seqdraw.model.pretrained import model_path
from seqdraw.model.sampling import draw_by_length
from seqdraw.pictures import to_uint8
from seqdraw.settings import MAX_TEMPERATURE


@dataclass
class Generated:
    """What `generate` returns whatever its flags: n samples of one number, as NumPy arrays. The
    process fields are None unless it was asked for (process=True)."""
    number: str
    images: np.ndarray                          # [n, 32, 64] final images in [0, 1]
    write_n: int
    canvases: np.ndarray | None = None          # [n, T + 1, 32, 64] sigmoid(c_t), t = 0..T
    write_where: np.ndarray | None = None       # [n, T, 3] write centre gx, gy (1-indexed pixels) and stride delta
    alpha: np.ndarray | None = None             # [n, T, L] label attention weights (seqDRAW; None for rnnDRAW)


def stored_temperature(meta: dict) -> float:
    """The sampling temperature a model file asks for (written by scripts/export_shipped.py), else 1."""
    return float(meta.get("temperature", 1.0))


def stored_style_temperature(meta: dict) -> float | None:
    """The temperature of z_1 a model file asks for, else None (z_1 uses the sampling temperature)."""
    v = meta.get("style_temperature")          # metadata values are JSON-decoded by load_model
    return None if v is None else float(v)


BATCH = 256                  # samples drawn at once: memory stays flat for any n


def check_temperature(name: str, value: float | None) -> float | None:
    if value is not None and not 0 <= float(value) <= MAX_TEMPERATURE:
        raise SeqdrawError(f"{name} must be between 0 and {MAX_TEMPERATURE:g}, got {value}")
    return None if value is None else float(value)


class Drawer:
    """A loaded model and the lengths it was trained for."""

    def __init__(self, path: str | Path | None = None, precision: str = "fp32", compile: bool = False,
                 device: str = "cpu"):
        path = model_path(path)
        self.device = resolve_device(device)
        if precision not in ("fp32", "bf16"):
            raise SeqdrawError(f"precision must be fp32 or bf16, got {precision!r}")
        self.precision = precision              # bf16: drawing under bf16 autocast (docs/performance.md)
        self.model = ConditionalDRAW.from_pretrained(path).to(self.device)
        self.meta = self.model.metadata
        # compiled: one whole-drawing graph per length at batch BATCH (short batches are padded), no
        # Python between steps; each graph takes about 70 s to compile (docs/performance.md)
        self.pad_to = BATCH if compile else None
        self.compiled_for: set[tuple[int, bool]] = set()        # (length, process) graphs built so far
        if compile:
            self.model.use_compiled()
        self.max_len = self.meta.get("max_len", MAX_LEN)
        self.temperature = stored_temperature(self.meta)
        self.style_temperature = stored_style_temperature(self.meta)

    def check_number(self, number: str) -> str:
        return parse_number(number, self.max_len)

    def _draw(self, labels, lengths, noise, temperature, style_temperature, process: bool = False, style=None):
        """(row indices, Drawing) per batch of BATCH rows of one length (model.sampling.draw_by_length);
        pictures leave as fp32 on the CPU whatever the arithmetic and device. The noise comes from CPU
        generators, so a seed draws the same pictures on any device (up to its rounding)."""
        self.say_when_compiling(np.unique(np.asarray(lengths)), process)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            parts = list(draw_by_length(self.model, labels, lengths, noise, BATCH, process=process,
                                        temperature=temperature, style_temperature=style_temperature,
                                        pad_to=self.pad_to, style=style))
        for _, d in parts:
            for field in ("images", "canvases", "write_where", "alpha"):
                if getattr(d, field) is not None:
                    setattr(d, field, getattr(d, field).float().cpu())
        return parts

    def say_when_compiling(self, lengths, process: bool) -> None:
        """A line on stderr before each graph is compiled: a minute of silence looks like a hang."""
        if self.pad_to is None:
            return
        for L in sorted(int(v) for v in lengths):
            if (L, process) not in self.compiled_for:
                self.compiled_for.add((L, process))
                print(f"seqdraw: compiling the drawing of {L}-digit numbers{' with its process' if process else ''} "
                      "(about a minute, once per length)...", file=sys.stderr, flush=True)

    def draw_rows(self, labels, lengths, noise, temperature=None, style_temperature=None) -> np.ndarray:
        """float32 [N, H, W], one sample per label row [N, >= L] of lengths [N] (what dataset export
        uses); `noise` is a generator, or a function from a length to its generator."""
        temperature = self.temperature if temperature is None else temperature
        style_temperature = self.style_temperature if style_temperature is None else style_temperature
        out = np.zeros((len(labels), self.model.config.height, self.model.config.width), np.float32)
        for rows, d in self._draw(labels, lengths, noise, temperature, style_temperature):
            out[rows] = d.images.numpy()
        return out

    def style_of(self, example) -> torch.Tensor:
        """[z_size]: the style code (z_1's posterior mean, ConditionalDRAW.style_code) of an example: a
        picture file or an array [H, W] (uint8, or float in [0, 1]); any size is resized to the model's."""
        c = self.model.config
        try:
            array = None if isinstance(example, (str, Path)) else np.asarray(example)
            image = Image.open(example) if array is None else \
                Image.fromarray(array if array.dtype == np.uint8 else to_uint8(array))
            image = image.convert("L")
        except (OSError, ValueError, TypeError, Image.DecompressionBombError) as e:
            raise SeqdrawError(f"style example {str(example)[:80]}: not a readable picture ({e})") from None
        if image.size != (c.width, c.height):
            image = image.resize((c.width, c.height), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(image, np.float32) / 255)[None].to(self.device)
        return self.model.style_code(x)[0].float().cpu()

    def generate(self, number: str, n: int = 8, seed: int = 0, process: bool = False,
                 temperature: float | None = None, style_temperature: float | None = None,
                 style_from=None) -> Generated:
        """n samples of `number`. style_from (a picture file or array): every sample takes that
        example's z_1, so its ground, polarity and stroke (docs/generation.md); the rest stays random."""
        number = self.check_number(str(number))
        if not isinstance(n, int) or n < 1:
            raise SeqdrawError(f"n must be a positive integer, got {n!r}")
        temperature = check_temperature("temperature", self.temperature if temperature is None else temperature)
        style_temperature = check_temperature(
            "style_temperature", self.style_temperature if style_temperature is None else style_temperature)
        if not 0 <= seed < 2**64:           # what torch.Generator takes: `seqdraw generate` adds i for number i
            raise SeqdrawError(f"seed must be between 0 and 2^64 - 1, got {str(seed)[:40]}")
        labels = np.array([[int(d) for d in number]] * n)
        style = None if style_from is None else self.style_of(style_from).expand(n, -1)
        parts = [d for _, d in self._draw(labels, np.full(n, len(number)), torch.Generator().manual_seed(seed),
                                          temperature, style_temperature, process, style)]
        images = np.concatenate([d.images.numpy() for d in parts])
        if not process:
            return Generated(number, images, self.model.config.write_n)
        cat = lambda name: np.concatenate([getattr(d, name).numpy() for d in parts])  # noqa: E731
        return Generated(number, images, self.model.config.write_n, cat("canvases"), cat("write_where"),
                         None if parts[0].alpha is None else cat("alpha"))


def load(path: str | Path | None = None, precision: str = "fp32", compile: bool = False,
         device: str = "cpu") -> Drawer:
    """A Drawer: the model at `path` (a file, a run's final/ or best/, or a shipped model by name) on
    `device` (cpu, cuda or cuda:N)."""
    return Drawer(path, precision, compile, device)
