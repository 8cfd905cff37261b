"""`seqdraw evaluate` (the yardstick) and `seqdraw reproduce table2`."""
from __future__ import annotations

from pathlib import Path

from seqdraw.cli.common import DefaultsHelp, Parser, int_in, seed
from seqdraw.cli.train import parse_overrides
from seqdraw.errors import SeqdrawError

def cmd_evaluate(args) -> None:
    from dataclasses import fields

    from seqdraw.evaluate.config import EvalConfig
    from seqdraw.evaluate.report import evaluate, markdown
    from seqdraw.files import check_output_folder, output_folder

    config = EvalConfig(**{f.name: getattr(args, f.name) for f in fields(EvalConfig)
                           if getattr(args, f.name) is not None})
    out = check_output_folder(args.out, args.overwrite)
    with output_folder(out, args.overwrite) as tmp:
        report = evaluate(config, tmp)
    print(markdown(report))
    print(f"-> {out / 'report.md'}, {out / 'report.json'}, {out / 'samples.png'}, {out / 'critic.png'}")


def cmd_reproduce_table2(args) -> None:
    import shutil

    from seqdraw.experiments.table2 import ROWS, reproduce_table2
    from seqdraw.files import check_output_folder

    overrides = parse_overrides(args.set)
    rows = args.rows.split(",") if args.rows else None
    unknown = sorted(set(rows or []) - set(ROWS))
    if unknown:
        raise SeqdrawError(f"--rows: unknown row {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    out = Path(args.out)
    if args.overwrite or (out.exists() and not (out / "settings.json").exists()):
        out = check_output_folder(args.out, args.overwrite)     # a folder that holds no table is not reused
        if args.overwrite and out.is_dir():
            shutil.rmtree(out)
    objectives = ["paper", "recipe"] if args.objective == "both" else [args.objective]
    print(reproduce_table2(args.data, out, max_steps=args.max_steps, max_len=args.max_len, judges=args.judge,
                           per_length=args.per_length, overrides=overrides, seed=args.seed, rows=rows,
                           objectives=objectives, guide=args.guide))
    print(f"-> {out / 'table2.md'}")



def add_commands(sub) -> None:
    from seqdraw.evaluate.config import EvalConfig
    from seqdraw.settings import add_arguments

    e = sub.add_parser("evaluate", help="the yardstick: two judges, realism, variety, memorisation, the VAE's fit",
                       description="Flags come from seqdraw.evaluate.config.EvalConfig.")
    add_arguments(e, EvalConfig)
    e.add_argument("--out", default="runs/evaluation", help="where report.md, report.json and the figures go "
                                                            "(default: runs/evaluation)")
    e.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("reproduce", help="reproduce an experiment of the paper")
    rsub = r.add_subparsers(dest="experiment", required=True, parser_class=Parser)
    t2 = rsub.add_parser("table2", help="rnnDRAW, seqDRAW, seqDRAW-cur (and two extra rows) under one budget, "
                         "judged by the judges on reconstructions and samples",
                         formatter_class=DefaultsHelp)
    t2.add_argument("--data", required=True, help="a data folder with train.npz and test.npz (or svhn:DIR)")
    t2.add_argument("--out", default="runs/table2",
                    help="the table's folder; run again with the same settings to continue it")
    t2.add_argument("--max-steps", dest="max_steps", type=int_in(1, 100_000_000), default=3000,
                    help="training budget per row, in steps (the same images for every row)")
    t2.add_argument("--max-len", dest="max_len", type=int_in(1, 5), default=3, help="lengths 1..N (the paper: 3)")
    t2.add_argument("--rows", default=None, metavar="ROW,ROW",
                    help="train and judge only these rows: rnndraw, seqdraw, seqdraw-cur, replay, scheduled "
                         "(default: all; run subsets side by side in separate processes)")
    t2.add_argument("--objective", choices=("paper", "recipe", "both"), default="paper",
                    help="paper: the bound (eq. 18); recipe: the shipped model's terms (logistic likelihood, "
                         "guide, style match, discriminator)")
    t2.add_argument("--guide", default=None, metavar="READER",
                    help="the multidigit reader that guides the recipe objective (never a judge)")
    t2.add_argument("--judge", action="append", default=None, metavar="READER",
                    help="a reader .safetensors; repeat for several (default: the two shipped judges)")
    t2.add_argument("--per-length", dest="per_length", type=int_in(1, 1_000_000), default=1000,
                    help="test images per length to reconstruct, and label sequences to sample")
    t2.add_argument("--set", action="append", metavar="KEY=VALUE", help="TrainConfig values for every row; model.X")
    t2.add_argument("--seed", type=seed, default=0)
    t2.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    t2.set_defaults(func=cmd_reproduce_table2)
