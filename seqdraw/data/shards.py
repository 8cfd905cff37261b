"""The on-disk data set format, shared by the synthetic and the SVHN paths.

One .npz per split:
  images  uint8   [N, 32, 64]  grey frames
  labels  int8    [N, 5]       digits 0-9, padded with -1
  lengths int8    [N]          1..5
  boxes   float32 [N, 5, 4]    per-digit left, top, width, height in the frame, zero-padded
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from seqdraw.data.labels import MAX_LEN
from seqdraw.data.preprocess import FRAME_H, FRAME_W
from seqdraw.errors import SeqdrawError
from seqdraw.files import load_npz, save_npz

ARRAYS = ("images", "labels", "lengths", "boxes")


def save_shard(path, arrays: dict[str, np.ndarray]) -> None:
    save_npz(path, **arrays)


def load_shard(path) -> dict[str, np.ndarray]:
    d = load_npz(path, required=ARRAYS)
    if d["images"].ndim != 3:
        raise SeqdrawError(f"{path}: images must be uint8 [N, {FRAME_H}, {FRAME_W}], got {list(d['images'].shape)}")
    n = len(d["images"])
    for name, kind in (("labels", "integer"), ("lengths", "integer"), ("boxes", "floating")):
        ok = np.issubdtype(d[name].dtype, np.integer if kind == "integer" else np.floating)
        if not ok or d[name].dtype == np.bool_:
            raise SeqdrawError(f"{path}: {name} must be {kind} numbers, got {d[name].dtype}")
    if not np.isfinite(d["boxes"]).all():
        raise SeqdrawError(f"{path}: boxes hold NaN or infinite values")
    if d["images"].dtype != np.uint8 or d["images"].shape[1:] != (FRAME_H, FRAME_W):
        raise SeqdrawError(f"{path}: images must be uint8 [N, {FRAME_H}, {FRAME_W}], got "
                           f"{d['images'].dtype} {list(d['images'].shape)}")
    if d["labels"].shape != (n, MAX_LEN) or d["lengths"].shape != (n,) or d["boxes"].shape != (n, MAX_LEN, 4):
        raise SeqdrawError(f"{path}: labels/lengths/boxes do not match {n} images")
    if n == 0:
        raise SeqdrawError(f"{path}: holds no images")
    lengths, labels = d["lengths"].astype(np.int64), d["labels"].astype(np.int64)
    if lengths.min() < 1 or lengths.max() > MAX_LEN:
        raise SeqdrawError(f"{path}: lengths must be 1..{MAX_LEN}")
    is_digit = np.arange(MAX_LEN) < lengths[:, None]
    if ((labels < 0) | (labels > 9))[is_digit].any() or (labels != -1)[~is_digit].any():
        raise SeqdrawError(f"{path}: labels must be digits 0-9 up to each length and -1 after it")
    return d


def as_tensors(data: dict, idx=slice(None)):
    """Rows of a shard as torch tensors: images float [B, 32, 64] in [0, 1], labels int64 [B, 5]
    (padded with -1), lengths int64 [B]."""
    import torch

    images = torch.from_numpy(data["images"][idx]).float().div_(255)
    return (images, torch.from_numpy(data["labels"][idx].astype(np.int64)),
            torch.from_numpy(data["lengths"][idx].astype(np.int64)))


def fingerprint(arrays: dict[str, np.ndarray]) -> str:
    """sha256 of a shard's images and labels: which images these are, whatever file they came in.
    Models and judges record the fingerprint of what they trained on, so that a judge trained on a
    model's own training images can be refused (seqdraw.evaluate.judges)."""
    h = hashlib.sha256()
    for key in ("images", "labels"):
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def length_counts(lengths: np.ndarray) -> dict[int, int]:
    return {L: int((lengths == L).sum()) for L in range(1, MAX_LEN + 1)}


def data_folder(spec: str) -> Path:
    """`svhn:DIR` or a plain DIR -> the folder holding train.npz and test.npz."""
    return Path(spec[5:] if spec.startswith("svhn:") else spec)


def load_splits(spec: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    folder = data_folder(spec)
    return load_shard(folder / "train.npz"), load_shard(folder / "test.npz")
