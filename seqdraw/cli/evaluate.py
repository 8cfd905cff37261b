"""`seqdraw evaluate` (the yardstick) and `seqdraw reproduce table2`."""
from __future__ import annotations

from pathlib import Path

from seqdraw.cli.common import Parser, settings_from
from seqdraw.cli.train import parse_overrides


def cmd_evaluate(args) -> None:
    from seqdraw.evaluate.config import EvalConfig
    from seqdraw.evaluate.report import evaluate, markdown
    from seqdraw.files import check_output_folder, output_folder

    config = settings_from(EvalConfig, args)
    out = check_output_folder(args.out, args.overwrite)
    with output_folder(out, args.overwrite) as tmp:
        report = evaluate(config, tmp)
    print(markdown(report))
    print(f"-> {out / 'report.md'}, {out / 'report.json'}, {out / 'samples.png'}, {out / 'critic.png'}")


def cmd_reproduce_table2(args) -> None:
    import shutil
    from seqdraw.experiments.config import Table2Config
    from seqdraw.experiments.table2 import reproduce_table2
    from seqdraw.files import check_output_folder

    overrides = parse_overrides(args.set)
    config = settings_from(Table2Config, args)
    out = Path(args.out)
    if args.overwrite or (out.exists() and not (out / "settings.json").exists()):
        out = check_output_folder(args.out, args.overwrite)     # a folder that holds no table is not reused
        if args.overwrite and out.is_dir():
            shutil.rmtree(out)
    print(reproduce_table2(config, out, overrides))
    print(f"-> {out / 'table2.md'}")


def add_commands(sub) -> None:
    from seqdraw.evaluate.config import EvalConfig
    from seqdraw.experiments.config import Table2Config
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
                         "judged by the judges on reconstructions and samples")
    add_arguments(t2, Table2Config)
    t2.add_argument("--out", default="runs/table2",
                    help="the table's folder; run again with the same settings to continue it (default: runs/table2)")
    t2.add_argument("--set", action="append", metavar="KEY=VALUE", help="TrainConfig values for every row; model.X")
    t2.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    t2.set_defaults(func=cmd_reproduce_table2)
