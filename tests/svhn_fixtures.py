"""Files in SVHN's exact official format-1 layout, made for tests."""
from __future__ import annotations

import tarfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image


def write_digit_struct(path: Path, entries: list[tuple[str, list[int], list[tuple[float, float, float, float]]]]):
    """A MATLAB v7.3 digitStruct.mat: HDF5 with a 512-byte user block, /digitStruct/{name,bbox} holding
    object references into #refs#. Labels use SVHN's 10 for digit 0. One-digit entries store
    each field inline as a 1x1 double; multi-digit entries store Lx1 references to 1x1 doubles."""
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        ref_dtype = h5py.special_dtype(ref=h5py.Reference)
        names = np.empty((len(entries), 1), dtype=ref_dtype)
        bboxes = np.empty((len(entries), 1), dtype=ref_dtype)
        k = 0
        for i, (name, labels, boxes) in enumerate(entries):
            d = refs.create_dataset(f"n{i}", data=np.array([[ord(c)] for c in name], dtype=np.uint16))
            names[i, 0] = d.ref
            g = refs.create_group(f"b{i}")
            bboxes[i, 0] = g.ref
            fields = {"label": [10 if l == 0 else l for l in labels],
                      "left": [b[0] for b in boxes], "top": [b[1] for b in boxes],
                      "width": [b[2] for b in boxes], "height": [b[3] for b in boxes]}
            for key, vals in fields.items():
                if len(vals) == 1:
                    g.create_dataset(key, data=np.array([[float(vals[0])]]))
                else:
                    rr = np.empty((len(vals), 1), dtype=ref_dtype)
                    for j, v in enumerate(vals):
                        rr[j, 0] = refs.create_dataset(f"s{k}", data=np.array([[float(v)]])).ref
                        k += 1
                    g.create_dataset(key, data=rr)
        ds = f.create_group("digitStruct")
        ds.create_dataset("name", data=names)
        ds.create_dataset("bbox", data=bboxes)
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 00:00:00 2024 HDF5 schema 1.00 .")


ENTRIES = [
    ("1.png", [5], [(40, 10, 20, 30)]),
    ("2.png", [1, 0, 7], [(10, 12, 14, 28), (26, 13, 16, 28), (44, 11, 15, 28)]),
    ("3.png", [2, 9], [(60, 30, 22, 40), (84, 32, 22, 40)]),
]


def make_split(root: Path, split: str = "train", entries=ENTRIES) -> Path:
    d = root / split
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, labels, boxes in entries:
        w = int(max(b[0] + b[2] for b in boxes) + 30)
        h = int(max(b[1] + b[3] for b in boxes) + 20)
        img = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        for b in boxes:                              # bright digit boxes at known places
            img[int(b[1]): int(b[1] + b[3]), int(b[0]): int(b[0] + b[2])] = 250
        Image.fromarray(img).save(d / name)
    write_digit_struct(d / "digitStruct.mat", entries)
    return d


def make_archive(root: Path, split: str = "train") -> Path:
    src = root / "src"
    make_split(src, split)
    archive = root / f"{split}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / split, arcname=split)
    return archive
