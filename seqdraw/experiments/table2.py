"""`seqdraw reproduce table2`: the paper's comparison (Table II) under one budget, per row and objective.

Rows: rnnDRAW, seqDRAW (learned attention, eq. 16-17), seqDRAW-cur with the paper's curriculum (III-D:
L = 1, then 2, then 3, each stage on its own length only), and three extra rows: seqDRAW with the
discretised logistic likelihood (the shipped model's base), the replay curriculum and scheduled attention.
Objectives: `paper` (the bound, eq. 18) and `recipe` (the shipped model's terms: the logistic
likelihood, guide, style match and discriminator; docs/training.md). Every row of
a table trains on the same data for the same number of images.

Each row is judged on the test images, as the paper says it did ("the reconstructed images from test
dataset"), and on prior samples for the same label sequences: both judges, per length, with 95%
intervals; the bound in nats per image; and how the model draws (seqdraw.evaluate.attention).

A table folder holds `settings.json` (the shared budget), `OBJECTIVE/ROW/` (the run, and `row.json`
once judged) and `table2.md` / `table2.json`, rebuilt from every finished row after each row. A later
call with the same settings skips finished rows and resumes unfinished ones, so rows can be run in
separate processes side by side (`--rows`) and a stopped table continues where it stopped.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from seqdraw.checkpoint import latest_checkpoint
from seqdraw.model.pretrained import load_model
from seqdraw.data.shards import data_folder, fingerprint, load_splits
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.attention import drawing_process
from seqdraw.evaluate.judges import judge_name, load_judge, shipped_judge_paths
from seqdraw.evaluate.metrics import accuracy_with_interval
from seqdraw.readers import load_guide, read_correct
from seqdraw.evaluate.report import PAPER_TABLE2
from seqdraw.model.sampling import reconstruct_by_length, sample_by_length, seeded
from seqdraw.files import atomic_path
from seqdraw.objectives import test_bound
from seqdraw.pictures import grid, process_strips, save_png, to_uint8
from seqdraw.experiments.config import Table2Config
from seqdraw.trainer import TrainConfig, batch_plan, resume_config, train
from seqdraw.train_config import merged

# key: (name in the table, preset, TrainConfig changes)
ROWS = {
    "rnndraw": ("rnnDRAW", "rnndraw", {"curriculum": "none"}),
    "seqdraw": ("seqDRAW", "seqdraw", {"curriculum": "none"}),
    "seqdraw-cur": ("seqDRAW-cur", "seqdraw-cur", {"curriculum": "paper"}),
    "logistic": ("seqDRAW, logistic likelihood (extra)", "seqdraw", {"curriculum": "none",
                                                                    "model": {"likelihood": "logistic"}}),
    "replay": ("seqDRAW-cur, replay curriculum (extra)", "seqdraw-cur", {"curriculum": "replay"}),
    "scheduled": ("seqDRAW, scheduled attention (extra)", "seqdraw", {"curriculum": "none",
                                                                     "model": {"label_attention": "scheduled"}}),
}
# the shipped model's training terms (docs/model-card.md) from the first step; `guide` comes from --guide
OBJECTIVES = {"paper": {}, "recipe": {"objective": {"guide_weight": 100.0, "style_match_weight": 100.0,
                                                    "adversarial_weight": 30.0},
                                      "model": {"likelihood": "logistic"}}}
FIGURE_NUMBERS = {"seqdraw-cur": ("7", "68", "157"), "rnndraw": ("334",)}    # the paper's figures 3-6


def row_config(row: str, objective: str, run: Path, config: Table2Config, overrides: dict) -> TrainConfig:
    """The TrainConfig of one row: its preset and curriculum, the objective's terms, the table's budget."""
    _, preset_name, changes = ROWS[row]
    values = {"preset": preset_name, "data": str(data_folder(config.data)), "out": str(run),
              "max_steps": config.max_steps, "max_len": config.max_len, "seed": config.seed}
    for layer in (overrides, OBJECTIVES[objective], changes):       # later layers win, key by key
        values = merged(values, layer)
    if objective == "recipe":
        values = merged(values, {"guide": config.guide})
    return TrainConfig.from_dict(values)


def epochs_for_budget(config: TrainConfig, lengths, max_steps: int) -> int:
    """Epochs per stage for a step budget. One stage: enough epochs that the budget, not the epochs,
    ends the run (every row sees max_steps batches). A curriculum (several stages, each a whole number of
    epochs): the most epochs that still reach every stage within the budget. Rounding up instead could
    end the run before the longest lengths' stage (SVHN has few 4-digit numbers, so the first stages are
    long): such a row sees up to one pass fewer than max_steps, and table2.md reports images per row."""
    per_pass = sum(len(batch_plan(lengths, stage, config, s, 0)) for s, stage in enumerate(config.stages()))
    if len(config.stages()) == 1:
        return max(1, -(-max_steps // per_pass))
    return max(1, max_steps // per_pass)


def check_settings(out: Path, settings: dict) -> None:
    """The first call writes the table's settings; every later call must share them (one budget)."""
    path = out / "settings.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as e:
            raise SeqdrawError(f"{path}: corrupt ({e}); pass --overwrite to start the table again") from None
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if changed:
            raise SeqdrawError(f"{out} holds a table with other settings ({', '.join(changed)}): the rows of one "
                               "table share one budget; use another --out, or --overwrite to start again")
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(settings, indent=2) + "\n")


