"""What every command shares: one-line argparse errors, defaults in help, checked numbers."""
from __future__ import annotations

import argparse
import os

from seqdraw.settings import MAX_TEMPERATURE, SEED_MAX


class Parser(argparse.ArgumentParser):
    def error(self, message):                 # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {shorten(message)}\n")


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default, unless its help already says it or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or action.default in (None, argparse.SUPPRESS) or action.default is False:
            return text
        return super()._get_help_string(action)


def shorten(message: str, limit: int = 80) -> str:
    """An error line with each word past `limit` characters cut in the middle: a 100,000-digit number
    the user typed is named, not echoed whole."""
    return " ".join(w if len(w) <= limit else f"{w[:limit // 2]}...({len(w)} characters)...{w[-20:]}"
                    for w in message.split(" "))


def int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {v}")
        return v
    return parse


def float_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not ((lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)):
            raise argparse.ArgumentTypeError(f"must be {'above' if lo_open else 'at least'} {lo:g} and "
                                             f"{'below' if hi_open else 'at most'} {hi:g}, got {text}")
        return v
    return parse


positive_int = int_in(1, 10**9)
seed = int_in(0, SEED_MAX)
temperature = float_in(0, MAX_TEMPERATURE)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """The flags of every command that draws with a model: which model, and its arithmetic."""
    p.add_argument("--model", default=None, help="a .safetensors model, a run's final/ or best/ folder, or a "
                                                 "shipped model: recipe (the default) or paper")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N: where the model draws (the same seed "
                                                   "draws the same pictures, up to the device's rounding)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="arithmetic of the drawing: bf16 autocast is faster on CPUs with AVX512-BF16, and its "
                        "pixels differ from fp32's (docs/performance.md)")
    p.add_argument("--compile", action="store_true",
                   help="draw with one compiled graph per length at batch 256: 1.5x the images/s once compiled, "
                        "but compiling takes about 70 s per length, so it pays off only past about a million "
                        "images (docs/performance.md)")
