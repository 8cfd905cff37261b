"""Judge one Table II row trained on its own (a long `seqdraw train` run, resumable across sessions)
exactly as `seqdraw reproduce table2` judges its rows, into a table folder that collects the rows
(issue 39): both judges on reconstructions of test images and on prior samples of their label
sequences, the bound, the drawing process, and the pictures.

    python benchmarks/judge_table2_row.py RUN --row seqdraw --data DATA --out docs/reports/table2-3M \
        [--checkpoint final] [--per-length 1000] [--max-len 4] [--seed 0]

DATA's test.npz supplies the test images (at least --per-length of each length). OUT gets
paper/ROW/row.json, its pictures, and table2.md / table2.json rebuilt from every row judged so far;
every row of one table must share the data, budget, lengths, seed and judges (settings.json).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from seqdraw.data.shards import data_folder, load_shard
from seqdraw.evaluate.judges import shipped_judge_paths
from seqdraw.experiments.table2 import ROWS, check_settings, judge_row, write_table
from seqdraw.files import atomic_path
from seqdraw.train_config import TrainConfig


def training_seconds(metrics: list[dict], step: int) -> float:
    """Wall time of training up to `step`, over every session of the run: wall_s restarts at each
    --resume, so each session's last value is added."""
    total, last = 0.0, 0.0
    for m in metrics:
        if m.get("step", 0) > step or "wall_s" not in m:
            continue
        if m["wall_s"] < last:
            total += last
        last = m["wall_s"]
    return total + last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--row", required=True, choices=list(ROWS))
    ap.add_argument("--data", required=True, help="the test images (DATA/test.npz)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--checkpoint", default="final", help="final, best or ckpt-NNNNNNNN inside RUN")
    ap.add_argument("--per-length", type=int, default=1000)
    ap.add_argument("--max-len", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    run, out = Path(args.run), Path(args.out)
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))   # either form
    test = load_shard(data_folder(args.data) / "test.npz")
    judges = shipped_judge_paths()
    check_settings(out, {"data": config.data.source, "test_data": str(data_folder(args.data)),
                         "max_steps": config.run.max_steps, "max_len": args.max_len, "seed": args.seed,
                         "per_length": args.per_length, "judges": [p.name for p in judges]})
    model_path = run / args.checkpoint
    result = judge_row(model_path, test, judges, args.max_len, args.per_length, args.seed, progress=True)
    state = json.loads((model_path / "state.json").read_text()) if (model_path / "state.json").exists() else {}
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    step = result.get("step") or state.get("step") or max(m["step"] for m in metrics)
    seen = max((m["images_seen"] for m in metrics if m.get("step", 0) <= step and "images_seen" in m), default=0)
    result.update(name=ROWS[args.row][0], objective="paper", curriculum=config.curriculum.kind, steps=step,
                  images=seen, train_seconds=training_seconds(metrics, step), run=str(run),
                  checkpoint=args.checkpoint)
    folder = out / "paper" / args.row
    folder.mkdir(parents=True, exist_ok=True)
    for picture in ("reconstructions.png", "process.png"):        # judge_row draws them beside the model
        if (model_path.parent / picture).exists():
            shutil.copy(model_path.parent / picture, folder / picture)
    with atomic_path(folder / "row.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    print(write_table(out, args.max_len))


if __name__ == "__main__":
    main()