def reproduce_table2(config: Table2Config, out: Path, overrides: dict | None = None, progress: bool = True) -> str:
    """Train and judge each row the config names, one after another, under one budget; a row another
    process holds is skipped, a finished one kept. Returns table2.md's text."""
    overrides = overrides or {}
    if "recipe" in config.objectives():
        if not config.guide:
            raise SeqdrawError("the recipe objective needs --guide (a multidigit reader that is not a judge)")
        load_guide(config.guide)                          # a bad file is refused before any training
    train_data, test_data = load_splits(config.data)
    judge_paths = [Path(p) for p in (config.judge or shipped_judge_paths())]
    missing = [str(p) for p in judge_paths if not p.exists()]
    if missing:
        raise SeqdrawError(f"no such judge: {', '.join(missing)}")
    check_settings(out, {"data": str(data_folder(config.data)), "train_fingerprint": fingerprint(train_data),
                         "max_steps": config.max_steps, "max_len": config.max_len, "seed": config.seed,
                         "overrides": overrides, "per_length": config.per_length, "guide": config.guide,
                         "judges": [str(p) for p in judge_paths]})
    for objective in config.objectives():
        for row in config.row_list():
            run_row(row, objective, out, config, overrides, (train_data, test_data), judge_paths, progress)
    return write_table(out, config.max_len)


def run_row(row: str, objective: str, out: Path, config: Table2Config, overrides: dict, data: tuple,
            judge_paths: list[Path], progress: bool) -> None:
    """Train and judge one row (row.json), unless it is done or another process holds it."""
    run, (train_data, test_data) = out / objective / row, data
    if (run / "row.json").exists():
        add_sample_drawing(run, test_data, config.max_len, config.seed)
        print(f"{objective}/{row}: done before")
        return
    with RowLock(run) as lock:
        if not lock.held:
            print(f"{objective}/{row}: being trained by process {lock.owner}; skipped")
            return
        train_config = row_config(row, objective, run, config, overrides)
        epochs = epochs_for_budget(train_config, train_data["lengths"], config.max_steps)
        train_config.curriculum = dataclasses.replace(train_config.curriculum, epochs=epochs)
        print(f"training {ROWS[row][0]} under the {objective} objective ({train_config.curriculum.kind} curriculum, "
              f"{epochs} epochs per stage, {config.max_steps} steps of {train_config.optimiser.batch_size})",
              flush=True)
        summary, seconds = train_row(train_config, run, data, progress)
        result = judge_row(run / "final", test_data, judge_paths, config.max_len, config.per_length, config.seed,
                           progress)
        result.update(name=ROWS[row][0], objective=objective, curriculum=train_config.curriculum.kind,
                      steps=summary["step"], images=summary["images_seen"], train_seconds=seconds)
        with atomic_path(run / "row.json") as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
        write_table(out, config.max_len)


