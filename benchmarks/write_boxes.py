"""How well do boxes derived from the drawing find the digits? For synthetic test images, whose true
boxes the renderer knows, the shipped model (scheduled attention: steps [jk, (j+1)k) draw the j-th digit
from the right) reconstructs each image, and digit j's box is derived from its k steps in two ways:

  window   the bounding box of those steps' write windows (centre +- N delta / 2)
  change   the bounding box of the pixels those steps changed most (|canvas change| above a share of
           its maximum)

Prints the mean IoU with the true boxes per length, and the share of digits with IoU >= 0.5.
    python benchmarks/write_boxes.py [--n 400]
"""
import argparse

import numpy as np
import torch

import seqdraw
from seqdraw.data.synth import generate
from seqdraw.model.draw import InferenceState


def iou(a, b):
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter + 1e-9)


@torch.no_grad()
def drawing_steps(model, images, labels, lengths, seed=0):
    """The posterior pass of ConditionalDRAW.forward, keeping each step's write window and canvas."""
    g = torch.Generator().manual_seed(seed)
    B = images.shape[0]
    T = int(model.steps(lengths).max())
    context = model._label_context(labels, lengths, T)
    state = InferenceState(*model._initial(B), images.new_zeros(images.shape), images.new_zeros(B))
    wheres, canvases = [], [torch.sigmoid(state.canvas)]
    for t in range(T):
        live = (t < model.steps(lengths)).float()
        eps = torch.randn((B, model.config.z_size), generator=g)
        state = model.train_step(images[:, None], live, eps, state, model._at(context, t))
        gx, gy, delta = model.write_attention(state.h_dec)[3]
        wheres.append(torch.stack([gx, gy, delta], -1))
        canvases.append(torch.sigmoid(state.canvas))
    return torch.stack(wheres, 1).numpy(), torch.stack(canvases, 1).numpy()


def boxes_from_windows(where, k, L, n):
    out = []
    for j in range(L):                                    # j-th digit from the left = steps of digit L-1-j from the right
        steps = where[(L - 1 - j) * k: (L - j) * k]
        half = n * steps[:, 2] / 2
        x0, x1 = (steps[:, 0] - half).min(), (steps[:, 0] + half).max()
        y0, y1 = (steps[:, 1] - half).min(), (steps[:, 1] + half).max()
        out.append((x0 - 1, y0 - 1, x1 - x0, y1 - y0))    # 1-indexed centres -> 0-indexed pixel edges
    return out


def boxes_from_change(canvases, k, L, share=0.3):
    out = []
    for j in range(L):
        r = L - 1 - j
        change = np.abs(canvases[(r + 1) * k] - canvases[r * k])
        ys, xs = np.nonzero(change >= share * change.max())
        out.append((xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400)
    args = ap.parse_args()
    drawer = seqdraw.load()
    model = drawer.model.eval()
    assert model.config.label_attention == "scheduled"
    k, N = model.config.steps_per_digit, model.config.write_n
    data = generate(args.n * 3, seed=424242)
    for L in range(1, drawer.max_len + 1):
        idx = np.flatnonzero(data["lengths"] == L)[: args.n]
        images = torch.from_numpy(data["images"][idx]).float() / 255
        labels = torch.from_numpy(data["labels"][idx, :L].astype(np.int64))
        where, canvases = drawing_steps(model, images, labels, torch.full((len(idx),), L))
        scores = {"window": [], "change": []}
        for b, i in enumerate(idx):
            truth = data["boxes"][i, :L]
            for name, boxes in (("window", boxes_from_windows(where[b], k, L, N)),
                                ("change", boxes_from_change(canvases[b], k, L))):
                scores[name] += [iou(p, t) for p, t in zip(boxes, truth)]
        print(f"L={L} ({len(idx)} images): " + ", ".join(
            f"{name} IoU mean {np.mean(v):.2f}, >=0.5 for {100 * np.mean(np.array(v) >= 0.5):.0f}%"
            for name, v in scores.items()))


if __name__ == "__main__":
    main()
