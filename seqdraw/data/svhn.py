"""Real SVHN (format 1, full numbers): download, digitStruct parsing, the paper's preprocessing.

Layout under --root DIR (what the official archives extract to):
  DIR/train.tar.gz            downloaded or placed by hand
  DIR/train/digitStruct.mat   MATLAB v7.3 (HDF5) annotations; DIR/train/1.png ...
  DIR/train.npz               the prepared split (seqdraw.data.shards format)
"""
from __future__ import annotations

import csv
import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from PIL import Image, UnidentifiedImageError

from seqdraw.data.labels import MAX_LEN, PAD
from seqdraw.data.preprocess import DEFAULT_MARGIN, preprocess
from seqdraw.data.shards import save_shard
from seqdraw.errors import SeqdrawError
from seqdraw.pictures import grid, save_png

URL = "http://ufldl.stanford.edu/housenumbers/{split}.tar.gz"
SPLITS = ("train", "test", "extra")
# SHA-256 of the official archives as published by the docTR project's SVHN loader; we found no
# published MD5. extra.tar.gz has no published checksum we could verify: it is extracted only when the
# user says so (--trust-unverified).
SHA256 = {
    "train": "4b17bb33b6cd8f963493168f80143da956f28ec406cc12f8e5745a9f91a51898",
    "test": "57ac9ceb530e4aa85b55d991be8fc49c695b3d71c6f6a88afea86549efde7fb5",
}


@dataclass
class Entry:
    name: str
    digits: np.ndarray           # int [L], 0-9 (SVHN's label 10 mapped to 0)
    boxes: np.ndarray            # float [L, 4] left, top, width, height


# ---- annotations ------------------------------------------------------------------------------

def read_digit_struct(path) -> list[Entry]:
    """Parse an official digitStruct.mat (v7.3/HDF5). One-digit entries store values inline,
    multi-digit entries store object references to scalars; both are handled.

    h5py's low-level API is used because the high-level one costs ~2 ms per entry (a minute for
    the 33,402 train entries); this reads ~0.5 ms per entry (benchmarks/svhn_parse.py)."""
    path = Path(path)
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            ds = f["digitStruct"]
            names, bboxes = ds["name"][:, 0], ds["bbox"][:, 0]
            fid = f.id
            entries = []
            for name_ref, bbox_ref in zip(names, bboxes):
                name = _read(h5py.h5r.dereference(name_ref, fid), np.uint16).astype(np.uint8).tobytes().decode("ascii")
                group = h5py.h5r.dereference(bbox_ref, fid)
                cols = [_field(fid, h5py.h5d.open(group, k)) for k in (b"label", b"left", b"top", b"width", b"height")]
                entries.append(Entry(name, svhn_digits(cols[0], name), np.stack(cols[1:], axis=1)))
    except (OSError, KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as e:
        raise SeqdrawError(f"{path}: not a readable SVHN digitStruct.mat ({type(e).__name__}: {e})") from None
    return entries


def _read(dataset_id, dtype) -> np.ndarray:
    out = np.empty(dataset_id.shape, dtype=dtype)
    dataset_id.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out.ravel()


def _field(fid, dataset_id) -> np.ndarray:
    """One bbox field: inline doubles (one digit) or references to 1x1 doubles (several digits)."""
    if dataset_id.get_type().get_class() == h5py.h5t.REFERENCE:
        refs = _read(dataset_id, h5py.ref_dtype)
        return np.array([_read(h5py.h5r.dereference(r, fid), np.float64)[0] for r in refs])
    return _read(dataset_id, np.float64)


def read_csv(path) -> list[Entry]:
    """The same annotations as `name;label;top;left;height;width`, one row per digit."""
    path = Path(path)
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file")
    rows: dict[str, list] = {}
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh, delimiter=";")
            for r in reader:
                rows.setdefault(r["name"], []).append(
                    (float(r["label"]), float(r["left"]), float(r["top"]), float(r["width"]), float(r["height"])))
    except (KeyError, ValueError, TypeError, csv.Error, UnicodeDecodeError) as e:
        raise SeqdrawError(f"{path}: not an SVHN annotation CSV (name;label;top;left;height;width): {e}") from None
    return [Entry(n, svhn_digits([v[0] for v in vs], n), np.array([v[1:] for v in vs])) for n, vs in rows.items()]


