"""Atomic, never-destructive file writing and checked loading of the project's .npz files.

Every file the project writes goes through `atomic_path`: the content is written to a temporary
file in the same directory and renamed over the target only once complete, so an interrupted run
never leaves a truncated file that looks finished, and never clobbers a good one with a partial one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from seqdraw.errors import SeqdrawError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path next to `target`; on success, rename it onto `target`."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise SeqdrawError(f"cannot write to {target.parent}: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(target, **arrays) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_npz(path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load an .npz fully (no pickles); a missing, corrupt or incomplete file is a SeqdrawError."""
    path = Path(path)
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise SeqdrawError(f"{path}: not a readable .npz file ({e})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise SeqdrawError(f"{path}: missing arrays {missing}")
    return arrays
