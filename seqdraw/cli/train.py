"""`seqdraw train`: flags from TrainConfig and its groups (seqdraw/train_config.py), --config, --set, --resume."""
from __future__ import annotations

import os
import sys

from seqdraw.errors import SeqdrawError


def parse_overrides(items: list[str] | None) -> dict:
    """--set KEY=VALUE pairs, each parsed by its field's type: a flat name (lr=0.001), the nested one
    (optimiser.lr=0.001), or model.X for the model. Returns the nested form."""
    from seqdraw.model import ModelConfig
    from seqdraw.settings import parse_text
    from seqdraw.train_config import FLAT, GONE, GROUPS, TrainConfig, merged

    values: dict = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SeqdrawError(f"--set {item!r}: use KEY=VALUE, e.g. --set model.enc_size=256")
        if key in GONE:
            raise SeqdrawError(f"--set {key}: {key} is gone ({GONE[key]})")
        group, _, name = key.rpartition(".")
        try:
            if group == "model":
                change = {"model": {name: parse_text(ModelConfig, name, raw)}}
            elif group in GROUPS:
                change = {group: {name: parse_text(GROUPS[group], name, raw)}}
            elif not group and key in FLAT:
                g, name = FLAT[key]
                change = {g: {name: parse_text(GROUPS[g], name, raw)}}
            elif not group and key != "model":
                change = {key: parse_text(TrainConfig, key, raw)}
            else:
                raise SeqdrawError("use model.KEY=VALUE for each model setting" if key == "model"
                                   else f"unknown setting {key!r}")
        except SeqdrawError as e:
            raise SeqdrawError(f"--set {item!r}: {e}") from None
        values = merged(values, change)
    return values


def train_config(args):
    """TrainConfig from the defaults, then --config, then flags and --set (or the run's own config on
    --resume, with a new budget)."""
    from dataclasses import fields

    from seqdraw.train_config import FLAT, TrainConfig, merged
    from seqdraw.trainer import resume_config

    flags = {k: getattr(args, k) for k in FLAT if getattr(args, k, None) is not None}
    flags |= {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    changes = merged(flags, parse_overrides(args.set))
    if args.resume:
        if args.config:
            raise SeqdrawError("--resume uses the run's own config.json: drop --config")
        return resume_config(args.resume, changes)
    values = {}
    if args.config:
        from seqdraw.files import read_json
        values = read_json(args.config, "--config")
        if not isinstance(values, dict):
            raise SeqdrawError(f"--config {args.config}: must be a JSON object of TrainConfig values")
    what = f"--config {args.config}" if args.config else "training config"
    return TrainConfig.from_dict(merged(values, changes, what), what=what)


def cmd_train(args) -> int:
    from seqdraw.trainer import train

    config = train_config(args)
    summary = train(config, resume=bool(args.resume), overwrite=args.overwrite)
    if os.environ.get("RANK", "0") != "0":       # under torchrun only rank 0 reports
        return 0
    if summary.get("interrupted"):
        print(f"seqdraw: {summary['interrupted']} at step {summary['step']}: checkpoint saved; continue with "
              f"seqdraw train --resume {config.run.out}", file=sys.stderr)
        return 130
    val = summary["val_bound_nats"]
    if summary.get("already_complete"):
        print(f"{config.run.out} is complete ({summary['step']} steps, {summary['images_seen']} images): nothing "
              "to do; a larger --max-steps or --epochs trains further")
        return 0
    print(f"done: {summary['step']} steps, {summary['images_seen']} images, {summary['seconds']:.0f} s, "
          f"validation bound {'-' if val is None else f'{val:.1f}'} nats/image "
          f"-> {config.run.out}/final/model.safetensors")
    return 0


def add_commands(sub, train_flags: bool) -> None:
    t = sub.add_parser("train", help="train a model (curriculum by length, resumable)",
                       description="Defaults come from seqdraw.trainer.TrainConfig; flags and --set override "
                                   "--config, which overrides the defaults.")
    if train_flags:
        from seqdraw.settings import add_arguments
        from seqdraw.train_config import GROUPS, TrainConfig
        add_arguments(t, TrainConfig)
        for name, group in GROUPS.items():             # --help lists the flags by concern, as config.json nests them
            add_arguments(t.add_argument_group(name), group)
    t.add_argument("--config", help="a JSON file of TrainConfig values")
    t.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any TrainConfig value, by its flat name (lr) or nested (optimiser.lr); model.X for the model")
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint "
                                                  "(a larger --epochs or --max-steps trains further)")
    t.add_argument("--overwrite", action="store_true", help="replace what --out holds (a run included)")
    t.set_defaults(func=cmd_train)