class RowLock:
    """One process per row: `OBJECTIVE/.ROW.lock` holds the owner's process id while it trains and judges
    the row. A lock whose process is gone (killed) is taken over."""

    def __init__(self, run: Path):
        self.path = run.parent / f".{run.name}.lock"
        self.held, self.owner = False, None

    def __enter__(self) -> "RowLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    self.owner = int(self.path.read_text() or 0)
                except (OSError, ValueError):
                    self.owner = 0
                if self.owner and process_alive(self.owner):
                    return self
                self.path.unlink(missing_ok=True)             # its process is gone: take it over
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self.held = True
            return self
        return self

    def __exit__(self, *exc) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def train_row(config: TrainConfig, run: Path, data: tuple[dict, dict], progress: bool):
    """Train one row, or resume it from its last checkpoint. Returns the trainer's summary and the
    training seconds of every call so far (`seconds.json`; a call killed outright is not counted)."""
    resume = latest_checkpoint(run) is not None
    if resume:
        config = resume_config(str(run), {})
    clock = run.parent / f".{run.name}-seconds.json"
    before = json.loads(clock.read_text())["seconds"] if resume and clock.exists() else 0.0
    t0 = time.time()
    summary = train(config, resume=resume, data=data, progress=progress, overwrite=not resume)
    seconds = round(before + time.time() - t0, 1)
    with atomic_path(clock) as tmp:
        tmp.write_text(json.dumps({"seconds": seconds}) + "\n")
    stopped = summary.get("interrupted") or ("stopped" if summary.get("stopped") else None)
    if stopped:
        raise SeqdrawError(f"{run}: {stopped} at step {summary['step']}; run the same command again to continue")
    return summary, seconds


# ---- judging one row ------------------------------------------------------------------------------------

def test_rows(test: dict, max_len: int, per_length: int) -> np.ndarray:
    """The first `per_length` test images of each length 1..max_len, in file order."""
    return np.concatenate([np.flatnonzero(test["lengths"] == L)[:per_length] for L in range(1, max_len + 1)])


def per_length_accuracy(correct: np.ndarray, lengths: np.ndarray) -> dict:
    return {str(L): accuracy_with_interval(correct[lengths == L]) for L in np.unique(lengths).tolist()}


@torch.no_grad()
def judge_row(model_path: Path, test: dict, judge_paths: list[Path], max_len: int, per_length: int, seed: int,
              progress: bool = True) -> dict:
    """Both judges on reconstructions of test images and on prior samples of their label sequences; the
    bound; the drawing process (alignment, drawing time); the figures' strips."""
    t0 = time.time()
    model, meta = load_model(model_path)
    model.eval()
    readers = {}
    for p in judge_paths:
        reader, _ = load_judge(p, meta)
        readers[judge_name(reader, p)] = reader
    rows = test_rows(test, max_len, per_length)
    images, labels = test["images"][rows], test["labels"][rows].astype(np.int64)
    lengths = test["lengths"][rows].astype(np.int64)
    recon = reconstruct_by_length(model, images, labels, lengths, seeded(seed))
    samples = sample_by_length(model, labels, lengths, seeded(seed + 1), progress=progress)
    result = {"reconstructions": {}, "samples": {}, "strings_per_length": per_length_counts(lengths)}
    for name, reader in readers.items():
        result["reconstructions"][name] = per_length_accuracy(read_correct(reader, recon, labels, lengths), lengths)
        result["samples"][name] = per_length_accuracy(read_correct(reader, samples, labels, lengths), lengths)
    save_row_pictures(model_path.parent, images, recon, samples, lengths, max_len)
    result["bound_nats"] = test_bound(model, test, max_len, per_length, seed)
    result["drawing"] = drawing_process(model, test, max_len, seed)
    strips = [model.generate(*number_tensors(s, 6), generator=torch.Generator().manual_seed(seed), process=True)
              .canvases.numpy() for s in ("7", "68", "157", "334") if len(s) <= max_len]
    save_png(model_path.parent / "process.png", process_strips(strips), scale=2)
    result["judge_seconds"] = round(time.time() - t0, 1)
    return result


def add_sample_drawing(run: Path, test: dict, max_len: int, seed: int) -> None:
    """Rows judged before the drawing process was measured on samples too get the whole measure anew."""
    result = json.loads((run / "row.json").read_text())
    if "samples" in result["drawing"]:
        return
    model, _ = load_model(run / "final")
    result["drawing"] = drawing_process(model.eval(), test, max_len, seed)
    with atomic_path(run / "row.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")


def save_row_pictures(folder: Path, images, recon, samples, lengths, max_len: int, n: int = 8) -> None:
    """reconstructions.png: per length, a row of test images over a row of their reconstructions;
    samples.png: per length, a row of prior samples for the same label sequences."""
    picks = [np.flatnonzero(lengths == L)[:n] for L in range(1, max_len + 1)]
    pairs = np.concatenate([np.concatenate([images[p], to_uint8(recon[p])]) for p in picks])
    save_png(folder / "reconstructions.png", grid(pairs, cols=n), scale=2)
    save_png(folder / "samples.png", grid(to_uint8(np.concatenate([samples[p] for p in picks])), cols=n), scale=2)


def per_length_counts(lengths: np.ndarray) -> dict:
    return {str(L): int((lengths == L).sum()) for L in np.unique(lengths).tolist()}


