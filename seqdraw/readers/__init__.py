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
from typing import NamedTuple
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.model.pretrained import load_weights, restore, save_weights
from seqdraw.data.heldout import strings_of
from seqdraw.data.labels import MAX_LEN
from seqdraw.data.shards import as_tensors, fingerprint
from seqdraw.errors import SeqdrawError
from seqdraw.readers.classifier import ClassifierConfig, MultiDigitClassifier
from seqdraw.readers.ctc import CTCConfig, CTCRecogniser
from seqdraw.files import atomic_path

ARCHS = {"multidigit": (MultiDigitClassifier, ClassifierConfig, "classifier_config"),
         "ctc": (CTCRecogniser, CTCConfig, "ctc_config")}



def accuracy_by_length(correct: np.ndarray, lengths: np.ndarray) -> dict:
    """{"1": share read right, ..., "all": ...} over the lengths present."""
    out = {str(L): float(correct[lengths == L].mean()) for L in range(1, MAX_LEN + 1) if (lengths == L).any()}
    out["all"] = float(correct.mean()) if len(correct) else float("nan")
    return out

def build_reader(arch: str, **config) -> torch.nn.Module:
    if arch not in ARCHS:
        raise SeqdrawError(f"unknown reader architecture {arch!r} (choose from {', '.join(ARCHS)})")
    cls, config_cls, _ = ARCHS[arch]
    return cls(config_cls(**config))


def read_correct(reader, images: np.ndarray | torch.Tensor, labels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[N] bool: the reader reads exactly the image's string (every digit, nothing more)."""
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    return np.array(reader.read(x)) == np.array(strings_of(labels, lengths))


def reader_accuracy(reader, data: dict) -> dict:
    correct = read_correct(reader, data["images"], data["labels"], data["lengths"])
    return accuracy_by_length(correct, np.asarray(data["lengths"]))


class Schedule(NamedTuple):
    """How a reader trains: passes, batch, peak learning rate (AdamW, one-cycle), weight decay, seed."""
    epochs: int = 8
    batch: int = 128
    lr: float = 2e-3
    seed: int = 0
    weight_decay: float = 0.0


def fit(model: torch.nn.Module, n: int, loss_of, schedule: Schedule, what: str, progress: bool = True,
        after_epoch=None) -> torch.nn.Module:
    """The one training loop of every reader: `epochs` passes over n items in shuffled batches (AdamW,
    one-cycle learning rate); loss_of(indices, generator) is a batch's loss, after_epoch(epoch) runs after
    each pass. Returns the model in eval mode."""
    epochs, lr = schedule.epochs, schedule.lr
    if n < 1:
        raise SeqdrawError(f"{what}: no training images")
    g = torch.Generator().manual_seed(schedule.seed)
    batch = min(schedule.batch, n)             # a set smaller than a batch is one batch
    steps = epochs * (n // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=schedule.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        bar = tqdm(range(n // batch), desc=f"{what} epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
        for i in bar:
            loss = loss_of(perm[i * batch: (i + 1) * batch], g)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if after_epoch is not None:
            after_epoch(epoch)
    return model.eval()


def train_reader(train: dict, test: dict, out: Path, arch: str = "multidigit", config: dict | None = None,
                 schedule: Schedule = Schedule(), progress: bool = True) -> dict:
    """Train a reader (built after seeding, so the seed fixes its initial weights) on a shard with its own
    augmentation, report its sequence accuracy on `test` after each epoch, and save
    OUT/classifier.safetensors and OUT/classifier.json."""
    torch.manual_seed(schedule.seed)
    reader = build_reader(arch, **(config or {}))
    images, labels, lengths = as_tensors(train)
    acc = {}

    def report(epoch):
        acc.update(reader_accuracy(reader, test))
        if progress:
            print(f"{reader.arch} epoch {epoch + 1}: test sequence accuracy {100 * acc['all']:.2f}%", file=sys.stderr)

    t0 = time.time()
    fit(reader, len(images), lambda idx, g: reader.loss(reader.augment(images[idx], g), labels[idx], lengths[idx]),
        schedule._replace(weight_decay=1e-4), reader.arch, progress, after_epoch=report)
    result = {"test_sequence_accuracy": acc, "epochs": schedule.epochs, "seed": schedule.seed, "train_images": len(images),
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
    if not isinstance(arch, str) or arch not in ARCHS or ARCHS[arch][2] not in meta:
        arch = str(arch)[:40]
        raise SeqdrawError(f"{path}: not a seqdraw reader (no {arch!r} config in its metadata)")
    cls, config_cls, key = ARCHS[arch]
    if "trained_on" in meta and not isinstance(meta["trained_on"], str):
        raise SeqdrawError(f"{path}: bad metadata trained_on={str(meta['trained_on'])[:60]} (a fingerprint string)")
    config = meta[key]
    if not isinstance(config, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 4096 for v in config.values()):
        raise SeqdrawError(f"{path}: bad metadata {key}={str(config)[:80]} (numbers 0..4096)")
    try:
        reader = cls(config_cls(**config))
    except (TypeError, ValueError, RuntimeError) as e:
        raise SeqdrawError(f"{path}: bad metadata {key}={str(config)[:80]} ({str(e)[:80]})") from None
    restore(path, reader, tensors_)
    reader.eval()
    return reader, meta


def load_guide(path: str) -> torch.nn.Module:
    """A reader to guide training (TrainConfig.guide): multidigit, frozen, in eval mode, so that batch
    statistics of drawn images do not leak in."""
    guide, _ = load_reader(path)
    if guide.arch != "multidigit":
        raise SeqdrawError(f"{path}: a guide must be a multidigit classifier, not {guide.arch}")
    guide.requires_grad_(False)
    return guide
