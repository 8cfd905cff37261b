"""Does the synthetic data transfer to real house numbers? Train a small single-digit CNN only on
synthetic 32x32 crops, test it on the 500 real SVHN digit crops in ../shared (never trained on).

    python benchmarks/synth_to_real.py [--samples 15000] [--epochs 8] [--seed 0]

Anchor: 86.7% for SynDigits -> SVHN without adaptation (Ganin & Lempitsky 2015). Target: >= 90%.
Both sides are grey (ITU-R 601 luma), each crop standardised to zero mean and unit variance.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from seqdraw.data.synth import generate
from seqdraw.evaluate.usefulness import digit_cnn, grey_crops, standardise_crops
from seqdraw.pictures import grid, save_png

DEV = Path(__file__).resolve().parents[2] / "shared" / "svhn" / "crops-dev" / "svhn_digits_dev500.npz"


def real_grey_crops() -> tuple[np.ndarray, np.ndarray]:
    """The real dev crops in ITU-R 601 luma, as the preprocessing makes them, and their labels."""
    real = np.load(DEV)
    return grey_crops(real["images"]), real["labels"].astype(np.int64)


def shift(x: torch.Tensor) -> torch.Tensor:
    """Random +-3 px translation and scale jitter: real crops are not perfectly centred."""
    n = x.shape[0]
    s = 1 + (torch.rand(n) - 0.5) * 0.3
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = s, s
    theta[:, :, 2] = (torch.rand(n, 2) - 0.5) * 0.35
    g = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, g, padding_mode="border", align_corners=False)


def image_statistics(x: np.ndarray) -> dict[str, np.ndarray]:
    """Quartiles and median of per-crop contrast, edge strength and high-frequency energy (the last
    two relative to contrast): what tells a too-clean or too-noisy generator from real photos."""
    x = x.astype(np.float32)
    sd = x.std((1, 2))
    grad = np.abs(np.diff(x, axis=2)).mean((1, 2)) + np.abs(np.diff(x, axis=1)).mean((1, 2))
    lap = np.abs(4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]).mean((1, 2))
    q = lambda v: np.percentile(v, [25, 50, 75])  # noqa: E731
    return {"contrast (sd)": q(sd), "edges / sd": q(grad / (sd + 1)), "high freq / sd": q(lap / (sd + 1))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=15000, help="synthetic numbers (each gives 1-5 crops)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--figure", default="docs/figures/synth_vs_real.png")
    ap.add_argument("--errors-figure", default="docs/figures/synth_to_real_errors.png",
                    help="the real crops the synthetic-only CNN misreads")
    args = ap.parse_args()
    if not DEV.exists():
        raise SystemExit(f"{DEV} not present: this benchmark needs the real dev crops")
    torch.manual_seed(args.seed)
    t0 = time.time()
    d = generate(args.samples, seed=1000 + args.seed, crops=True, progress=True)
    xs, ys = d["crops"], d["crop_labels"].astype(np.int64)
    print(f"{len(xs)} synthetic crops from {args.samples} numbers in {time.time() - t0:.0f} s")

    real_grey, real_y = real_grey_crops()
    real_y = torch.from_numpy(real_y)
    save_png(args.figure, np.concatenate([grid(xs[:48], 16), grid(real_grey[:48], 16)]), scale=2)
    print("per-crop statistics, quartiles (25 / 50 / 75%): synthetic | real")
    for (name, a), b in zip(image_statistics(xs[:2000]).items(), image_statistics(real_grey).values()):
        print(f"  {name:15s} {' '.join(f'{v:6.2f}' for v in a)} | {' '.join(f'{v:6.2f}' for v in b)}")

    X, Y, R = standardise_crops(xs), torch.from_numpy(ys), standardise_crops(real_grey)
    model = digit_cnn()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    steps = args.epochs * (len(X) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(X))
        for i in range(len(X) // 128):
            idx = perm[i * 128: (i + 1) * 128]
            loss = F.cross_entropy(model(shift(X[idx])), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(R).argmax(1) == real_y).float().mean().item()
        print(f"epoch {epoch + 1}: train loss {loss.item():.3f}, real SVHN dev-500 accuracy {100 * acc:.1f}%")
    with torch.no_grad():
        pred = model(R).argmax(1)
    wrong = (pred != real_y).nonzero().flatten()
    print("per digit (real dev-500): " + ", ".join(
        f"{d}: {100 * (pred[real_y == d] == d).float().mean().item():.0f}% of {(real_y == d).sum().item()}" for d in range(10)))
    pairs = torch.stack([real_y[wrong], pred[wrong]], 1).tolist()
    common = sorted({tuple(p) for p in pairs}, key=lambda p: -pairs.count(list(p)))[:8]
    print("most common errors (true -> read): " + ", ".join(f"{a}->{b} x{pairs.count([a, b])}" for a, b in common))
    save_png(args.errors_figure, grid(real_grey[wrong.numpy()][:64], 16), scale=2)
    print(f"RESULT synthetic-only -> real SVHN dev-500 digit accuracy: {100 * acc:.1f}% "
          f"(anchor 86.7%, target 90%); {time.time() - t0:.0f} s; figure {args.figure}")


if __name__ == "__main__":
    main()
