"""`seqdraw evaluate`: the yardstick. Every figure is measured by something no model trains against.

  1. legibility   both shipped judges (two families) read prior samples of seen and held-out strings,
                  and the held-out test images (their ceiling, labelled by what the images are);
  2. realism      a fresh k-fold CNN critic: generated vs held-out data images of the same strings,
                  beside data vs data (the floor);
  3. variety      the spread of the strokes between samples of one string, as a share of the data's;
  4. memory       the nearest training image of each sample, against that of each test image;
  5. the VAE's fit  the judges read posterior reconstructions of test images; the bound in nats;
  6. usefulness   (optional, --usefulness N) readers trained only on generated images, tested on data;
  7. the drawing  on reconstructions of test images: how often the label attention's largest weight is on
                  the digit under the pen, and whether the digits are drawn one after another.
Each accuracy carries a 95% Wilson interval; the AUC and the variety ratio a bootstrap interval.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.model.pretrained import load_model
from seqdraw.data.heldout import HELDOUT_LENGTHS, heldout_mask, heldout_strings, is_heldout, strings_of
from seqdraw.data.labels import MAX_LEN, encode
from seqdraw.data.shards import data_folder, fingerprint, load_shard
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.attention import drawing_process
from seqdraw.evaluate.critic import critic_auc
from seqdraw.evaluate.judges import judge_name, load_judge, shipped_judge_paths
from seqdraw.evaluate.metrics import (accuracy_with_interval, bootstrap_interval, frechet_distance, principal_axes, mean_pairwise_distance,
                                      nearest_distances, stroke_maps, unit_images)
from seqdraw.readers import read_correct
from seqdraw.files import atomic_path
from seqdraw.model.pretrained import model_path as resolve_model
from seqdraw.model.sampling import reconstruct_by_length, sample_by_length, seeded
from seqdraw.objectives import test_bound
from seqdraw.devices import resolve_device
from seqdraw.evaluate.config import EvalConfig
from seqdraw.generate import stored_style_temperature, stored_temperature
from seqdraw.pictures import grid, save_png, to_uint8

FRECHET_DIMS = 64              # principal components of the judge's features the Fréchet distance uses

# Table II of the paper: classification accuracy of generated images, lengths 1 / 2 / 3
PAPER_TABLE2 = {"rnnDRAW": (81.25, 7.55, 6.60), "seqDRAW": (81.02, 7.66, 6.50), "seqDRAW-cur": (81.65, 7.82, 6.80)}
VARIETY_SEED = 99_991                 # the renderer's seed for the data side of the variety figure


# ---- drawing ---------------------------------------------------------------------------------------

@torch.no_grad()
# ---- the strings to draw ------------------------------------------------------------------------------

def random_strings(L: int, n: int, heldout: bool, rng: np.random.Generator) -> list[str]:
    """n random strings of length L: held-out ones, or ones that are not held out."""
    if heldout:
        pool = sorted(heldout_strings(L))
        return [pool[i] for i in rng.integers(0, len(pool), n)]
    out = []
    while len(out) < n:
        s = "".join(map(str, rng.integers(0, 10, L).tolist()))
        if not is_heldout(s):
            out.append(s)
    return out


def by_length_and_split(correct: np.ndarray, lengths: np.ndarray, held: np.ndarray) -> dict:
    """{"L": {"seen": {...}, "heldout": {...}}, ..., "all": {...}} with Wilson intervals."""
    out = {}
    for L in np.unique(lengths).tolist():
        row = {}
        for split, mask in (("seen", ~held), ("heldout", held)):
            m = (lengths == L) & mask
            if m.any():
                row[split] = accuracy_with_interval(correct[m])
        out[str(L)] = row
    out["all"] = accuracy_with_interval(correct)
    return out


# ---- the data ------------------------------------------------------------------------------------------

def data_source(folder: Path) -> str:
    """What the evaluation images are, for the report's labels."""
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError, RecursionError):
        cfg = {}
    if not isinstance(cfg, dict):
        cfg = {}
    if cfg.get("source") == "svhn":
        return "real SVHN test images"
    if cfg.get("source") == "synthetic" or "length_probs" in cfg.get("config", {}):
        return "synthetic test images"
    return "test images (source not recorded)"


