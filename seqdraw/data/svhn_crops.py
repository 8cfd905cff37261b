"""Real SVHN digit crops (format 2: `train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`, MATLAB v5
files with X uint8 [32, 32, 3, N] and y [N, 1], where label 10 is the digit 0) as the `.npz` that
`seqdraw evaluate --usefulness N --real-crops FILE` reads: images uint8 [N, 32, 32, 3], labels 0-9 [N].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from seqdraw.errors import SeqdrawError

MAX_MAT_BYTES = 4 << 30              # the official extra_32x32.mat is 1.3 GB; a larger file is not one


def read_format2(path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 32, 32, 3], labels int64 0-9 [N]) from an official format-2 .mat file."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file (SVHN format 2: train_32x32.mat, test_32x32.mat)")
    if path.stat().st_size > MAX_MAT_BYTES:
        raise SeqdrawError(f"{path}: {path.stat().st_size / 2**30:.1f} GiB, larger than any SVHN format-2 file")
    try:
        mat = scipy.io.loadmat(str(path), variable_names=("X", "y"))
    except (ValueError, TypeError, OSError, NotImplementedError, MemoryError, KeyError, IndexError) as e:
        raise SeqdrawError(f"{path}: not a readable MATLAB v5 file ({str(e)[:120]})") from None
    if "X" not in mat or "y" not in mat:
        raise SeqdrawError(f"{path}: no X and y in it (SVHN format 2 holds both)")
    X, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[:3] != (32, 32, 3):
        raise SeqdrawError(f"{path}: X must be uint8 [32, 32, 3, N], got {X.dtype} {list(X.shape)}")
    if len(y) != X.shape[3] or len(y) == 0:
        raise SeqdrawError(f"{path}: y has {len(y)} labels for {X.shape[3]} images")
    if not np.issubdtype(y.dtype, np.number) or not np.isin(y, np.arange(1, 11)).all():
        raise SeqdrawError(f"{path}: labels must be 1-10 (10 is the digit 0)")
    return np.ascontiguousarray(X.transpose(3, 0, 1, 2)), (y.astype(np.int64) % 10)
