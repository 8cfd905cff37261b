"""Drawing and reconstructing many label rows at once. Every caller that draws many rows (evaluation,
dataset export, generation, training's sample grids) goes through `draw_by_length`, and every caller
that reconstructs test images through `reconstruct_by_length`: a batch holds one length, so it runs
only that length's T = k L steps (section III-B), and a fixed seed gives the same images whoever asks.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.model.draw import ConditionalDRAW, Drawing

Noise = torch.Generator | Callable[[int], torch.Generator]      # one for every batch, or one per length


def seeded(seed: int) -> torch.Generator:
    """A CPU generator at this seed: the noise of one evaluation or export."""
    return torch.Generator().manual_seed(seed)


def batches_by_length(lengths: np.ndarray, batch: int) -> Iterator[tuple[int, np.ndarray]]:
    """(L, row indices) for every batch: lengths in increasing order, at most `batch` rows each."""
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        for i in range(0, len(idx), batch):
            yield int(L), idx[i: i + batch]


def _as_numpy(a) -> np.ndarray:
    return a.cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def draw_by_length(model: ConditionalDRAW, labels, lengths, noise: Noise, batch: int = 256,
                   progress: bool = False, **options) -> Iterator[tuple[np.ndarray, Drawing]]:
    """(row indices, Drawing) for each batch of prior samples: labels [N, >= L] (numpy or tensor, padded
    past each row's length), lengths [N]. `options` go to `model.generate` (temperature,
    style_temperature, process, pad_to, and style: a [N, z_size] z_1 per row, `style_code`). A callable
    `noise` gives each length its own generator."""
    labels, lengths = _as_numpy(labels).astype(np.int64), _as_numpy(lengths).astype(np.int64)
    device = next(model.parameters()).device
    style = options.pop("style", None)
    generators: dict[int, torch.Generator] = {}
    bar = tqdm(total=len(labels), desc="generating", unit="img", disable=not progress, leave=False)
    for L, rows in batches_by_length(lengths, batch):
        g = noise if isinstance(noise, torch.Generator) else generators.setdefault(L, noise(L))
        lab = torch.from_numpy(labels[rows, :L]).to(device)
        with torch.no_grad():
            drawing = model.generate(lab, torch.full((len(rows),), L, device=device), generator=g,
                                     style=None if style is None else style[torch.from_numpy(rows)].to(device),
                                     **options)
        bar.update(len(rows))
        yield rows, drawing
    bar.close()


def sample_by_length(model: ConditionalDRAW, labels, lengths, noise: Noise, batch: int = 256,
                     progress: bool = False, **options) -> np.ndarray:
    """float32 [N, H, W]: one prior sample per label row, in the rows' order (`draw_by_length`)."""
    out = np.zeros((len(labels), model.config.height, model.config.width), np.float32)
    for rows, drawing in draw_by_length(model, labels, lengths, noise, batch, progress, **options):
        out[rows] = drawing.images.float().cpu().numpy()
    return out


@torch.no_grad()
def reconstruct_by_length(model: ConditionalDRAW, images: np.ndarray, labels, lengths, noise: torch.Generator,
                          batch: int = 256) -> np.ndarray:
    """float32 [N, H, W]: the posterior's reconstructions of uint8 images (z from the encoder, which sees
    the image), sigmoid of the final canvas."""
    labels, lengths = _as_numpy(labels).astype(np.int64), _as_numpy(lengths).astype(np.int64)
    device = next(model.parameters()).device
    out = np.zeros(images.shape, np.float32)
    for L, rows in batches_by_length(lengths, batch):
        x = torch.from_numpy(images[rows]).float().div_(255).to(device)
        lab = torch.from_numpy(labels[rows, :L]).to(device)
        logits = model(x, lab, torch.full((len(rows),), L, device=device), generator=noise)["logits"]
        out[rows] = torch.sigmoid(logits).float().cpu().numpy()
    return out