def renderer_of(folder: Path):
    """The renderer a synthetic data folder was made with (its settings from config.json), or None."""
    from seqdraw.data.synth import SynthConfig, SynthGenerator

    try:
        cfg = json.loads((folder / "config.json").read_text())["config"]
        return SynthGenerator(SynthConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}))
    except (OSError, ValueError, KeyError, TypeError, SeqdrawError, RecursionError):
        return None


def data_images_of(string: str, n: int, test: dict, test_strings: np.ndarray, renderer, seed: int) -> np.ndarray:
    """n data images of one string: fresh renders when the data are synthetic, else the first n test
    images that show it (test_strings: the test images' strings)."""
    if renderer is not None:
        return np.stack([renderer.sample(seed, i, digits=string).image for i in range(n)])
    return test["images"][np.flatnonzero(test_strings == string)[:n]]


# ---- the figures --------------------------------------------------------------------------------------

def by_digit(correct: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> dict:
    """{"0": {...}, ..., "9": {...}}: the one-digit numbers' accuracy for each digit, with intervals
    (one digit that reads badly hides in a length's mean: issue 35 saw 5s at 47% beside 0s at 100%)."""
    ones = lengths == 1
    return {str(d): accuracy_with_interval(correct[ones & (labels[:, 0] == d)])
            for d in range(10) if (ones & (labels[:, 0] == d)).any()}


def legibility(model, judges, max_len: int, config: "EvalConfig",
               progress: bool) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    """Prior samples of per_length seen and per_length held-out strings of each length, read by each
    judge: by length and split, and the one-digit numbers by digit."""
    rng = np.random.default_rng(config.seed)
    strings = []
    for L in range(1, max_len + 1):
        strings += random_strings(L, config.per_length, False, rng)
        if L in HELDOUT_LENGTHS:
            strings += random_strings(L, config.per_length, True, rng)
    labels, lengths = encode(strings)
    held = heldout_mask(labels, lengths)
    images = sample_by_length(model, labels, lengths, seeded(config.seed), progress=progress,
                              temperature=config.temperature, style_temperature=config.style_temperature)
    correct = {name: read_correct(j, images, labels, lengths) for name, j in judges.items()}
    out = {name: by_length_and_split(c, lengths, held) for name, c in correct.items()}
    digits = {name: by_digit(c, labels, lengths) for name, c in correct.items()}
    return out, digits, images, lengths


def variety(model, test: dict, renderer, max_len: int, config: "EvalConfig") -> dict:
    """Per length: mean stroke spread of `variety_samples` samples of one string over that of as many
    data images of the string, for random strings; the ratio's bootstrap interval is over strings."""
    samples, strings_per_length = config.variety_samples, config.variety_strings
    rng = np.random.default_rng(config.seed + 1)
    out = {}
    all_gen, all_data = [], []
    test_strings = np.array(strings_of(test["labels"], test["lengths"]))
    if renderer is None:                   # real data: the strings the test set shows often enough
        shown, counts = np.unique(test_strings, return_counts=True)
        common = shown[counts >= samples]
    for L in range(1, max_len + 1):
        gen_spread, data_spread = [], []
        if renderer is not None:
            strings = random_strings(L, strings_per_length, False, rng)
        else:
            pool = [s for s in common if len(s) == L]
            strings = [pool[i] for i in rng.permutation(len(pool))[:strings_per_length]]
        for s in strings:
            real = data_images_of(s, samples, test, test_strings, renderer,
                                  VARIETY_SEED + len(all_gen) + len(gen_spread))
            labels, lengths = encode([s] * samples)
            drawn = sample_by_length(model, labels, lengths, seeded(int(rng.integers(1 << 30))), progress=False,
                                     temperature=config.temperature, style_temperature=config.style_temperature)
            gen_spread.append(mean_pairwise_distance(stroke_maps(drawn)))
            data_spread.append(mean_pairwise_distance(stroke_maps(real.astype(np.float32) / 255)))
        if gen_spread:
            g, d = np.array(gen_spread), np.array(data_spread)
            lo, hi = bootstrap_interval(lambda i: g[i].mean() / d[i].mean(), len(g), rng)
            out[str(L)] = {"ratio": float(g.mean() / d.mean()), "lo": lo, "hi": hi, "strings": len(g),
                           "generated_spread": float(g.mean()), "data_spread": float(d.mean())}
            all_gen += gen_spread
            all_data += data_spread
    if all_gen:
        g, d = np.array(all_gen), np.array(all_data)
        lo, hi = bootstrap_interval(lambda i: g[i].mean() / d[i].mean(), len(g), rng)
        out["all"] = {"ratio": float(g.mean() / d.mean()), "lo": lo, "hi": hi, "strings": len(g)}
    return out


def memorisation(generated: np.ndarray, test_images: np.ndarray, train_images: np.ndarray) -> dict:
    """Nearest-training-image distances (images centred and scaled to unit norm) of samples against
    those of held-out test images; "copies" counts samples nearer to a training image than 99% of
    test images are."""
    pool = unit_images(train_images.astype(np.float32) / 255)
    gen = nearest_distances(unit_images(generated), pool)
    data = nearest_distances(unit_images(test_images.astype(np.float32) / 255), pool)
    threshold = float(np.percentile(data, 1))
    return {"generated_median": float(np.median(gen)), "data_median": float(np.median(data)),
            "ratio": float(np.median(gen) / max(np.median(data), 1e-9)), "copy_threshold": threshold,
            "copies": int((gen < threshold).sum()), "samples": int(len(gen)), "training_images": int(len(pool))}


def balanced_rows(lengths: np.ndarray, max_len: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Up to total/max_len random rows of each length 1..max_len."""
    per = max(total // max_len, 1)
    rows = [rng.permutation(np.flatnonzero(lengths == L))[:per] for L in range(1, max_len + 1)]
    return np.sort(np.concatenate(rows))


# ---- the command ----------------------------------------------------------------------------------------

def load_evaluated_model(config: EvalConfig):
    """The model, its metadata, and the config with the temperatures the model stores filled in."""
    if config.real_crops:
        load_real_crops(config.real_crops)               # a bad file is refused before any work
    model, meta = load_model(resolve_model(config.model))
    model.to(resolve_device(config.device)).eval()
    if (model.config.height, model.config.width) != (32, 64):
        raise SeqdrawError(f"{config.model}: draws {model.config.height}x{model.config.width} images; "
                           "the judges read 32x64")
    seen = meta.get("heldout_seen")
    if seen and not config.allow_seen_heldout:
        raise SeqdrawError(f"{config.model} was trained on {seen} images of held-out strings, so its held-out "
                           "figures would measure memory: retrain on data made without them (seqdraw data synth "
                           "leaves them out), or pass --allow-seen-heldout to report them as seen")
    temperature = stored_temperature(meta) if config.temperature is None else config.temperature
    style = stored_style_temperature(meta) if config.style_temperature is None else config.style_temperature
    return model, meta, replace(config, temperature=temperature, style_temperature=style)


def load_evaluation_data(data: str, max_len: int) -> tuple[Path, dict, dict | None]:
    """The data folder, its test split (the model's lengths) and its train split, if it has one."""
    folder = data_folder(data)
    test = load_shard(folder / "test.npz")
    train = load_shard(folder / "train.npz") if (folder / "train.npz").exists() else None
    test = {k: v[test["lengths"] <= max_len] for k, v in test.items()}
    if len(test["images"]) == 0:
        raise SeqdrawError(f"{folder / 'test.npz'}: no test images of 1..{max_len} digits (the model's lengths)")
    return folder, test, train


def load_judges(paths: list, meta: dict, train: dict | None) -> dict:
    """{name: reader} for each judge (default: the shipped two); a judge that saw the model's training
    data or guided it is refused (judges.load_judge)."""
    judge_paths = [Path(p) for p in (paths or shipped_judge_paths())]
    missing = [str(p) for p in judge_paths if not p.exists()]
    if missing:
        raise SeqdrawError(f"no such judge: {', '.join(missing)} (pass --judge, or train one: seqdraw classifier train)")
    train_fp = fingerprint(train) if train is not None else None
    readers = {}
    for p in judge_paths:
        reader, _ = load_judge(p, meta, train_fp)
        readers[judge_name(reader, p)] = reader
    return readers


def realism(model, test: dict, train: dict | None, rows: np.ndarray, rng: np.random.Generator, config: EvalConfig,
            out: Path, progress: bool) -> tuple[dict, dict, np.ndarray]:
    """The k-fold critic on samples against data, and its floor (data against data); critic.png shows
    the samples it found most and least like data. Returns (realism, floor, the samples)."""
    max_len = int(test["lengths"].max())
    drawn = sample_by_length(model, test["labels"][rows].astype(np.int64), test["lengths"][rows].astype(np.int64),
                             seeded(config.seed + 2), progress=progress, temperature=config.temperature,
                             style_temperature=config.style_temperature)
    found = critic_auc(drawn, test["images"][rows], steps=config.critic_steps, seed=config.seed)
    if train is not None:
        floor_rows = balanced_rows(train["lengths"].astype(np.int64), max_len, len(rows), rng)
        floor_pair = train["images"][floor_rows], test["images"][rows][: len(floor_rows)]
    else:
        half = len(rows) // 2
        floor_pair = test["images"][rows[:half]], test["images"][rows[half:]]
    floor = critic_auc(*floor_pair, steps=config.critic_steps, seed=config.seed)
    order = np.argsort(found.pop("first_scores"))              # low score: the critic takes it for data
    floor.pop("first_scores")
    save_png(out / "critic.png", np.concatenate([grid(to_uint8(drawn[order[:16]]), cols=8),
                                                 grid(to_uint8(drawn[order[-16:]]), cols=8)]), scale=3)
    return found, floor, drawn


def judge_frechet(readers: dict, drawn: np.ndarray, real: np.ndarray) -> dict | None:
    """The Fréchet distance on the first judge with features (the multidigit reader's penultimate layer,
    reduced to the reference half's first principal components): samples of the second half's strings
    against the first half of the data images, and the second half of the data against the same first
    half (the floor): equal sizes, the same strings. Not the Inception FID: its scale is this judge's."""
    name, judge = next(((n, r) for n, r in readers.items() if hasattr(r, "features")), (None, None))
    half = len(real) // 2
    if judge is None or half < 8:
        return None

    @torch.no_grad()
    def features(images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(to_uint8(images) if images.dtype != np.uint8 else images).float() / 255
        return np.concatenate([judge.features(x[i: i + 512]).numpy() for i in range(0, len(x), 512)])

    reference = features(real[:half])
    dims = min(FRECHET_DIMS, half // 4)
    mean, axes = principal_axes(reference, dims)
    project = lambda f: (f - mean) @ axes                                     # noqa: E731
    return {"judge": name, "dims": dims, "images_per_set": half,
            "generated": frechet_distance(project(features(drawn[half:])), project(reference)),
            "floor": frechet_distance(project(features(real[half:])), project(reference))}


def evaluate(config: EvalConfig, out: Path, progress: bool = True) -> dict:
    """The yardstick (docs/evaluation.md): report.json, report.md, samples.png and critic.png in `out`."""
    t0 = time.time()
    model, meta, config = load_evaluated_model(config)
    max_len = meta.get("max_len", MAX_LEN)
    folder, test, train = load_evaluation_data(config.data, max_len)
    readers = load_judges(config.judge, meta, train)
    rng = np.random.default_rng(config.seed)
    held_test = heldout_mask(test["labels"], test["lengths"])
    test_lengths = test["lengths"].astype(np.int64)

    def say(what: str) -> None:
        if progress:
            tqdm.write(f"[{time.time() - t0:5.0f} s] {what}")

    say("legibility: prior samples read by each judge")
    samples, one_digit, sample_images, sample_lengths = legibility(model, readers, max_len, config, progress)
    ceiling = {name: by_length_and_split(read_correct(j, test["images"], test["labels"], test_lengths),
                                         test_lengths, held_test) for name, j in readers.items()}
    say("reconstructions: the posterior's, read by each judge")
    rec_rows = balanced_rows(test_lengths, max_len, config.reconstructions * max_len, rng)
    rec_labels, rec_lengths = test["labels"][rec_rows], test_lengths[rec_rows]
    rec = reconstruct_by_length(model, test["images"][rec_rows], rec_labels, rec_lengths, seeded(config.seed))
    recon = {name: by_length_and_split(read_correct(j, rec, rec_labels, rec_lengths), rec_lengths,
                                       held_test[rec_rows]) for name, j in readers.items()}
    say("drawing process: attention against the pen, and when each digit is drawn")
    drawing = drawing_process(model, test, max_len, config.seed)
    say("realism: a k-fold critic, generated vs data and data vs data")
    rows = balanced_rows(test_lengths, max_len, config.critic_images, rng)
    found, floor, drawn = realism(model, test, train, rows, rng, config, out, progress)
    frechet = judge_frechet(readers, drawn, test["images"][rows])
    say("variety: the spread of strokes between samples of one string")
    spread = variety(model, test, renderer_of(folder), max_len, config)
    memory = None
    if train is not None:
        say("memorisation: nearest training images")
        memory = memorisation(drawn, test["images"][rows], train["images"][train["lengths"] <= max_len])
    useful = usefulness_figures(model, train, test, folder, config, progress) if config.usefulness else None
    report = {
        "model": str(config.model), "data": str(folder), "data_source": data_source(folder), "seed": config.seed,
        "temperature": config.temperature, "style_temperature": config.style_temperature, "max_len": max_len,
        "judges": {name: str(p) for name, p in zip(readers, config.judge or shipped_judge_paths())},
        "heldout_seen_in_training": meta.get("heldout_seen"), "per_length": config.per_length,
        "samples": samples, "samples_one_digit_by_digit": one_digit, "judges_on_test_images": ceiling,
        "reconstructions": recon,
        "test_bound_nats": test_bound(model, test, max_len, config.reconstructions, config.seed),
        "drawing": drawing, "realism_auc": found, "realism_floor_auc": floor, "frechet": frechet, "variety": spread,
        "memorisation": memory, "usefulness": useful,
        "paper_table2_seqDRAW_cur": dict(zip(("1", "2", "3"), PAPER_TABLE2["seqDRAW-cur"])),
        "seconds": round(time.time() - t0, 1),
    }
    write_report(out, report, sample_images, sample_lengths, max_len)
    return report


def write_report(out: Path, report: dict, sample_images: np.ndarray, sample_lengths: np.ndarray, max_len: int):
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(markdown(report))
    picks = [np.flatnonzero(sample_lengths == L)[:8] for L in range(1, max_len + 1)]
    save_png(out / "samples.png", grid(to_uint8(sample_images[np.concatenate(picks)]), cols=8), scale=3)


def load_real_crops(path) -> dict:
    """Real digit crops for the usefulness figure: images uint8 [N, 32, 32, 3], labels 0-9 [N]."""
    from seqdraw.files import load_npz

    real = load_npz(path, required=("images", "labels"))
    images, labels = real["images"], real["labels"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise SeqdrawError(f"{path}: images must be uint8 [N, 32, 32, 3], got {images.dtype} {list(images.shape)}")
    if labels.shape != (len(images),) or len(images) == 0 or not np.isin(labels, np.arange(10)).all():
        raise SeqdrawError(f"{path}: labels must be one digit 0-9 per image")
    return real


def usefulness_figures(model, train, test, folder: Path, config: "EvalConfig", progress: bool) -> dict:
    """Readers trained on n generated images against readers trained on n data images."""
    n, real_crops, seed = config.usefulness, config.real_crops, config.seed
    sampling = {"temperature": config.temperature, "style_temperature": config.style_temperature}
    from seqdraw.evaluate.usefulness import digit_window, digits_usefulness, grey_crops, numbers_usefulness

    if train is None:
        raise SeqdrawError(f"--usefulness needs {folder / 'train.npz'}: the strings and images to compare with")
    max_len = int(test["lengths"].max())
    keep = np.flatnonzero(train["lengths"] <= max_len)[:n]
    sub = {k: v[keep] for k, v in train.items()}
    drawn = sample_by_length(model, sub["labels"].astype(np.int64), sub["lengths"].astype(np.int64),
                             seeded(seed + 3), progress=progress, **sampling)
    out = {"numbers": numbers_usefulness(to_uint8(drawn), sub, test, seed=seed, progress=progress)}
    if real_crops:
        real = load_real_crops(real_crops)
        ones = np.flatnonzero(train["lengths"] == 1)[:n]
        digits = train["labels"][ones, 0].astype(np.int64)
        labels = np.full((len(ones), 5), -1, np.int64)
        labels[:, 0] = digits
        one_drawn = sample_by_length(model, labels, np.ones(len(ones), np.int64), seeded(seed + 4),
                                     progress=progress, **sampling)
        window = digit_window(train["boxes"], train["lengths"])
        out["digits_real_svhn"] = digits_usefulness(to_uint8(one_drawn), train["images"][ones], digits, window,
                                                    (grey_crops(real["images"]), real["labels"]), seed=seed,
                                                    progress=progress)
        out["digits_real_svhn"]["real_crops"] = str(real_crops)
    return out


# ---- report.md ---------------------------------------------------------------------------------------------

def pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.2f}%"


def cell(a: dict | None) -> str:
    """'97.25% (96.1-98.1)' from an accuracy with its interval."""
    if not a:
        return "-"
    return f"{100 * a['acc']:.1f}% ({100 * a['lo']:.1f}-{100 * a['hi']:.1f}, n={a['n']})"


def accuracy_table(title: str, figures: dict, Ls: list[str]) -> list[str]:
    lines = [title, "", "| reader | strings | " + " | ".join(f"L={L}" for L in Ls) + " |",
             "|---|---|" + "---|" * len(Ls)]
    for name, by_L in figures.items():
        for split in ("seen", "heldout"):
            if any(split in by_L.get(L, {}) for L in Ls):
                lines.append(f"| {name} | {split.replace('heldout', 'held-out')} | "
                             + " | ".join(cell(by_L.get(L, {}).get(split)) for L in Ls) + " |")
    return lines + [""]


def markdown(r: dict) -> str:
    """report.md: one section per figure of the yardstick (docs/evaluation.md)."""
    Ls = [str(L) for L in range(1, r["max_len"] + 1)]
    lines = header_lines(r)
    lines += accuracy_table(f"## 1. Legibility: prior samples, {r['per_length']} random strings per length and "
                            "split, one sample each", r["samples"], Ls)
    lines += digit_lines(r.get("samples_one_digit_by_digit"))
    lines += accuracy_table(f"### The judges on the {r['data_source']} (their ceiling)",
                            r["judges_on_test_images"], Ls)
    lines += realism_lines(r) + variety_lines(r["variety"], Ls) + memorisation_lines(r["memorisation"])
    lines += accuracy_table("## 5. The VAE's fit: posterior reconstructions of test images", r["reconstructions"], Ls)
    lines += ["Test bound (eq. 18), nats per image: "
              + ", ".join(f"{'L=' if k != 'all' else ''}{k}: {val:.1f}" for k, val in r["test_bound_nats"].items()),
              ""]
    lines += usefulness_lines(r["usefulness"]) + drawing_lines(r["drawing"])
    paper = r["paper_table2_seqDRAW_cur"]
    lines += ["The paper's Table II (seqDRAW-cur, its own classifier on SVHN): "
              + ", ".join(f"L={k}: {val:.2f}%" for k, val in paper.items()) + ".", "",
              "Samples, one row per length: `samples.png`.", ""]
    return "\n".join(lines)


def digit_lines(by_judge: dict | None) -> list[str]:
    """The one-digit samples by digit: accuracy (n) per judge; the worst digit is bold."""
    if not by_judge or not any(by_judge.values()):
        return []
    lines = ["### One-digit samples by digit", "", "| reader | " + " | ".join(str(d) for d in range(10))
             + " | worst |", "|---|" + "---|" * 11]
    for name, digits in by_judge.items():
        worst = min(digits, key=lambda d: digits[d]["acc"]) if digits else None
        lines.append(f"| {name} | " + " | ".join(
            (f"{100 * digits[str(d)]['acc']:.0f}% ({digits[str(d)]['n']})" if str(d) in digits else "-")
            for d in range(10)) + (f" | **{worst}: {100 * digits[worst]['acc']:.1f}% "
                                   f"({100 * digits[worst]['lo']:.1f}-{100 * digits[worst]['hi']:.1f})** |"
                                   if worst else " | - |"))
    return lines + [""]


def header_lines(r: dict) -> list[str]:
    seen = r["heldout_seen_in_training"]
    heldout_note = ("the model's training data excluded them" if seen == 0 else
                    f"**the model was trained on {seen} images of held-out strings: its held-out figures are "
                    "not held out**" if seen else
                    "**the model does not record its training strings: its held-out figures may include strings "
                    "it saw**")
    return [f"# Evaluation of {r['model']}", "",
            f"Data: {r['data']} ({r['data_source']}); sampling temperature {r['temperature']:g}"
            + (f", style temperature {r['style_temperature']:g}" if r.get("style_temperature") is not None else "")
            + f"; seed {r['seed']}; {r['seconds']:.0f} s. Judges: "
            + ", ".join(f"{n} = {p}" for n, p in r["judges"].items()) + ". Intervals are 95%.", "",
            f"Held-out strings (seqdraw.data.heldout): {heldout_note}.", ""]


def realism_lines(r: dict) -> list[str]:
    a, f = r["realism_auc"], r["realism_floor_auc"]
    lines = ["## 2. Realism: a k-fold CNN critic (ROC AUC; 0.5 = cannot tell)", "",
             "| comparison | AUC | images per set |", "|---|---|---|",
             f"| generated vs {r['data_source']}, same strings | {a['auc']:.4f} ({a['lo']:.4f}-{a['hi']:.4f}) "
             f"| {a['images_per_set']} |",
             f"| data vs data (the floor) | {f['auc']:.4f} ({f['lo']:.4f}-{f['hi']:.4f}) | {f['images_per_set']} |",
             "", "`critic.png`: top two rows, the samples the critic finds most real; bottom two, least real.", ""]
    fd = r.get("frechet")
    if fd:
        lines += [f"Fréchet distance on the {fd['judge']} judge's features (not the Inception FID: the scale is "
                  f"this judge's, in its first {fd['dims']} principal components; lower is closer): generated vs "
                  f"data {fd['generated']:.2f}, data vs data (the floor) {fd['floor']:.2f}, "
                  f"{fd['images_per_set']} images per set.", ""]
    return lines


def variety_lines(v: dict, Ls: list[str]) -> list[str]:
    return ["## 3. Variety of strokes between samples of one string, as a share of the data's", "",
            "| | " + " | ".join(f"L={L}" for L in Ls) + " | all |", "|---|" + "---|" * (len(Ls) + 1),
            "| ratio | " + " | ".join(f"{v[L]['ratio']:.3f} ({v[L]['lo']:.3f}-{v[L]['hi']:.3f})" if L in v else "-"
                                 for L in Ls)
            + (f" | {v['all']['ratio']:.3f} ({v['all']['lo']:.3f}-{v['all']['hi']:.3f}) |" if "all" in v else " | - |"),
            ""]


def memorisation_lines(m: dict | None) -> list[str]:
    lines = ["## 4. Memorisation: distance to the nearest training image (unit-norm, centred pixels)", ""]
    return lines + (["| | median | ", "|---|---|",
                     f"| generated -> training images | {m['generated_median']:.4f} |",
                     f"| test images -> training images | {m['data_median']:.4f} |",
                     f"| ratio | {m['ratio']:.3f} |",
                     f"| near copies (closer than 99% of test images are) | {m['copies']} of {m['samples']} |", ""]
                    if m else ["No train.npz beside test.npz: not measured.", ""])


def usefulness_lines(u: dict | None) -> list[str]:
    lines = ["## 6. Usefulness as training data", ""]
    if not u:
        return lines + ["Not measured (`--usefulness N` measures it).", ""]
    n = u["numbers"]
    lines += [f"A multi-digit reader trained on {n['images']} generated numbers, or on as many data images, "
              "reads the test images:", "",
              "| trained on | " + " | ".join(f"L={L}" for L in n["data"]) + " |", "|---|" + "---|" * len(n["data"]),
              "| generated | " + " | ".join(cell(n["generated"][L]) for L in n["data"]) + " |",
              "| data | " + " | ".join(cell(n["data"][L]) for L in n["data"]) + " |",
              "| ratio | " + " | ".join(f"{n['ratio'][L]:.3f}" for L in n["data"]) + " |", ""]
    if "digits_real_svhn" in u:
        d = u["digits_real_svhn"]
        lines += [f"A digit CNN trained on {d['images']} one-digit numbers, cropped to SVHN's digit framing, "
                  f"reads real SVHN crops ({d['real_crops']}): generated {cell(d['generated'])}, data "
                  f"{cell(d['data'])}, ratio {d['ratio']:.3f}.", ""]
    return lines


def drawing_lines(d: dict) -> list[str]:
    lines = ["## 7. The drawing process, step by step: reconstructions of test images, and prior samples", ""]
    order, align = d["order"], d["alignment"]
    if not order:
        return lines + ["No numbers of two or more digits: not measured.", ""]
    lines += ["| | " + " | ".join(f"L={L}" for L in order) + " |", "|---|" + "---|" * len(order)]
    if align:
        lines += ["| attention's largest weight on the digit under the pen (chance) | "
                  + " | ".join(f"{align[L]['alignment']:.2f} ({align[L]['chance']:.2f})" if L in align else "-"
                               for L in order) + " |"]
    lines += ["| spread of the digits' half-change steps (one after another) | "
              + " | ".join(f"{o['spread']:.2f} ({o['spread_if_one_after_another']:.2f})" for o in order.values())
              + " |"]
    ink, al, so = d["order_ink_boxes"], d["samples"]["alignment"], d["samples"]["order"]
    lines += ["| the same spread, boxes estimated from the reconstruction's ink | "
              + " | ".join(f"{ink[L]['spread']:.2f}" if L in ink else "-" for L in order) + " |"]
    if al:
        lines += ["| prior samples: attention on the digit under the pen (ink boxes) | "
                  + " | ".join(f"{al[L]['alignment']:.2f}" if L in al else "-" for L in order) + " |"]
    lines += ["| prior samples: spread (ink boxes) | "
              + " | ".join(f"{so[L]['spread']:.2f}" if L in so else "-" for L in order) + " |"]
    lines += ["", "Alignment (label attention only) and spread: seqdraw.evaluate.attention; 0 spread is every digit "
              "drawn at once. Prior samples have no known boxes: each digit's box is an equal slice of the "
              "number's ink, an estimate checked against the true boxes on reconstructions (the row above them).", ""]
    return lines