def number_tensors(s: str, n: int):
    labels = torch.tensor([[int(c) for c in s]] * n)
    return labels, torch.full((n,), len(s))


# ---- the table ------------------------------------------------------------------------------------------

def cell(a: dict | None) -> str:
    return "-" if not a else f"{100 * a['acc']:.1f} ({100 * a['lo']:.1f}-{100 * a['hi']:.1f})"


def sample_drawing_cells(drawing: dict, Ls: list[str]) -> str:
    """The samples' attention alignment, and the spread with ink boxes on reconstructions -> samples
    ("-" for a row judged before they were measured, until its table's next call adds them)."""
    samples, ink = drawing.get("samples"), drawing.get("order_ink_boxes", {})
    if not samples:
        return "- | -"
    al, order = samples["alignment"], samples["order"]
    align = " / ".join(f"{al[L]['alignment']:.2f}" for L in Ls if L in al) or "-"
    spreads = " / ".join(f"{ink[L]['spread']:.2f} -> {order[L]['spread']:.2f}" for L in Ls if L in ink and L in order)
    return f"{align} | {spreads or '-'}"


def write_table(out: Path, max_len: int) -> str:
    """table2.md and table2.json from every finished row under out."""
    settings = json.loads((out / "settings.json").read_text())
    results = {}
    for objective in OBJECTIVES:
        for row in ROWS:
            path = out / objective / row / "row.json"
            if path.exists():
                results[f"{objective}/{row}"] = json.loads(path.read_text())
    Ls = [str(L) for L in range(1, max_len + 1)]
    lines = [f"Budget per row: {settings['max_steps']} steps of the same data ({settings['data']}), lengths "
             f"1-{max_len}, seed {settings['seed']}; {settings['per_length']} test images per length. "
             "Accuracy in % with 95% intervals; bound in nats per image (lower is better).", ""]
    head = ("| objective | model | judge | " + " | ".join(f"recon L={L}" for L in Ls) + " | "
            + " | ".join(f"samples L={L}" for L in Ls) + " | paper L=1 / 2 / 3 |")
    lines += [head, "|" + "---|" * (3 + 2 * len(Ls) + 1)]
    for key, r in results.items():
        paper = PAPER_TABLE2.get(r["name"])
        paper = " / ".join(f"{v:.2f}" for v in paper) if paper else "-"
        for judge in r["samples"]:
            lines.append(f"| {r['objective']} | {r['name']} | {judge} | "
                         + " | ".join(cell(r["reconstructions"][judge].get(L)) for L in Ls) + " | "
                         + " | ".join(cell(r["samples"][judge].get(L)) for L in Ls) + f" | {paper} |")
    lines += ["", "| objective | model | images | training time | bound L=" + " / ".join(Ls) + " | attention on the "
              "digit being drawn, L=" + " / ".join(Ls[1:]) + " (chance) | half-change step by digit, L=" + Ls[-1]
              + " (share of k L) | spread L=" + " / ".join(Ls[1:]) + " | samples: attention on the digit, L="
              + " / ".join(Ls[1:]) + " | spread with ink boxes, reconstructions -> samples, L=" + " / ".join(Ls[1:])
              + " |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        bound = " / ".join(f"{r['bound_nats'][L]:.1f}" for L in Ls if L in r["bound_nats"])
        if ROWS[key.split("/")[1]][2].get("model", {}).get("likelihood") == "logistic":
            bound += " (8-bit logistic nats: not comparable with eq. 10's)"
        al = r["drawing"].get("alignment", {})
        align = " / ".join(f"{al[L]['alignment']:.2f} ({al[L]['chance']:.2f})" for L in Ls[1:] if L in al) or "-"
        order = r["drawing"].get("order", {})
        last = order.get(Ls[-1], {}).get("half_change_share_by_position")
        spread = " / ".join(f"{order[L]['spread']:.2f}" for L in Ls[1:] if L in order) or "-"
        lines.append(f"| {r['objective']} | {r['name']} | {r['images']:,} | {r['train_seconds'] / 60:.1f} min | "
                     f"{bound} | {align} | {' / '.join(f'{v:.2f}' for v in last) if last else '-'} | {spread} | "
                     f"{sample_drawing_cells(r['drawing'], Ls[1:])} |")
    text = "\n".join(lines)
    with atomic_path(out / "table2.md") as tmp:
        tmp.write_text(text + "\n")
    with atomic_path(out / "table2.json") as tmp:
        tmp.write_text(json.dumps({"settings": settings, "rows": results}, indent=2) + "\n")
    return text
