"""`seqdraw reproduce table2`: rnnDRAW, seqDRAW and seqDRAW-cur trained under one budget, judged by the
yardstick's judges (seqdraw evaluate), side by side with the paper's Table II."""
from __future__ import annotations

import json
from pathlib import Path

from seqdraw.data.shards import data_folder, load_splits
from seqdraw.evaluate.report import PAPER_TABLE2, evaluate
from seqdraw.files import atomic_path
from seqdraw.trainer import TrainConfig, batch_plan, train

MODELS = (("rnnDRAW", "rnndraw"), ("seqDRAW", "seqdraw"), ("seqDRAW-cur", "seqdraw-cur"))


def epochs_for_budget(config: TrainConfig, lengths, max_steps: int) -> int:
    """Epochs per stage such that every curriculum stage is reached within the step budget: one
    budget, spent over all lengths, for every model (the budget then cuts the last epoch short)."""
    per_pass = sum(len(batch_plan(lengths, stage, config, s, 0)) for s, stage in enumerate(config.stages()))
    return max(1, -(-max_steps // per_pass))


def reproduce_table2(data: str, out: Path, max_steps: int, max_len: int = 3, judges: list | None = None,
                     per_length: int = 1000, overrides: dict | None = None, seed: int = 0,
                     evaluate_options: dict | None = None) -> str:
    folder = data_folder(data)
    train_data, test_data = load_splits(data)
    overrides = overrides or {}
    reports = {}
    for name, preset_name in MODELS:
        run = out / preset_name
        config = TrainConfig.from_dict({"preset": preset_name, "data": str(folder), "out": str(run),
                                        "max_steps": max_steps, "max_len": max_len, "seed": seed, **overrides})
        config.epochs = epochs_for_budget(config, train_data["lengths"], max_steps)
        print(f"training {name} ({config.curriculum} curriculum, {config.epochs} epochs per stage, "
              f"{max_steps} steps)")
        train(config, data=(train_data, test_data))
        reports[name] = evaluate(run / "final", str(folder), run / "evaluation", judges=judges,
                                 per_length=per_length, seed=seed, **(evaluate_options or {}))
    table = format_table(reports, max_len)
    with atomic_path(out / "table2.md") as tmp:
        tmp.write_text(table + "\n")
    with atomic_path(out / "table2.json") as tmp:
        tmp.write_text(json.dumps({k: v["samples"] for k, v in reports.items()}, indent=2) + "\n")
    return table


def seen_cell(by_L: dict, L: str) -> str:
    a = by_L.get(L, {}).get("seen")
    return "-" if not a else f"{100 * a['acc']:.2f}% ({100 * a['lo']:.1f}-{100 * a['hi']:.1f})"


def format_table(reports: dict, max_len: int) -> str:
    """One row per model and judge: sequence accuracy of prior samples of seen strings, 95% intervals."""
    Ls = [str(L) for L in range(1, max_len + 1)]
    lines = ["| model | judge | " + " | ".join(f"L={L} ours" for L in Ls) + " | "
             + " | ".join(f"L={L} paper" for L in Ls[:3]) + " |",
             "|---|---|" + "---|" * (len(Ls) + len(Ls[:3]))]
    for name, r in reports.items():
        paper = " | ".join(f"{v:.2f}%" for v in PAPER_TABLE2[name][: len(Ls[:3])])
        for judge, by_L in r["samples"].items():
            lines.append(f"| {name} | {judge} | " + " | ".join(seen_cell(by_L, L) for L in Ls) + f" | {paper} |")
    first = next(iter(reports.values()))
    for judge, by_L in first["judges_on_test_images"].items():
        lines.append(f"| {first['data_source']} (ceiling) | {judge} | " + " | ".join(seen_cell(by_L, L) for L in Ls)
                     + " | " + " | ".join("~78% (all lengths)" if i == 0 else "" for i in range(len(Ls[:3]))) + " |")
    return "\n".join(lines)
