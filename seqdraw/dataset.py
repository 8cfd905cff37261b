"""`seqdraw data generated --n N --out DIR`: a labelled data set drawn by a model, for training readers.

    DIR/train/, DIR/test/     imagefolder: NNNNNNNN.png and metadata.jsonl ({"file_name", "text"}),
                              the layout common dataset loaders read directly
    DIR/train.npz, test.npz   npz: the project's shard format (seqdraw.data.shards), so that
                              `seqdraw classifier train --data DIR` trains on it as it is
    DIR/export.json           what was asked for; a second run with the same request resumes

The images are made in shards of SHARD. Shard j's strings and noise depend only on (seed, j), so the
set is the same whatever the interruptions. A finished shard is never rewritten: an interrupted
export continues where it stopped. Each shard draws its numbers grouped by length, in batches of
at most 256, so memory stays flat for any N. The npz files are assembled on disk, through memory maps.
Per-digit boxes are not written: see docs/generation.md.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from seqdraw.model.pretrained import weights_digest
from seqdraw.data.labels import MAX_LEN, PAD, encode, parse_number
from seqdraw.data.generated import GeneratedConfig
from seqdraw.data.shards import ARRAYS
from seqdraw.data.synth import SynthConfig
from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path, check_output_folder, replace_folder, save_npz
from seqdraw.generate import Drawer

SHARD = 1000


MAX_STRINGS_BYTES = 64 * 2**20


def read_strings(path, max_len: int) -> list[str]:
    """A file of digit strings, one per line (blank lines skipped), each checked like a typed number."""
    limit = MAX_STRINGS_BYTES
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
        lines = raw.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SeqdrawError(f"--strings {str(path)[:80]}: {getattr(e, 'strerror', None) or str(e)[:80]}") from None
    if len(raw) > limit:
        raise SeqdrawError(f"--strings {str(path)[:80]}: larger than {limit // 2**20} MiB (10 million strings)")
    strings = []
    for i, line in enumerate(lines, 1):
        if line.strip():
            try:
                strings.append(parse_number(line.strip(), max_len))
            except SeqdrawError as e:
                raise SeqdrawError(f"--strings {path}, line {i}: {e}") from None
    if not strings:
        raise SeqdrawError(f"--strings {path}: no digit strings in it")
    return strings


def shard_strings(seed: int, shard: int, size: int, length_probs, strings: list[str] | None) -> list[str]:
    """The strings of one shard, a function of (seed, shard) alone."""
    rng = np.random.default_rng([seed, shard, 1])
    if strings:
        return [strings[i] for i in rng.integers(0, len(strings), size)]
    p = np.asarray(length_probs, np.float64)
    lengths = rng.choice(np.arange(1, len(p) + 1), size=size, p=p / p.sum())
    return ["".join(map(str, rng.integers(0, 10, L))) for L in lengths]


def draw_shard(drawer: Drawer, strings: list[str], seed: int, shard: int, temperature, style_temperature) -> np.ndarray:
    """uint8 [n, 32, 64]: each string drawn once, numbers of one length together, each length with its
    own noise (so a shard's images do not depend on which other lengths it holds)."""
    labels, lengths = encode(strings)

    def noise(L: int) -> torch.Generator:
        return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, shard, L]).generate_state(1)[0]))

    images = drawer.draw_rows(labels, lengths, noise, temperature, style_temperature)
    return (images * 255 + 0.5).astype(np.uint8)


def request_of(drawer: Drawer, config: GeneratedConfig, length_probs, strings) -> dict:
    """What an export is: the settings that decide its images (a rerun with the same continues it)."""
    return {"n": config.n, "format": config.format, "seed": config.seed,
            "length_probs": list(length_probs) if not strings else None,
            "strings_sha256": hashlib.sha256("\n".join(strings).encode()).hexdigest() if strings else None,
            "model": weights_digest(drawer.model.state_dict()), "temperature": config.temperature,
            "style_temperature": config.style_temperature, "test_fraction": config.test_fraction, "shard": SHARD}


def export_dataset(drawer: Drawer, config: GeneratedConfig, overwrite: bool = False, progress: bool = True) -> dict:
    """Draw the data set `config` describes into config.out: resumable, replaced whole only with overwrite."""
    out, n, lengths = Path(config.out), config.n, config.lengths
    strings = read_strings(config.strings, drawer.max_len) if config.strings else None
    length_probs = SynthConfig.lengths_from_flag(lengths)
    if lengths == "svhn":                   # SVHN's shares of the lengths the model draws
        length_probs = length_probs[: drawer.max_len]
    if not strings and len(length_probs) > drawer.max_len and any(length_probs[drawer.max_len:]):
        raise SeqdrawError(f"--lengths {lengths}: the model draws 1..{drawer.max_len} digits "
                           f"(use uniform:{drawer.max_len} or weights for 1..{drawer.max_len})")
    config = replace(config, temperature=drawer.temperature if config.temperature is None else config.temperature,
                     style_temperature=drawer.style_temperature if config.style_temperature is None
                     else config.style_temperature)
    request = request_of(drawer, config, length_probs, strings)
    n_test = int(round(n * config.test_fraction))
    result = {"n": n, "train": n - n_test, "test": n_test, "format": config.format}
    earlier = _manifest(out)
    if earlier == {**request, "complete": True} and not overwrite:
        return {**result, "already_complete": True}
    if earlier is not None and earlier != request and not overwrite:
        raise SeqdrawError(f"{out} holds an export made with other settings: pass --overwrite to replace it")
    final = out
    if overwrite and out.exists() and earlier != request:
        # the old set stays until the new one is whole: draw beside it, then swap (an interrupted
        # overwrite continues in the same place when run again)
        check_output_folder(out, overwrite)
        out = out.parent / f".{out.name}.overwrite"
        if _manifest(out) != request:
            shutil.rmtree(out, ignore_errors=True)
    if _manifest(out) != request:
        check_output_folder(out, overwrite=False)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "export.json") as tmp:
            tmp.write_text(json.dumps(request, indent=2) + "\n")
    _draw_export(drawer, out, request, strings, length_probs, progress)
    with atomic_path(out / "export.json") as tmp:
        tmp.write_text(json.dumps({**request, "complete": True}, indent=2) + "\n")
    if out != final:
        replace_folder(out, final)
    return result


