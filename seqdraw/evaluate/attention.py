"""How a model draws a number, measured from its drawing process: on test images whose digit boxes are
known (`ConditionalDRAW.trace`: the inference pass, step by step), and on prior samples of the same
label sequences (the paper's figures 3-6 are samples), whose boxes are estimated from their ink.

  alignment    for label attention (eq. 16-17): the share of steps whose largest attention weight
               falls on the digit where the write window is (section III-B's claim that the decoder
               "focuses on" one digit at a time);
  drawing time for every model: the step at which each digit's region of the canvas reaches half of
               its final change (the paper's claim that rnnDRAW draws "all of the digits almost
               simultaneously" while seqDRAW draws them one after another).

Boxes are per digit (left, top, width, height), 0-indexed pixels, in label order (left to right); the
write window's centre gx is 1-indexed as in DRAW (eq. 22).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from seqdraw.model import Drawing


def digit_centres(boxes: np.ndarray) -> np.ndarray:
    """[N, L, 4] boxes -> [N, L] horizontal centres in DRAW's 1-indexed coordinates."""
    return boxes[..., 0] + boxes[..., 2] / 2 + 0.5


def written_digit(write_x: np.ndarray, boxes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[N, T] index of the digit whose centre is nearest the write window's centre at each step, or -1
    where the window's centre lies outside the number (left of its first box, right of its last)."""
    N, L = boxes.shape[:2]
    valid = np.arange(L)[None] < lengths[:, None]                                  # [N, L]
    centres = np.where(valid, digit_centres(boxes), np.inf)
    nearest = np.abs(write_x[:, :, None] - centres[:, None, :]).argmin(-1)         # [N, T]
    left = boxes[:, 0, 0] + 0.5
    last = boxes[np.arange(N), lengths - 1]
    right = last[:, 0] + last[:, 2] + 0.5
    inside = (write_x >= left[:, None]) & (write_x <= right[:, None])
    return np.where(inside, nearest, -1)


def attention_alignment(alpha: np.ndarray, write_x: np.ndarray, boxes: np.ndarray, lengths: np.ndarray,
                        steps_per_digit: int) -> dict:
    """The share of drawing steps (within each number's k L steps, window on the number) whose largest
    attention weight is on the digit being written. Tied maxima share the credit, so attention spread
    evenly over L digits scores exactly 1/L, and attention that follows the pen scores 1.

    alpha [N, T, L]; write_x [N, T]; boxes [N, L, 4]; lengths [N]."""
    N, T, L = alpha.shape
    target = written_digit(write_x, boxes[:, :L], lengths)
    live = np.arange(T)[None] < (steps_per_digit * lengths)[:, None]
    counted = live & (target >= 0)
    masked = np.where(np.arange(L)[None, None] < lengths[:, None, None], alpha, -np.inf)
    top = masked >= masked.max(-1, keepdims=True) - 1e-6                           # [N, T, L] the maxima
    hit = np.take_along_axis(top, np.maximum(target, 0)[..., None], -1)[..., 0]
    credit = hit / top.sum(-1)
    chance = 1 / lengths[:, None].repeat(T, 1)
    n = int(counted.sum())
    return {"alignment": float(credit[counted].mean()) if n else float("nan"),
            "chance": float(chance[counted].mean()) if n else float("nan"),
            "steps": n, "share_of_steps_on_the_number": float(n / max(1, live.sum()))}


def half_change_steps(canvases: np.ndarray, boxes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[N, L] the first step t (1..T) at which each digit's box region of the canvas has made half of its
    final change, measured along that change: <c_t - c_0, c_T - c_0> / |c_T - c_0|^2 >= 1/2. NaN for
    padding and for regions the drawing leaves unchanged. canvases [N, T + 1, H, W] (frozen after each
    number's own T)."""
    N, T1, H, W = canvases.shape
    L = boxes.shape[1]
    out = np.full((N, L), np.nan)
    for n in range(N):
        for i in range(int(lengths[n])):
            x, y, w, h = boxes[n, i]
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            x1, y1 = max(x0 + 1, int(np.ceil(x + w))), max(y0 + 1, int(np.ceil(y + h)))
            region = canvases[n, :, max(0, y0):min(H, y1), max(0, x0):min(W, x1)].reshape(T1, -1)
            change = region - region[0]
            final = change[-1]
            norm = float(final @ final)
            if norm < 1e-8:
                continue
            progress = change @ final / norm
            out[n, i] = int(np.argmax(progress >= 0.5))
    return out


def drawing_order(canvases: np.ndarray, boxes: np.ndarray, lengths: np.ndarray, steps_per_digit: int) -> dict:
    """Per length L >= 2: the mean half-change step of each digit position (left to right) as a share of
    the number's k L steps, and the mean spread between its earliest and its latest digit (0: drawn all at
    once; (L - 1) / L: one digit after another, each in its own k steps)."""
    half = half_change_steps(canvases, boxes, lengths)
    out = {}
    for L in sorted(set(lengths.tolist())):
        if L < 2:
            continue
        rows = half[lengths == L][:, :L]
        rows = rows[~np.isnan(rows).any(1)]
        if len(rows) == 0:
            continue
        share = rows / (steps_per_digit * L)
        spread = share.max(1) - share.min(1)
        out[str(L)] = {"half_change_share_by_position": [round(float(v), 3) for v in share.mean(0)],
                       "spread": round(float(spread.mean()), 3),
                       "spread_if_one_after_another": round((L - 1) / L, 3), "numbers": int(len(rows))}
    return out


def ink_boxes(images: np.ndarray, L: int, share: float = 0.5) -> np.ndarray:
    """[N, H, W] pictures of L-digit numbers in [0, 1] -> [N, L, 4] estimated digit boxes, for pictures
    whose boxes are not known (prior samples). Ink: pixels whose distance from the picture's median grey
    is at least `share` of the largest. The number spans the columns (rows) holding at least two ink
    pixels; digit i gets the i-th of L equal slices of that span (house-number digits are about equally
    wide). `drawing_process` reports the estimate against the true boxes on reconstructions."""
    N, H, W = images.shape
    out = np.zeros((N, L, 4))
    for n in range(N):
        distance = np.abs(images[n] - np.median(images[n]))
        ink = distance >= share * max(float(distance.max()), 1e-6)
        cols, rows = np.flatnonzero(ink.sum(0) >= 2), np.flatnonzero(ink.sum(1) >= 2)
        x0, x1 = (cols[0], cols[-1] + 1) if len(cols) else (0, W)
        y0, y1 = (rows[0], rows[-1] + 1) if len(rows) else (0, H)
        w = (x1 - x0) / L
        out[n] = [(x0 + i * w, y0, w, y1 - y0) for i in range(L)]
    return out


def process_measures(drawing, boxes: np.ndarray, L: int, k: int) -> tuple[dict | None, dict | None]:
    """(alignment, drawing order) of one batch of L-digit drawings with these boxes; None where not
    measured (no label attention; no region changed)."""
    lengths = np.full(len(boxes), L)
    alignment = None
    if drawing.alpha is not None:
        alignment = attention_alignment(drawing.alpha.numpy(), drawing.write_where[..., 0].numpy(), boxes, lengths, k)
    return alignment, drawing_order(drawing.canvases.numpy(), boxes, lengths, k).get(str(L))


def on_cpu(drawing: Drawing) -> Drawing:
    """A Drawing's tensors as float32 on the CPU, where the measures below run."""
    fields = (getattr(drawing, f.name) for f in dataclasses.fields(drawing))
    return Drawing(*(None if t is None else t.float().cpu() for t in fields))


def drawing_process(model, test: dict, max_len: int, seed: int, per_length: int = 200) -> dict:
    """Alignment of the label attention with the pen, and when each digit's region is drawn, per length
    2..max_len: from the inference pass on `per_length` test images with their true boxes (`alignment`,
    `order`); from the same pass with boxes estimated from each reconstruction's ink (`order_ink_boxes`,
    which says how far the estimate can be trusted); and from prior samples of the same label sequences,
    with ink boxes (`samples`)."""
    k = model.config.steps_per_digit
    g = torch.Generator().manual_seed(seed)
    out = {"alignment": {}, "order": {}, "order_ink_boxes": {}, "samples": {"alignment": {}, "order": {}}}
    for L in range(2, max_len + 1):
        j = np.flatnonzero(test["lengths"] == L)[:per_length]
        if len(j) == 0:
            continue
        device = next(model.parameters()).device
        labels = torch.from_numpy(test["labels"][j, :L].astype(np.int64)).to(device)
        lengths = torch.full((len(j),), L, device=device)
        with torch.no_grad():
            images = torch.from_numpy(test["images"][j]).float().div_(255).to(device)
            trace = on_cpu(model.trace(images, labels, lengths, generator=g))
            drawn = on_cpu(model.generate(labels, lengths, generator=g, process=True))
        alignment, order = process_measures(trace, test["boxes"][j, :L].astype(np.float64), L, k)
        _, ink_order = process_measures(trace, ink_boxes(trace.canvases[:, -1].numpy(), L), L, k)
        sample_alignment, sample_order = process_measures(drawn, ink_boxes(drawn.images.numpy(), L), L, k)
        for into, value in ((out["alignment"], alignment), (out["order"], order), (out["order_ink_boxes"], ink_order),
                            (out["samples"]["alignment"], sample_alignment), (out["samples"]["order"], sample_order)):
            if value is not None:
                into[str(L)] = value
    return out
