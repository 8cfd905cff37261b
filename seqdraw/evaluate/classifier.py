"""The judge: a Goodfellow et al. (2013) style multi-digit classifier for 32x64 grey images.

A convolutional trunk, a length head (1..5 and "more") and five digit heads (positions from the
left). Sequence accuracy counts an image right only when the length and every digit are right.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from seqdraw.checkpoint import load_weights, restore, save_weights, weights_digest
from seqdraw.data.labels import MAX_LEN
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.metrics import accuracy_by_length, sequence_correct
from seqdraw.files import atomic_path

LENGTH_CLASSES = MAX_LEN + 1        # 1..5, and "more than 5" (never seen in our data, kept as in [5])


@dataclass
class ClassifierConfig:
    width: int = 48                 # channels of the first conv block, doubled twice
    hidden: int = 512
    dropout: float = 0.3


def standardise(images: torch.Tensor) -> torch.Tensor:
    """[B, H, W] in [0, 1] -> [B, 1, H, W] with zero mean, unit variance per image (polarity-neutral scale)."""
    x = images - images.mean(dim=(1, 2), keepdim=True)
    return (x / (x.std(dim=(1, 2), keepdim=True) + 0.03)).unsqueeze(1)


class MultiDigitClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = c = config or ClassifierConfig()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        w = c.width
        # 32x64 -> 16x32 -> 8x16 -> 4x8 -> 2x4: four blocks, kept lean for a 2-core CPU
        self.trunk = nn.Sequential(block(1, w), block(w, 2 * w), block(2 * w, 4 * w), block(4 * w, 4 * w),
                                   nn.Flatten(), nn.Dropout(c.dropout), nn.Linear(4 * w * 2 * 4, c.hidden),
                                   nn.ReLU(), nn.Dropout(c.dropout))
        self.length_head = nn.Linear(c.hidden, LENGTH_CLASSES)
        self.digit_heads = nn.Linear(c.hidden, MAX_LEN * 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate features (for the Frechet distance)."""
        return self.trunk(standardise(images))

    def forward(self, images: torch.Tensor):
        h = self.features(images)
        return self.length_head(h), self.digit_heads(h).view(-1, MAX_LEN, 10)

    def loss(self, images, labels, lengths):
        length_logits, digit_logits = self(images)
        loss = F.cross_entropy(length_logits, (lengths - 1).clamp(max=LENGTH_CLASSES - 1))
        mask = labels >= 0
        digit_loss = F.cross_entropy(digit_logits[mask], labels[mask])
        return loss + digit_loss

    def loss_per_image(self, images, labels, lengths) -> torch.Tensor:
        """[B]: cross-entropy of the length plus the sum over the image's digits (labels [B, 5], -1 pad)."""
        length_logits, digit_logits = self(images)
        loss = F.cross_entropy(length_logits, (lengths - 1).clamp(max=LENGTH_CLASSES - 1), reduction="none")
        digit = F.cross_entropy(digit_logits.flatten(0, 1), labels.clamp(min=0).flatten(), reduction="none")
        return loss + (digit.view(labels.shape) * (labels >= 0)).sum(1)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 512):
        self.eval()
        lens, digs = [], []
        for i in range(0, len(images), batch):
            length_logits, digit_logits = self(images[i: i + batch])
            lens.append(length_logits.argmax(1) + 1)
            digs.append(digit_logits.argmax(2))
        return torch.cat(lens).numpy(), torch.cat(digs).numpy()