def _manifest(folder: Path) -> dict | None:
    try:
        value = json.loads((folder / "export.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _draw_export(drawer: Drawer, out: Path, request: dict, strings, length_probs, progress: bool) -> None:
    """Draw the shards not yet drawn into out/parts, then write the data set's files from them."""
    n, fmt, seed = request["n"], request["format"], request["seed"]
    temperature, style_temperature = request["temperature"], request["style_temperature"]
    n_test = int(round(n * request["test_fraction"]))
    for folder in (out, out / "train", out / "test", out / "parts"):   # what a kill left of atomic writes
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            tmp.unlink(missing_ok=True)
    parts = out / "parts"
    parts.mkdir(exist_ok=True)
    shards = range((n + SHARD - 1) // SHARD)
    done = [j for j in shards if (parts / f"{j:06d}.npz").exists()]
    with tqdm(total=n, initial=sum(min(SHARD, n - j * SHARD) for j in done), unit="img", desc="drawing",
              disable=not progress) as bar:
        for j in shards:
            if j in done:
                continue
            size = min(SHARD, n - j * SHARD)
            shard = shard_strings(seed, j, size, length_probs, strings)
            images = draw_shard(drawer, shard, seed, j, temperature, style_temperature)
            if fmt == "imagefolder":
                write_pngs(out, j * SHARD, images, shard, n - n_test)
            save_npz(parts / f"{j:06d}.npz", images=images, strings=np.array(shard))
            bar.update(size)
    if fmt == "imagefolder":
        write_metadata(out, parts, n, n - n_test)
    else:
        write_shards(out, parts, n, n - n_test)
    shutil.rmtree(parts)


def split_of(i: int, n_train: int) -> str:
    return "train" if i < n_train else "test"


def write_pngs(out: Path, start: int, images: np.ndarray, strings: list[str], n_train: int) -> None:
    for k, (image, s) in enumerate(zip(images, strings)):
        i = start + k
        with atomic_path(out / split_of(i, n_train) / f"{i:08d}.png") as tmp:
            Image.fromarray(image).save(tmp, format="PNG")


def write_metadata(out: Path, parts: Path, n: int, n_train: int) -> None:
    """metadata.jsonl per split, streamed from the shards' strings."""
    for split in ("train", "test"):
        with atomic_path(out / split / "metadata.jsonl") as tmp, open(tmp, "w") as f:
            for j in range((n + SHARD - 1) // SHARD):
                with np.load(parts / f"{j:06d}.npz") as z:
                    for k, s in enumerate(z["strings"].tolist()):
                        i = j * SHARD + k
                        if split_of(i, n_train) == split:
                            f.write(json.dumps({"file_name": f"{i:08d}.png", "text": s}) + "\n")


def write_shards(out: Path, parts: Path, n: int, n_train: int) -> None:
    """train.npz and test.npz in the shard format, assembled through memory-mapped .npy files and zipped
    without compression, as np.savez writes them: memory stays flat for any n."""
    for split, (lo, hi) in (("train", (0, n_train)), ("test", (n_train, n))):
        if hi == lo:
            continue
        tmpdir = out / f".{split}-npy"
        tmpdir.mkdir(exist_ok=True)
        shapes = {"images": ((hi - lo, 32, 64), np.uint8), "labels": ((hi - lo, MAX_LEN), np.int8),
                  "lengths": ((hi - lo,), np.int8), "boxes": ((hi - lo, MAX_LEN, 4), np.float32)}
        arrays = {k: np.lib.format.open_memmap(tmpdir / f"{k}.npy", mode="w+", dtype=t, shape=s)
                  for k, (s, t) in shapes.items()}
        arrays["labels"][:] = PAD
        arrays["boxes"][:] = 0                     # per-digit boxes are not known (docs/generation.md)
        for j in range(lo // SHARD, (hi - 1) // SHARD + 1):
            with np.load(parts / f"{j:06d}.npz") as z:
                images, strings = z["images"], z["strings"].tolist()
            for k, s in enumerate(strings):
                i = j * SHARD + k
                if lo <= i < hi:
                    arrays["images"][i - lo] = images[k]
                    arrays["labels"][i - lo, : len(s)] = [int(d) for d in s]
                    arrays["lengths"][i - lo] = len(s)
        for a in arrays.values():
            a.flush()
        del arrays
        with atomic_path(out / f"{split}.npz") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED,
                                                                      allowZip64=True) as zf:
            for k in ARRAYS:                          # a fixed date: the same request gives the same bytes
                info = zipfile.ZipInfo(f"{k}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with open(tmpdir / f"{k}.npy", "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        shutil.rmtree(tmpdir)
