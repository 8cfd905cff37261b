"""`seqdraw evaluate` (the yardstick) and `seqdraw reproduce table2`."""
from __future__ import annotations

from pathlib import Path

from seqdraw.cli.common import DefaultsHelp, Parser, int_in, seed, temperature
from seqdraw.cli.train import parse_overrides
from seqdraw.errors import SeqdrawError

def cmd_evaluate(args) -> None:
    from seqdraw.evaluate.report import evaluate, markdown
    from seqdraw.files import check_output_folder, output_folder

    out = check_output_folder(args.out, args.overwrite)
    with output_folder(out, args.overwrite) as tmp:
        report = evaluate(args.model, args.data, tmp, judges=args.judge, per_length=args.per_length, seed=args.seed,
                          temperature=args.temperature, style_temperature=args.style_temperature,
                          critic_images=args.critic_images, critic_steps=args.critic_steps,
                          variety_strings=args.variety_strings, reconstructions=args.reconstructions,
                          usefulness=args.usefulness, real_crops=args.real_crops,
                          allow_seen_heldout=args.allow_seen_heldout)
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
    e = sub.add_parser("evaluate", help="the yardstick: two judges, realism, variety, memorisation, the VAE's fit",
                       formatter_class=DefaultsHelp)
    e.add_argument("--model", required=True, help="a model .safetensors, a run's final/ or best/ folder, or a "
                                                  "shipped model: recipe or paper")
    e.add_argument("--data", required=True,
                   help="the data folder whose test.npz is held out (its train.npz, if there, is what the "
                        "model trained on: memorisation and the critic's floor use it)")
    e.add_argument("--judge", action="append", default=None, metavar="READER",
                   help="a reader .safetensors (seqdraw classifier train); repeat for several "
                        "(default: the two judges shipped in the package)")
    e.add_argument("--per-length", dest="per_length", type=int_in(1, 1_000_000), default=400,
                   help="random strings per length, and as many held-out ones for lengths 3-5, one sample each")
    e.add_argument("--critic-images", dest="critic_images", type=int_in(20, 1_000_000), default=2000,
                   help="generated and as many data images for the realism critic")
    e.add_argument("--critic-steps", dest="critic_steps", type=int_in(1, 1_000_000), default=400,
                   help="training steps of each critic (batch 64), per fold")
    e.add_argument("--variety-strings", dest="variety_strings", type=int_in(1, 100_000), default=20,
                   help="strings per length for the stroke variety, 8 samples each")
    e.add_argument("--reconstructions", type=int_in(1, 1_000_000), default=400,
                   help="test images per length for the reconstructions and the bound")
    e.add_argument("--usefulness", type=int_in(0, 10_000_000), default=0, metavar="N",
                   help="also train readers on N generated and on N data images (0: skip; minutes)")
    e.add_argument("--real-crops", dest="real_crops", default=None, metavar="NPZ",
                   help="with --usefulness: real SVHN digit crops (images uint8 [N, 32, 32, 3], labels) "
                        "for the single-digit comparison")
    e.add_argument("--allow-seen-heldout", dest="allow_seen_heldout", action="store_true",
                   help="evaluate a model trained on held-out strings (its held-out figures are then not held out)")
    e.add_argument("--temperature", type=temperature, default=None,
                   help="sampling temperature (default: the one stored with the model, else 1)")
    e.add_argument("--style-temperature", dest="style_temperature", type=temperature, default=None,
                   help="temperature of z_1 alone (default: the one stored with the model, else --temperature)")
    e.add_argument("--out", default="runs/evaluation", help="where report.md, report.json and the figures go")
    e.add_argument("--seed", type=seed, default=0)
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
