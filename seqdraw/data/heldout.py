"""The held-out strings: a fixed tenth of all 3-, 4- and 5-digit strings that no training set contains.

A model that reads its strings right only because it saw them in training has memorised them; one that
also draws strings it never saw has learned to compose digits. `seqdraw data synth` leaves these strings
out of every training split (its test split keeps them), the trainer records how many training images
carry one, and `seqdraw evaluate` reports accuracy on held-out and seen strings separately.

Which strings: for each length L in 3..5, the 10^L / 10 strings whose sha256("seqdraw-heldout:" + s) is
smallest. The rule is independent of any library version (100 of length 3, 1,000 of length 4, 10,000
of length 5). Lengths 1 and 2 have too few strings (10 and 100) to spare any.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

HELDOUT_LENGTHS = (3, 4, 5)
HELDOUT_SHARE = 10                   # one string in ten


@lru_cache(maxsize=None)
def heldout_strings(length: int) -> frozenset[str]:
    """The held-out strings of one length (empty for lengths without any)."""
    if length not in HELDOUT_LENGTHS:
        return frozenset()
    strings = [f"{i:0{length}d}" for i in range(10 ** length)]
    strings.sort(key=lambda s: hashlib.sha256(f"seqdraw-heldout:{s}".encode()).digest())
    return frozenset(strings[: 10 ** length // HELDOUT_SHARE])


def is_heldout(digits: str) -> bool:
    return digits in heldout_strings(len(digits))


def strings_of(labels: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Padded label rows -> digit strings."""
    return ["".join(map(str, row[:L].tolist())) for row, L in zip(np.asarray(labels), np.asarray(lengths))]


def heldout_mask(labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[N] bool: which label rows are held-out strings."""
    return np.array([is_heldout(s) for s in strings_of(labels, lengths)], dtype=bool)
