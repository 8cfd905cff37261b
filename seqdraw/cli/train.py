"""`seqdraw train`: flags from TrainConfig and ObjectiveConfig, --config, --set, --resume."""
from __future__ import annotations

import os
import sys

from seqdraw.errors import SeqdrawError


def parse_overrides(items: list[str] | None) -> dict:
    """--set KEY=VALUE pairs, each parsed by its field's type; model.X goes into the model overrides, and
    an objective setting (guide_weight or objective.guide_weight) into the objective's."""
    from dataclasses import fields

    from seqdraw.model import ModelConfig
    from seqdraw.objectives import ObjectiveConfig
    from seqdraw.settings import parse_text
    from seqdraw.trainer import GONE, TrainConfig

    objective_keys = {f.name for f in fields(ObjectiveConfig)}

    values: dict = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SeqdrawError(f"--set {item!r}: use KEY=VALUE, e.g. --set model.enc_size=256")
        if key in GONE:
            raise SeqdrawError(f"--set {key}: {key} is gone ({GONE[key]})")
        try:
            if key.startswith("model."):
                values.setdefault("model", {})[key[6:]] = parse_text(ModelConfig, key[6:], raw)
            elif key == "model":
                raise SeqdrawError("use --set model.KEY=VALUE for each model setting")
            elif key in objective_keys or key.startswith("objective."):
                name = key.removeprefix("objective.")
                values.setdefault("objective", {})[name] = parse_text(ObjectiveConfig, name, raw)
            else:
                values[key] = parse_text(TrainConfig, key, raw)
        except SeqdrawError as e:
            raise SeqdrawError(f"--set {item!r}: {e}") from None
    return values


def train_config(args):
    """TrainConfig from the defaults, then --config, then flags and --set (or the run's own config on
    --resume, with a new budget)."""
    from dataclasses import fields

    from seqdraw.objectives import ObjectiveConfig
    from seqdraw.trainer import TrainConfig, nest_objective, resume_config

    def given(cls):
        return {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}

    changes = given(TrainConfig)
    overrides = parse_overrides(args.set)
    model = overrides.pop("model", {})
    objective = {**given(ObjectiveConfig), **overrides.pop("objective", {})}
    changes.update(overrides)
    if objective:
        changes["objective"] = objective
    if args.resume:
        if args.config:
            raise SeqdrawError("--resume uses the run's own config.json: drop --config")
        if model:
            changes["model"] = model
        return resume_config(args.resume, changes)
    values = {}
    if args.config:
        from seqdraw.files import read_json
        values = read_json(args.config, "--config")
        if not isinstance(values, dict):
            raise SeqdrawError(f"--config {args.config}: must be a JSON object of TrainConfig values")
    model = {**values.get("model", {}), **model} if isinstance(values.get("model", {}), dict) else values["model"]
    values = nest_objective(values, f"--config {args.config}")
    if "objective" in changes and isinstance(values.get("objective"), dict):
        changes["objective"] = {**values["objective"], **changes["objective"]}
    return TrainConfig.from_dict({**values, **changes, "model": model},
                                 what=f"--config {args.config}" if args.config else "training config")


def cmd_train(args) -> int:
    from seqdraw.trainer import train

    config = train_config(args)
    summary = train(config, resume=bool(args.resume), overwrite=args.overwrite)
    if os.environ.get("RANK", "0") != "0":       # under torchrun only rank 0 reports
        return 0
    if summary.get("interrupted"):
        print(f"seqdraw: {summary['interrupted']} at step {summary['step']}: checkpoint saved; continue with "
              f"seqdraw train --resume {config.out}", file=sys.stderr)
        return 130
    val = summary["val_bound_nats"]
    if summary.get("already_complete"):
        print(f"{config.out} is complete ({summary['step']} steps, {summary['images_seen']} images): nothing to do; "
              "a larger --max-steps or --epochs trains further")
        return 0
    print(f"done: {summary['step']} steps, {summary['images_seen']} images, {summary['seconds']:.0f} s, "
          f"validation bound {'-' if val is None else f'{val:.1f}'} nats/image -> {config.out}/final/model.safetensors")
    return 0


def add_commands(sub, train_flags: bool) -> None:
    t = sub.add_parser("train", help="train a model (curriculum by length, resumable)",
                       description="Defaults come from seqdraw.trainer.TrainConfig; flags and --set override "
                                   "--config, which overrides the defaults.")
    if train_flags:
        from seqdraw.settings import add_arguments
        from seqdraw.trainer import TrainConfig
        from seqdraw.objectives import ObjectiveConfig
        add_arguments(t, TrainConfig)
        add_arguments(t, ObjectiveConfig)
    t.add_argument("--config", help="a JSON file of TrainConfig values")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any TrainConfig value; model.X for the model")
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint "
                                                  "(a larger --epochs or --max-steps trains further)")
    t.add_argument("--overwrite", action="store_true", help="replace what --out holds (a run included)")
    t.set_defaults(func=cmd_train)