def augment(images: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Small shifts and scalings, contrast and brightness jitter: what generated images vary in."""
    n = images.shape[0]
    s = 1 + (torch.rand(n, generator=g) - 0.5) * 0.16
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = s, s
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) - 0.5) * torch.tensor([0.08, 0.12])
    grid = F.affine_grid(theta, (n, 1, *images.shape[1:]), align_corners=False)
    x = F.grid_sample(images[:, None], grid, padding_mode="border", align_corners=False)[:, 0]
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, generator=g)
    mean = x.mean(dim=(1, 2), keepdim=True)
    x = (x - mean) * contrast + mean + (torch.rand(n, 1, 1, generator=g) - 0.5) * 0.2
    blur = torch.rand(n, generator=g) < 0.3                  # generated images are softer than data
    if blur.any():
        k = torch.tensor([0.25, 0.5, 0.25])
        xb = x[blur][:, None]
        xb = F.conv2d(F.pad(xb, (1, 1, 0, 0), mode="replicate"), k.view(1, 1, 1, 3))
        xb = F.conv2d(F.pad(xb, (0, 0, 1, 1), mode="replicate"), k.view(1, 1, 3, 1))
        x[blur] = xb[:, 0]
    return x.clamp(0, 1)


def tensors(data: dict):
    images = torch.from_numpy(data["images"]).float().div_(255)
    return images, torch.from_numpy(data["labels"].astype(np.int64)), torch.from_numpy(data["lengths"].astype(np.int64))


def evaluate_classifier(model: MultiDigitClassifier, data: dict) -> dict:
    images, labels, lengths = tensors(data)
    pl, pd = model.predict(images)
    correct = sequence_correct(pl, pd, lengths.numpy(), labels.numpy())
    return accuracy_by_length(correct, lengths.numpy())


def train_classifier(train: dict, test: dict, out: Path, epochs: int = 8, batch_size: int = 128, lr: float = 2e-3,
                     seed: int = 0, config: ClassifierConfig | None = None, progress: bool = True) -> dict:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = MultiDigitClassifier(config)
    images, labels, lengths = tensors(train)
    steps = epochs * (len(images) // batch_size)
    if steps < 1:
        raise SeqdrawError(f"need at least {batch_size} training images, got {len(images)}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(images), generator=g)
        bar = tqdm(range(len(images) // batch_size), desc=f"classifier epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for i in bar:
            idx = perm[i * batch_size: (i + 1) * batch_size]
            loss = model.loss(augment(images[idx], g), labels[idx], lengths[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        acc = evaluate_classifier(model, test)
        if progress:
            print(f"classifier epoch {epoch + 1}: test sequence accuracy {100 * acc['all']:.2f}%", file=sys.stderr)
    result = {"test_sequence_accuracy": acc, "epochs": epochs, "train_images": len(images),
              "test_images": len(test["images"]), "seconds": round(time.time() - t0, 1)}
    save_classifier(out / "classifier.safetensors", model, result)
    with atomic_path(out / "classifier.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    return result


def save_classifier(path, model: MultiDigitClassifier, extra: dict) -> None:
    save_weights(path, model, {"classifier_config": asdict(model.config), **extra})


def load_judge(path, model_meta: dict) -> MultiDigitClassifier:
    """The classifier that reads a model's images; refused when it guided that model's training
    (its weights' digest is in the model's "guides"): a model must not be graded by its own tutor."""
    judge = load_classifier(path)
    if weights_digest(judge.state_dict()) in model_meta.get("guides", []):
        raise SeqdrawError(f"{path} guided this model's training, so it cannot judge it: "
                           "evaluate with an independently trained classifier")
    return judge


def shipped_judge_path() -> Path:
    """The judge shipped inside the package (docs/evaluation.md): the classifier the shipped model's
    numbers were measured with, beside that model's weights. It never guided that model."""
    from seqdraw.generate import default_model_path
    return default_model_path().with_name("judge.safetensors")


def load_classifier(path) -> MultiDigitClassifier:
    tensors_, meta = load_weights(path, what="classifier")
    if "classifier_config" not in meta:
        raise SeqdrawError(f"{path}: not a seqdraw classifier (no classifier_config in its metadata)")
    model = MultiDigitClassifier(ClassifierConfig(**meta["classifier_config"]))
    restore(path, model, tensors_)
    model.eval()
    return model
