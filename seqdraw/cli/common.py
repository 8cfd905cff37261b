"""What every command shares: one-line argparse errors, the drawing flags, settings from flags."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from seqdraw.settings import add_arguments, check_fields, setting


class Parser(argparse.ArgumentParser):
    def error(self, message):                 # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {shorten(message)}\n")


def shorten(message: str, limit: int = 80) -> str:
    """An error line with each word past `limit` characters cut in the middle: a 100,000-digit number
    the user typed is named, not echoed whole."""
    return " ".join(w if len(w) <= limit else f"{w[:limit // 2]}...({len(w)} characters)...{w[-20:]}"
                    for w in message.split(" "))


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


MODEL_HELP = "a .safetensors model, a run's final/ or best/ folder, or a shipped model: recipe (default) or paper"
DEVICE_HELP = "cpu, cuda or cuda:N: where the model draws (the same seed draws the same pictures, up to the device's " \
              "rounding)"


@dataclass(frozen=True)
class DrawingConfig:
    """Which model draws, where, and in what arithmetic: the flags of every command that draws."""
    model: str | None = setting(None, MODEL_HELP)
    device: str = setting("cpu", DEVICE_HELP)
    precision: str = setting("fp32", "arithmetic of the drawing: bf16 autocast is faster on CPUs with AVX512-BF16, "
                                     "and its pixels differ from fp32's (docs/performance.md)", choices=("fp32", "bf16"))
    compile: bool = setting(False, "draw with one compiled graph per length at batch 256: 1.5x the images/s once "
                                   "compiled, but compiling takes about 70 s per length, so it pays off only past "
                                   "about a million images (docs/performance.md)")

    def __post_init__(self):
        check_fields(self)


def add_model_flags(p: argparse.ArgumentParser) -> None:
    add_arguments(p, DrawingConfig)


def settings_from(cls, args):
    """A settings dataclass from the flags add_arguments made for it (a flag not given: the default)."""
    from dataclasses import fields
    values = {f.name: getattr(args, f.metadata.get("flag") or f.name) for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if v is not None})
