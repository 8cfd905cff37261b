"""Metrics: sequence accuracy (the paper's Table II), diversity, Frechet distance."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from seqdraw.data.labels import MAX_LEN


def sequence_correct(pred_lengths, pred_digits, lengths, labels) -> np.ndarray:
    """An image is right only when its length and every one of its digits are right."""
    pred_lengths, lengths = np.asarray(pred_lengths), np.asarray(lengths)
    pred_digits, labels = np.asarray(pred_digits), np.asarray(labels)
    pos = np.arange(labels.shape[1])[None, :] < lengths[:, None]
    digits_ok = ((pred_digits[:, : labels.shape[1]] == labels) | ~pos).all(1)
    return (pred_lengths == lengths) & digits_ok


def accuracy_by_length(correct: np.ndarray, lengths: np.ndarray) -> dict:
    out = {str(L): float(correct[lengths == L].mean()) for L in range(1, MAX_LEN + 1) if (lengths == L).any()}
    out["all"] = float(correct.mean()) if len(correct) else float("nan")
    return out


def position_accuracy(pred_digits, lengths, labels) -> dict:
    """Per digit position (1 = leftmost): the share of digits read right, given the true length."""
    out = {}
    for i in range(np.asarray(labels).shape[1]):
        has = np.asarray(lengths) > i
        if has.any():
            out[str(i + 1)] = float((np.asarray(pred_digits)[has, i] == np.asarray(labels)[has, i]).mean())
    return out


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of images (flattened, pixels in [0, 1])."""
    x = images.reshape(len(images), -1).astype(np.float64)
    if len(x) < 2:
        return float("nan")
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0)
    iu = np.triu_indices(len(x), 1)
    return float(np.sqrt(d2[iu]).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (as FID, in any feature space)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(ca @ cb)
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * covmean))
