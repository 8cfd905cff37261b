"""`seqdraw evaluate`: the paper's Table II for one model, and the metrics beyond it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.checkpoint import load_model
from seqdraw.evaluate.classifier import load_judge, tensors
from seqdraw.evaluate.metrics import (accuracy_by_length, frechet_distance, mean_pairwise_distance,
                                      position_accuracy, sequence_correct)
from seqdraw.files import atomic_path
from seqdraw.generate import stored_style_temperature, stored_temperature
from seqdraw.pictures import grid, save_png, to_uint8

# Table II of the paper: classification accuracy of generated images, lengths 1 / 2 / 3
PAPER_TABLE2 = {"rnnDRAW": (81.25, 7.55, 6.60), "seqDRAW": (81.02, 7.66, 6.50), "seqDRAW-cur": (81.65, 7.82, 6.80)}


@torch.no_grad()
def generate_for(model, labels: np.ndarray, lengths: np.ndarray, seed: int, batch: int = 256,
                 progress: bool = True, temperature: float = 1.0,
                 style_temperature: float | None = None) -> np.ndarray:
    """One image per label row, batched by length so each batch draws only k L steps."""
    out = np.zeros((len(labels), model.config.height, model.config.width), np.float32)
    g = torch.Generator().manual_seed(seed)
    order = [(L, np.flatnonzero(lengths == L)) for L in np.unique(lengths)]
    bar = tqdm(total=len(labels), desc="generating", unit="img", disable=not progress, leave=False)
    for L, idx in order:
        for i in range(0, len(idx), batch):
            j = idx[i: i + batch]
            lab = torch.from_numpy(labels[j, :L].astype(np.int64))
            out[j] = model.generate(lab, torch.full((len(j),), int(L)), generator=g, temperature=temperature,
                                    style_temperature=style_temperature).images.numpy()
            bar.update(len(j))
    bar.close()
    return out


@torch.no_grad()
def test_bound(model, data: dict, max_len: int, limit: int, seed: int) -> dict:
    """The negative variational bound (nats per image) on held-out images, per length."""
    g = torch.Generator().manual_seed(seed)
    keep = np.flatnonzero(data["lengths"] <= max_len)[:limit]
    out = {}
    for L in np.unique(data["lengths"][keep]):
        idx = keep[data["lengths"][keep] == L]
        total = 0.0
        for i in range(0, len(idx), 256):
            j = idx[i: i + 256]
            images = torch.from_numpy(data["images"][j]).float() / 255
            labels = torch.from_numpy(data["labels"][j, :L].astype(np.int64))
            total += model(images, labels, torch.full((len(j),), int(L)), generator=g)["loss"].sum().item()
        out[str(int(L))] = total / len(idx)
    out["all"] = float(np.mean([v for v in out.values()]))
    return out


def feature_frechet(clf, generated: np.ndarray, real: torch.Tensor, rng: np.random.Generator) -> float:
    """Frechet distance between generated and real images in the classifier's penultimate features,
    on equally many of each, drawn at random: the generated images are sorted by length, so their
    first n would compare only the short numbers with test images of every length."""
    n = min(len(generated), len(real), 5000)
    with torch.no_grad():
        fg = clf.features(torch.from_numpy(generated[rng.permutation(len(generated))[:n]])).numpy()
        fr = clf.features(real[rng.permutation(len(real))[:n]]).numpy()
    return frechet_distance(fg, fr)


def evaluate(model_path, classifier_path, data: dict, out: Path, per_length: int = 0, seed: int = 0,
             diversity_strings: int = 20, diversity_samples: int = 10, bound_limit: int = 2000,
             progress: bool = True, temperature: float | None = None,
             style_temperature: float | None = None) -> dict:
    t0 = time.time()
    model, meta = load_model(model_path)
    model.eval()
    if temperature is None:
        temperature = stored_temperature(meta)
    if style_temperature is None:
        style_temperature = stored_style_temperature(meta)
    clf = load_judge(classifier_path, meta)
    max_len = int(meta.get("max_len", model.config.max_len))
    rng = np.random.default_rng(seed)

    # the strings to draw: the test set's own, or per_length random ones of each length
    if per_length:
        lengths = np.repeat(np.arange(1, max_len + 1), per_length)
        labels = np.full((len(lengths), 5), -1, np.int64)
        for i, L in enumerate(lengths):
            labels[i, :L] = rng.integers(0, 10, L)
        source = f"{per_length} random strings per length"
    else:
        keep = np.flatnonzero(data["lengths"] <= max_len)
        labels, lengths = data["labels"][keep].astype(np.int64), data["lengths"][keep].astype(np.int64)
        source = "the test set's label sequences"
    generated = generate_for(model, labels, lengths, seed, progress=progress, temperature=temperature,
                             style_temperature=style_temperature)
    pl, pd = clf.predict(torch.from_numpy(generated))
    correct = sequence_correct(pl, pd, lengths, labels)

    # the ceiling: the classifier on real test images of the same lengths
    real_keep = np.flatnonzero(data["lengths"] <= max_len)
    real = {k: v[real_keep] for k, v in data.items()}
    ri, rl, rn = tensors(real)
    rpl, rpd = clf.predict(ri)
    real_correct = sequence_correct(rpl, rpd, rn.numpy(), rl.numpy())

    # diversity: samples of one string vs test images of the same length
    div_gen, div_real = [], []
    for L in range(1, max_len + 1):
        for _ in range(diversity_strings):
            lab = np.full((diversity_samples, 5), -1, np.int64)
            lab[:, :L] = rng.integers(0, 10, L)
            imgs = generate_for(model, lab, np.full(diversity_samples, L), int(rng.integers(1 << 30)),
                                progress=False, temperature=temperature, style_temperature=style_temperature)
            div_gen.append(mean_pairwise_distance(imgs))
            pool = np.flatnonzero(real["lengths"] == L)
            if len(pool) >= diversity_samples:
                pick = rng.choice(pool, diversity_samples, replace=False)
                div_real.append(mean_pairwise_distance(real["images"][pick].astype(np.float32) / 255))
    diversity = float(np.mean(div_gen) / np.mean(div_real)) if div_real else float("nan")

    # Frechet distance in the classifier's penultimate features
    fd = feature_frechet(clf, generated, ri, rng)

    report = {
        "model": str(model_path), "classifier": str(classifier_path), "strings": source, "seed": seed,
        "temperature": temperature,
        "style_temperature": style_temperature,
        "images": int(len(generated)), "max_len": max_len,
        "sequence_accuracy": accuracy_by_length(correct, lengths),
        "classifier_on_real_test": accuracy_by_length(real_correct, rn.numpy()),
        "position_accuracy": position_accuracy(pd, lengths, labels),
        "test_bound_nats": test_bound(model, data, max_len, bound_limit, seed),
        "diversity_ratio": diversity,
        "diversity_strings": diversity_strings,
        "frechet_distance": fd,
        "paper_table2_seqDRAW_cur": dict(zip(("1", "2", "3"), PAPER_TABLE2["seqDRAW-cur"])),
        "seconds": round(time.time() - t0, 1),
    }
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(markdown(report))
    rows = [to_uint8(generated[lengths == L][:8]) for L in range(1, max_len + 1) if (lengths == L).any()]
    cols = max(len(r) for r in rows)
    rows = [np.concatenate([r, np.full((cols - len(r), *r.shape[1:]), 255, np.uint8)]) for r in rows]
    save_png(out / "samples.png", grid(np.concatenate(rows), cols=cols), scale=3)
    return report


def pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.2f}%"


def markdown(r: dict) -> str:
    Ls = [k for k in r["sequence_accuracy"] if k != "all"]
    head = "| | " + " | ".join(f"L={L}" for L in Ls) + " | all |\n|---|" + "---|" * (len(Ls) + 1) + "\n"
    paper = r["paper_table2_seqDRAW_cur"]
    lines = [
        f"# Evaluation of {r['model']}",
        "",
        f"{r['images']} generated images ({r['strings']}, sampling temperature {r['temperature']:g}"
        + (f", style temperature {r['style_temperature']:g}" if r.get("style_temperature") is not None else "")
        + "), "
        f"classified by {r['classifier']}; seed {r['seed']}.",
        "",
        "## Sequence accuracy of generated images (the paper's Table II)",
        "",
        head + "| this model | " + " | ".join(pct(r["sequence_accuracy"][L]) for L in Ls) + f" | {pct(r['sequence_accuracy']['all'])} |",
        "| classifier on real test images (ceiling) | " + " | ".join(pct(r["classifier_on_real_test"].get(L)) for L in Ls)
        + f" | {pct(r['classifier_on_real_test']['all'])} |",
        "| paper, seqDRAW-cur | " + " | ".join(f"{paper[L]:.2f}%" if L in paper else "-" for L in Ls) + " | - |",
        "",
        "## Beyond Table II",
        "",
        "| metric | value |",
        "|---|---|",
        "| test bound, nats/image (lower is better; BCE on grey pixels, not a normalised likelihood) | "
        + ", ".join(f"{'L=' if k != 'all' else ''}{k}: {v:.1f}" for k, v in r["test_bound_nats"].items()) + " |",
        f"| diversity ratio (mean pairwise distance of 10 samples of one string / of as many test images "
        f"of that length; {r.get('diversity_strings', 20)} strings per length) | {r['diversity_ratio']:.3f} |",
        f"| Frechet distance to test images, classifier features | {r['frechet_distance']:.2f} |",
        "| per-position digit accuracy (1 = leftmost) | "
        + ", ".join(f"{k}: {pct(v)}" for k, v in r["position_accuracy"].items()) + " |",
        "",
        "Samples, one row per length: `samples.png`.",
        "",
    ]
    return "\n".join(lines)
