"""Metrics of the yardstick: accuracy with its interval, ROC AUC, stroke variety, nearest neighbours."""
from __future__ import annotations

import numpy as np


# ---- the yardstick's statistics (docs/evaluation.md) ----------------------------------------------

def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (Wilson 1927): sound near 0% and 100%, where the
    normal approximation is not."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def accuracy_with_interval(correct: np.ndarray) -> dict:
    """{"acc", "lo", "hi", "n"} of a boolean array."""
    k, n = int(np.sum(correct)), int(len(correct))
    lo, hi = wilson_interval(k, n)
    return {"acc": k / n if n else float("nan"), "lo": lo, "hi": hi, "n": n}


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counting half
    (the Mann-Whitney U statistic over n_pos n_neg)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_interval(statistic, n: int, rng: np.random.Generator, rounds: int = 200) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of statistic(idx) over `rounds` resamples idx of range(n) with replacement."""
    values = [statistic(rng.integers(0, n, n)) for _ in range(rounds)]
    return float(np.nanpercentile(values, 2.5)), float(np.nanpercentile(values, 97.5))


def _gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma=(0, sigma, sigma), mode="nearest")


def stroke_maps(images: np.ndarray, fine: float = 0.7, coarse: float = 2.5) -> np.ndarray:
    """[N, H, W] in [0, 1] -> [N, H*W] difference-of-Gaussians maps, each scaled to unit norm.

    The band between `fine` and `coarse` pixels keeps strokes (a digit's stroke is 2-5 px wide) and
    drops what varies smoothly, the ground's brightness, gradients and shading, and the pixel noise
    below it. So the spread of these maps is the spread of the strokes: face, weight, size, slant and
    place, which a model that draws one template per digit on varied grounds does not have."""
    x = np.asarray(images, np.float32)
    dog = _gaussian_blur(x, fine) - _gaussian_blur(x, coarse)
    flat = dog.reshape(len(x), -1)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6)


def mean_pairwise_distance(x: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of rows."""
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return float("nan")
    sq = (x * x).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0)
    return float(np.sqrt(d2[np.triu_indices(len(x), 1)]).mean())


def nearest_distances(queries: np.ndarray, pool: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """[Q] Euclidean distance from each query row to its nearest row of `pool` (both [*, D] float32)."""
    q = np.asarray(queries, np.float32)
    qq = (q * q).sum(1)
    best = np.full(len(q), np.inf, np.float32)
    for i in range(0, len(pool), chunk):
        p = np.asarray(pool[i: i + chunk], np.float32)
        d2 = qq[:, None] + (p * p).sum(1)[None, :] - 2 * q @ p.T
        best = np.minimum(best, d2.min(1))
    return np.sqrt(np.maximum(best, 0))


def unit_images(images: np.ndarray) -> np.ndarray:
    """[N, H, W] -> [N, H*W]: each image minus its mean, scaled to unit norm (contrast- and
    brightness-free, for nearest-neighbour distances)."""
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    flat = flat - flat.mean(1, keepdims=True)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6)


# ---- a realism score people know --------------------------------------------------------------------

def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets [N, D] (Heusel et al. 2017):
    |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2). On a judge's features, not Inception's, so its
    scale is this project's own: compare it with its data-against-data floor at the same N."""
    import scipy.linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    eye = 1e-6 * np.eye(a.shape[1])             # keeps the square root defined when a covariance is singular
    s_a, s_b = np.cov(a, rowvar=False) + eye, np.cov(b, rowvar=False) + eye
    root = scipy.linalg.sqrtm(s_a @ s_b)
    if np.iscomplexobj(root):
        root = root.real                       # rounding leaves tiny imaginary parts
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def principal_axes(reference: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, [D, k] axes) of the reference features' first k principal components: a Fréchet distance
    in D = 512 dimensions from a thousand images would be mostly the covariances' estimation noise."""
    mean = reference.mean(0)
    _, _, vt = np.linalg.svd(reference - mean, full_matrices=False)
    return mean, vt[:k].T
