"""Digit strings <-> padded label arrays. Every entry point that takes a number validates it here."""
from __future__ import annotations

import numpy as np

from seqdraw.errors import SeqdrawError

MAX_LEN = 5   # SVHN numbers longer than 5 digits are dropped (3 of 33,402 train images)
PAD = -1


def parse_number(text: str, max_len: int = MAX_LEN) -> str:
    """Check a user's number: 1..max_len ASCII digits, nothing else."""
    s = text if isinstance(text, str) else str(text)
    if s.strip() == "":
        raise SeqdrawError("empty number: give 1 to %d digits, e.g. 157" % max_len)
    if not (s.isascii() and s.isdigit()):
        raise SeqdrawError(f"not a number: {text!r} (only the digits 0-9, e.g. 157)")
    if len(s) > max_len:
        raise SeqdrawError(f"number too long: {text!r} has {len(s)} digits, the most is {max_len}")
    return s


def encode(numbers: list[str], max_len: int = MAX_LEN) -> tuple[np.ndarray, np.ndarray]:
    """Digit strings -> (labels int64 [N, max_len] padded with -1, lengths int64 [N])."""
    labels = np.full((len(numbers), max_len), PAD, dtype=np.int64)
    lengths = np.zeros(len(numbers), dtype=np.int64)
    for i, n in enumerate(numbers):
        n = parse_number(n, max_len)
        labels[i, : len(n)] = [int(c) for c in n]
        lengths[i] = len(n)
    return labels, lengths
