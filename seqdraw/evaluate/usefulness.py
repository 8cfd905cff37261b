"""Usefulness as training data: train a reader only on generated images, test it on held-out data
(Ravuri & Vinyals 2019, "classification accuracy score"; ScrabbleGAN reports the same for text).

Two comparisons, each against the same recogniser trained on as many data images:
  - numbers: a multi-digit reader trained on N generated numbers (the strings of N training images),
    tested on the held-out test images, per length;
  - single digits: a digit CNN trained on N generated one-digit numbers, cropped to SVHN's 32x32 digit
    framing (format 2: the digit's box widened to a square), tested on real SVHN digit crops. The
    same window crops the generated and the data images; it is the data's median one-digit box.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from seqdraw.evaluate.metrics import accuracy_with_interval
from seqdraw.data.shards import as_tensors
from seqdraw.readers import Schedule, build_reader, fit, read_correct


def _fit(images: np.ndarray, data: dict, epochs: int, seed: int, progress: bool, what: str):
    """A small multi-digit reader trained on `images` with data's labels."""
    torch.manual_seed(seed)
    reader = build_reader("multidigit", width=24, hidden=256)
    _, labels, lengths = as_tensors(data)
    x = torch.as_tensor(images).float()
    x = x / 255 if torch.as_tensor(images).dtype == torch.uint8 else x
    return fit(reader, len(x), lambda idx, g: reader.loss(reader.augment(x[idx], g), labels[idx], lengths[idx]),
               Schedule(epochs, 64, 2e-3, seed, weight_decay=1e-4), what, progress)


def numbers_usefulness(generated: np.ndarray, train: dict, test: dict, epochs: int = 4, seed: int = 0,
                       progress: bool = True) -> dict:
    """Per length: a small multi-digit reader trained on `generated` (drawn for train's strings, in
    order) against the same reader trained on train's own images; both read `test`."""
    out = {}
    for name, images in (("generated", generated), ("data", train["images"])):
        reader = _fit(images, train, epochs, seed, progress, f"reader on {name} images")
        correct = read_correct(reader, test["images"], test["labels"], test["lengths"])
        out[name] = {str(L): accuracy_with_interval(correct[test["lengths"] == L])
                     for L in np.unique(test["lengths"]).tolist()}
    out["ratio"] = {L: out["generated"][L]["acc"] / max(out["data"][L]["acc"], 1e-9) for L in out["data"]}
    out["images"] = int(len(generated))
    return out


# ---- single digits against real SVHN ------------------------------------------------------------------

def digit_window(boxes: np.ndarray, lengths: np.ndarray) -> tuple[float, float, float]:
    """(centre x, centre y, side) of the median one-digit box, widened to a square as SVHN's format 2."""
    b = boxes[lengths == 1, 0]                            # left, top, width, height
    left, top, w, h = np.median(b, axis=0)
    return float(left + w / 2), float(top + h / 2), float(max(w, h))


def crop_digits(images: np.ndarray, window: tuple[float, float, float], size: int = 32) -> np.ndarray:
    """uint8 [N, 32, 64] frames -> uint8 [N, 32, 32] crops of one window, resized bilinearly."""
    cx, cy, side = window
    pad = int(np.ceil(side))                  # a window past the frame's edge sees the edge pixels repeated
    box = (cx - side / 2 + pad, cy - side / 2 + pad, cx + side / 2 + pad, cy + side / 2 + pad)
    return np.stack([np.asarray(Image.fromarray(np.pad(im, pad, mode="edge")).resize((size, size), Image.BILINEAR,
                                                                                     box=box), np.uint8)
                     for im in images])


def grey_crops(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 crops -> ITU-R 601 luma, as the preprocessing makes grey images."""
    return np.clip(rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) + 0.5, 0, 255).astype(np.uint8)


def digit_cnn() -> nn.Module:
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
    return nn.Sequential(block(1, 32), block(32, 64), block(64, 128), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(128 * 16, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10))


def standardise_crops(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(x, np.float32))
    t = t - t.mean(dim=(1, 2), keepdim=True)
    return (t / (t.std(dim=(1, 2), keepdim=True) + 8)).unsqueeze(1)


def jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random +-3 px translation and scale jitter: real crops are not perfectly centred."""
    n = x.shape[0]
    s = 1 + (torch.rand(n, generator=g) - 0.5) * 0.3
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = s, s
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) - 0.5) * 0.35
    return F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), padding_mode="border",
                         align_corners=False)


def train_digit_cnn(crops: np.ndarray, labels: np.ndarray, epochs: int = 6, seed: int = 0,
                    progress: bool = True, what: str = "digit CNN") -> nn.Module:
    torch.manual_seed(seed)
    x, y = standardise_crops(crops), torch.as_tensor(labels, dtype=torch.long)
    model = digit_cnn()
    return fit(model, len(x), lambda idx, g: F.cross_entropy(model(jitter(x[idx], g)), y[idx]),
               Schedule(epochs, 128, 2e-3, seed), what, progress)


def digit_accuracy(model: nn.Module, crops: np.ndarray, labels: np.ndarray) -> dict:
    with torch.no_grad():
        pred = model(standardise_crops(crops)).argmax(1).numpy()
    return accuracy_with_interval(pred == np.asarray(labels))


def digits_usefulness(generated: np.ndarray, data_images: np.ndarray, digits: np.ndarray, window,
                      real: tuple[np.ndarray, np.ndarray], epochs: int = 6, seed: int = 0,
                      progress: bool = True) -> dict:
    """A digit CNN trained on `generated` one-digit numbers against one trained on as many data
    one-digit numbers (the same digits), both cropped by `window`; both read the real crops
    (real: grey crops and their labels)."""
    real_crops, real_labels = real
    out = {}
    for name, images in (("generated", generated), ("data", data_images)):
        crops = crop_digits(np.asarray(images), window)
        model = train_digit_cnn(crops, digits, epochs, seed, progress, f"digit CNN on {name} crops")
        out[name] = digit_accuracy(model, real_crops, real_labels)
    out["ratio"] = out["generated"]["acc"] / max(out["data"]["acc"], 1e-9)
    out["images"] = int(len(generated))
    return out
