"""Readers: networks that read a house number off a 32x64 image (the judges, the guide, the recognisers
trained on generated images). Two architectures, one interface:

  reader.loss(images, labels, lengths) -> scalar    labels [B, 5] padded with -1
  reader.read(images) -> list[str]                  the digit string it reads in each image
  reader.augment(images, generator) -> images       its training augmentation
  reader.features(images) -> [B, D]                  features for distances

`train_reader` trains either; the file's metadata says which it is (`arch`), what it was trained on
(`trained_on`, the fingerprint of the training shard) and how well it read the held-out split.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.checkpoint import load_weights, restore, save_weights
from seqdraw.data.heldout import strings_of
from seqdraw.data.shards import fingerprint
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.classifier import ClassifierConfig, MultiDigitClassifier
from seqdraw.evaluate.ctc import CTCConfig, CTCRecogniser
from seqdraw.evaluate.metrics import accuracy_by_length
from seqdraw.files import atomic_path

ARCHS = {"multidigit": (MultiDigitClassifier, ClassifierConfig, "classifier_config"),
         "ctc": (CTCRecogniser, CTCConfig, "ctc_config")}


def build_reader(arch: str, **config) -> torch.nn.Module:
    if arch not in ARCHS:
        raise SeqdrawError(f"unknown reader architecture {arch!r} (choose from {', '.join(ARCHS)})")
    cls, config_cls, _ = ARCHS[arch]
    return cls(config_cls(**config))


def tensors(data: dict):
    images = torch.from_numpy(data["images"]).float().div_(255)
    return images, torch.from_numpy(data["labels"].astype(np.int64)), torch.from_numpy(data["lengths"].astype(np.int64))


def read_correct(reader, images: np.ndarray | torch.Tensor, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[N] bool: the reader reads exactly the image's string (every digit, nothing more)."""
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    return np.array(reader.read(x)) == np.array(strings_of(labels, lengths))


def reader_accuracy(reader, data: dict) -> dict:
    correct = read_correct(reader, data["images"], data["labels"], data["lengths"])
    return accuracy_by_length(correct, np.asarray(data["lengths"]))


def train_reader(train: dict, test: dict, out: Path, arch: str = "multidigit", config: dict | None = None,
                 epochs: int = 8, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                 progress: bool = True) -> dict:
    """Train a reader (built after seeding, so the seed fixes its initial weights) on a shard with its own
    augmentation (AdamW, one-cycle learning rate), report its sequence accuracy on `test` after each
    epoch, and save OUT/classifier.safetensors and OUT/classifier.json."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    reader = build_reader(arch, **(config or {}))
    images, labels, lengths = tensors(train)
    steps = epochs * (len(images) // batch_size)
    if steps < 1:
        raise SeqdrawError(f"need at least {batch_size} training images, got {len(images)}")
    opt = torch.optim.AdamW(reader.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    t0 = time.time()
    for epoch in range(epochs):
        reader.train()
        perm = torch.randperm(len(images), generator=g)
        bar = tqdm(range(len(images) // batch_size), desc=f"{reader.arch} epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for i in bar:
            idx = perm[i * batch_size: (i + 1) * batch_size]
            loss = reader.loss(reader.augment(images[idx], g), labels[idx], lengths[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        acc = reader_accuracy(reader, test)
        if progress:
            print(f"{reader.arch} epoch {epoch + 1}: test sequence accuracy {100 * acc['all']:.2f}%", file=sys.stderr)
    result = {"test_sequence_accuracy": acc, "epochs": epochs, "seed": seed, "train_images": len(images),
              "test_images": len(test["images"]), "trained_on": fingerprint(train),
              "seconds": round(time.time() - t0, 1)}
    save_reader(out / "classifier.safetensors", reader, result)
    with atomic_path(out / "classifier.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    return result


def save_reader(path, reader: torch.nn.Module, extra: dict) -> None:
    _, _, key = ARCHS[reader.arch]
    save_weights(path, reader, {"arch": reader.arch, key: asdict(reader.config), **extra})


def load_reader(path) -> tuple[torch.nn.Module, dict]:
    """A reader of either architecture and its metadata, in eval mode."""
    tensors_, meta = load_weights(path, what="reader")
    arch = meta.get("arch", "multidigit")        # files from before the CTC judge have no arch
    if arch not in ARCHS or ARCHS[arch][2] not in meta:
        raise SeqdrawError(f"{path}: not a seqdraw reader (no {arch!r} config in its metadata)")
    cls, config_cls, key = ARCHS[arch]
    try:
        reader = cls(config_cls(**meta[key]))
    except (TypeError, ValueError) as e:
        raise SeqdrawError(f"{path}: bad metadata {key}={meta[key]!r} ({e})") from None
    restore(path, reader, tensors_)
    reader.eval()
    return reader, meta