def svhn_digits(labels, name: str) -> np.ndarray:
    """SVHN's labels 1-10 as digits (10 is 0); anything else is refused, never wrapped into a digit."""
    raw = np.asarray(labels, dtype=np.float64).ravel()
    if not len(raw) or not np.isfinite(raw).all() or (raw != np.round(raw)).any() or (raw < 1).any() or (raw > 10).any():
        shown = ", ".join(f"{v:g}" for v in raw[:5]) or "none"
        raise SeqdrawError(f"{str(name)[:80]}: labels {shown} are not SVHN digit labels (1-10, 10 meaning 0)")
    return raw.astype(np.int64) % 10


MAX_IMAGE_PIXELS = 4096 * 4096          # SVHN's largest image is about 1,100 x 500


def check_entry(e: Entry, image_dir: Path) -> Path:
    """The image an entry names, inside the split folder, and its boxes, sane."""
    name = str(e.name)
    if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
        raise SeqdrawError(f"{name[:80]!r}: an image name must be a file in the split folder")
    boxes = np.asarray(e.boxes, dtype=np.float64)
    if boxes.shape != (len(e.digits), 4) or not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
        raise SeqdrawError(f"{name[:80]}: digit boxes must be finite, with positive width and height")
    return image_dir / name


def open_frame(path: Path, boxes: np.ndarray) -> Image.Image:
    """The image as 8-bit RGB (a 16-bit PNG scaled, not saturated), refused when huge or when the boxes
    miss it."""
    with Image.open(path) as im:
        w, h = im.size
        if w * h > MAX_IMAGE_PIXELS:
            raise SeqdrawError(f"{path}: {w}x{h} pixels, far larger than any SVHN image")
        if im.mode.startswith("I;16") or im.mode == "I":
            a = np.asarray(im, dtype=np.float64)
            top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
            im8 = Image.fromarray(np.clip(a / top * 255 + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
        else:
            im8 = im.convert("RGB")
    left, top_, bw, bh = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    if ((left + bw <= 0) | (top_ + bh <= 0) | (left >= w) | (top_ >= h)).any():
        raise SeqdrawError(f"{path}: a digit box lies outside the {w}x{h} image")
    return im8


# ---- download and extraction -------------------------------------------------------------------

def download(split: str, root: Path, url: str | None = None, trust_unverified: bool = False) -> Path:
    """Fetch one official archive with a progress bar, resuming a partial download (HTTP Range)."""
    from tqdm import tqdm

    url = url or URL.format(split=split)
    target = root / f"{split}.tar.gz"
    if target.is_file():
        return target
    part = root / f"{split}.tar.gz.part"
    root.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            if have and resp.status != 206:       # server ignored the range: start over
                have = 0
            total = int(resp.headers.get("Content-Length", 0)) + have
            with open(part, "ab" if have else "wb") as out, tqdm(
                    total=total or None, initial=have, unit="B", unit_scale=True, desc=f"{split}.tar.gz") as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as e:
        raise SeqdrawError(
            f"cannot download {url} ({getattr(e, 'reason', e)}); without network, download {split}.tar.gz "
            f"by hand from http://ufldl.stanford.edu/housenumbers/ and put it in {root}/") from None
    verify(part, split, trust_unverified)
    os.replace(part, target)
    return target


def verify(path: Path, split: str, trust_unverified: bool = False) -> None:
    """The archive's sha256 must be the published one; with none published, the user must say so."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    want = SHA256.get(split)
    if want is None:
        if not trust_unverified:
            raise SeqdrawError(f"{path}: no published checksum for {split}.tar.gz (its sha256 is {h.hexdigest()}); "
                               "pass --trust-unverified to extract it anyway")
        print(f"note: no published checksum for {split}.tar.gz; extracting it unverified (sha256 {h.hexdigest()})")
    elif h.hexdigest() != want:
        raise SeqdrawError(f"{path}: checksum mismatch (sha256 {h.hexdigest()}, expected {want}); "
                           "delete it and download again")


def extract(archive: Path, root: Path) -> None:
    """Extract safely: every member must stay inside root; links and devices are refused."""
    root = root.resolve()
    with tempfile.TemporaryDirectory(dir=root, prefix=".extract-") as tmp:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = tar.getmembers()
                for m in members:
                    dest = (Path(tmp) / m.name).resolve()
                    if not (m.isfile() or m.isdir()) or not dest.is_relative_to(Path(tmp).resolve()):
                        raise SeqdrawError(f"{archive}: unsafe member {m.name!r} (outside the folder or a link)")
                tar.extractall(tmp, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as e:
            raise SeqdrawError(f"{archive}: truncated or corrupt archive ({type(e).__name__}: {e})") from None
        for top in Path(tmp).iterdir():
            if not (root / top.name).exists():
                os.replace(top, root / top.name)


# ---- preparation -----------------------------------------------------------------------------------

@dataclass
class Summary:
    split: str
    counts: dict[int, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        n = sum(self.counts.values())
        parts = ", ".join(f"L={L}: {c} ({100 * c / max(n, 1):.1f}%)" for L, c in sorted(self.counts.items()))
        drop = ", ".join(f"{k}: {v}" for k, v in self.dropped.items()) or "none"
        return f"{self.split}: {n} images ({parts}); dropped: {drop}"


def prepare_split(entries: list[Entry], image_dir: Path, out: Path, split: str, max_len: int = MAX_LEN,
                  margin: float = DEFAULT_MARGIN, skip_missing: bool = False, progress: bool = True) -> Summary:
    from tqdm import tqdm

    if not 1 <= max_len <= MAX_LEN:
        raise SeqdrawError(f"--max-len must be 1..{MAX_LEN}, got {max_len}")
    summary = Summary(split)
    images, labels, lengths, boxes = [], [], [], []
    for e in tqdm(entries, desc=f"svhn {split}", unit="img", disable=not progress):
        L = len(e.digits)
        if L > max_len:
            summary.dropped[f"longer than {max_len}"] = summary.dropped.get(f"longer than {max_len}", 0) + 1
            continue
        path = check_entry(e, image_dir)
        if not path.is_file():
            if skip_missing:
                summary.dropped["missing image"] = summary.dropped.get("missing image", 0) + 1
                continue
            raise SeqdrawError(f"{path}: image named in the annotations is missing (use --skip-missing to skip)")
        try:
            frame, b = preprocess(open_frame(path, np.asarray(e.boxes, dtype=np.float64)), e.boxes, margin=margin)
        except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, ValueError) as err:
            raise SeqdrawError(f"{path}: unreadable image ({err})") from None
        lab = np.full(MAX_LEN, PAD, np.int8)
        lab[:L] = e.digits
        bx = np.zeros((MAX_LEN, 4), np.float32)
        bx[:L] = b
        images.append(frame), labels.append(lab), lengths.append(L), boxes.append(bx)
        summary.counts[L] = summary.counts.get(L, 0) + 1
    if not images:
        raise SeqdrawError(f"{split}: no images left to write")
    save_shard(out, dict(images=np.stack(images), labels=np.stack(labels),
                         lengths=np.asarray(lengths, np.int8), boxes=np.stack(boxes)))
    save_png(out.with_name(f"{split}_preview.png"), grid(np.stack(images[:64]), cols=8), scale=3)
    return summary


def prepare(root, splits=("train", "test"), download_missing: bool = False, csv_dir=None,
            max_len: int = MAX_LEN, skip_missing: bool = False, margin: float = DEFAULT_MARGIN,
            trust_unverified: bool = False) -> list[Summary]:
    """The whole `seqdraw data svhn` job for each split: fetch, extract, parse, preprocess, write."""
    root = Path(root)
    summaries = []
    for split in splits:
        if split not in SPLITS:
            raise SeqdrawError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        image_dir = root / split
        if not (image_dir / "digitStruct.mat").is_file() and not (csv_dir and image_dir.is_dir()):
            archive = root / f"{split}.tar.gz"
            if not archive.is_file():
                if not download_missing:
                    raise SeqdrawError(
                        f"{archive} not found: run with --download, or download {split}.tar.gz from "
                        f"http://ufldl.stanford.edu/housenumbers/ and put it in {root}/")
                archive = download(split, root, trust_unverified=trust_unverified)
            else:
                verify(archive, split, trust_unverified)
            extract(archive, root)
        entries = (read_csv(Path(csv_dir) / f"{split}.csv") if csv_dir
                   else read_digit_struct(image_dir / "digitStruct.mat"))
        summaries.append(prepare_split(entries, image_dir, root / f"{split}.npz", split, max_len=max_len,
                                       margin=margin, skip_missing=skip_missing))
    return summaries
