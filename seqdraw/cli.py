"""The `seqdraw` command. Every user error is one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from seqdraw.errors import SeqdrawError


class Parser(argparse.ArgumentParser):
    def error(self, message):                 # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {shorten(message)}\n")


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default, unless its help already says it or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or action.default in (None, argparse.SUPPRESS) or action.default is False:
            return text
        return super()._get_help_string(action)


def shorten(message: str, limit: int = 80) -> str:
    """An error line with each word past `limit` characters cut in the middle: a 100,000-digit number
    the user typed is named, not echoed whole."""
    return " ".join(w if len(w) <= limit else f"{w[:limit // 2]}...({len(w)} characters)...{w[-20:]}"
                    for w in message.split(" "))


SEED_MAX = 2**63 - 1


def int_in(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {v}")
        return v
    return parse


def float_in(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not ((lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)):
            raise argparse.ArgumentTypeError(f"must be {'above' if lo_open else 'at least'} {lo:g} and "
                                             f"{'below' if hi_open else 'at most'} {hi:g}, got {text}")
        return v
    return parse


positive_int = int_in(1, 10**9)
seed = int_in(0, SEED_MAX)
temperature = float_in(0, 100)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ---- seqdraw data ------------------------------------------------------------------------------------

def cmd_data_synth(args) -> None:
    from seqdraw.data.synth import SynthConfig, write_dataset
    from seqdraw.files import output_folder

    out = Path(args.out)
    config = SynthConfig(length_probs=SynthConfig.lengths_from_flag(args.lengths), fonts=args.fonts)
    with output_folder(out, args.overwrite) as tmp:
        counts = write_dataset(tmp, args.n, args.test_fraction, args.seed, config, crops=args.crops,
                               workers=args.workers, include_heldout=args.include_heldout,
                               command=" ".join(["seqdraw"] + sys.argv[1:]), fmt=args.format)
    for split, by_length in counts.items():
        shown = ", ".join(f"L={L}: {c}" for L, c in by_length.items() if c)
        where = out / f"{split}.npz" if args.format == "npz" else out / split / "metadata.jsonl"
        print(f"{split}: {sum(by_length.values())} images ({shown}) -> {where}")
    print(f"preview: {out / 'preview.png'}")


def cmd_data_svhn(args) -> None:
    from seqdraw.data.svhn import prepare
    from seqdraw.files import atomic_path, writable_place

    root = Path(args.root)
    writable_place(root)
    for summary in prepare(root, splits=args.splits, download_missing=args.download, csv_dir=args.csv,
                           max_len=args.max_len, skip_missing=args.skip_missing,
                           trust_unverified=args.trust_unverified):
        print(summary, "->", root / f"{summary.split}.npz")
    with atomic_path(root / "config.json") as tmp:        # what the shards are, for evaluation's labels
        tmp.write_text(json.dumps({"source": "svhn", "command": " ".join(["seqdraw"] + sys.argv[1:])}) + "\n")


# ---- seqdraw train ----------------------------------------------------------------------------------

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


# ---- seqdraw generate -------------------------------------------------------------------------------

MAX_PICTURE_PIXELS = 50_000_000     # a grid larger than this is refused before any drawing


def cmd_generate(args) -> None:
    if args.random is not None or args.strings:
        return cmd_generate_dataset(args)
    if not args.numbers:
        raise SeqdrawError("give the numbers to draw (seqdraw generate 7 68 157), or --random N --out DIR "
                           "for a data set")
    import numpy as np

    from seqdraw.files import check_output_files
    from seqdraw.generate import load
    from seqdraw.pictures import (animation_frames, grid, process_strips, save_attention_plot, save_gif, save_png,
                                  to_uint8)

    args.out = "numbers.png" if args.out is None else args.out
    check_output_files({"--out": args.out, "--process": args.process, "--gif": args.gif, "--attention": args.attention},
                       args.overwrite, inputs=(args.model,),
                       suffixes={"--out": ".png", "--process": ".png", "--gif": ".gif", "--attention": ".png"})
    pixels = len(args.numbers) * args.n * 34 * 66 * args.scale ** 2
    if pixels > MAX_PICTURE_PIXELS:
        raise SeqdrawError(f"the grid would have {pixels:,} pixels (limit {MAX_PICTURE_PIXELS:,}): lower --n or "
                           "--scale")
    if args.process and pixels * 10 > MAX_PICTURE_PIXELS:
        raise SeqdrawError("--process draws 10 frames per sample: lower --n or --scale")
    drawer = load(args.model, args.precision, args.compile)
    numbers = [drawer.check_number(n) for n in args.numbers]   # all checked before any work
    want_process = bool(args.process or args.gif or args.attention)
    results = [drawer.generate(n, n=args.n, seed=args.seed + i, process=want_process, temperature=args.temperature,
                               style_temperature=args.style_temperature)
               for i, n in enumerate(numbers)]
    images = np.concatenate([r.images for r in results])
    save_png(args.out, grid(to_uint8(images), cols=args.n), scale=args.scale)
    print(f"{len(numbers)} number(s) x {args.n} samples -> {args.out}")
    if args.process:
        save_png(args.process, process_strips([r.canvases for r in results]), scale=args.scale)
        print(f"drawing process -> {args.process}")
    if args.gif:
        frames = animation_frames([r.canvases[0] for r in results], [r.write_where[0] for r in results],
                                  results[0].write_n)
        save_gif(args.gif, frames)
        print(f"animation ({len(frames)} frames) -> {args.gif}")
    if args.attention:
        if results[0].alpha is None:
            raise SeqdrawError("--attention needs a model with label attention (seqdraw presets), not rnndraw")
        k = drawer.model.config.steps_per_digit
        save_attention_plot(args.attention, [r.alpha[0, : k * len(r.number), : len(r.number)] for r in results],
                            [r.number for r in results])
        print(f"label attention -> {args.attention}")


def cmd_generate_dataset(args) -> None:
    from seqdraw.dataset import export_dataset
    from seqdraw.generate import load

    if args.numbers:
        raise SeqdrawError("--random and --strings make a data set: give no numbers on the command line")
    if not args.out or args.out.endswith(".png"):
        raise SeqdrawError("a data set needs --out DIR, a folder")
    if args.random is None:
        raise SeqdrawError("--strings needs --random N: how many images to draw from its strings")
    if args.process or args.gif or args.attention:
        raise SeqdrawError("--process, --gif and --attention are for numbers given on the command line")
    result = export_dataset(load(args.model, args.precision, args.compile), args.out, args.random, fmt=args.format, seed=args.seed,
                            lengths=args.lengths, strings_file=args.strings, temperature=args.temperature,
                            style_temperature=args.style_temperature, test_fraction=args.test_fraction,
                            overwrite=args.overwrite)
    if result.get("already_complete"):
        print(f"{args.out} already holds these {result['n']} images, complete: nothing to draw "
              "(--overwrite draws them again)")
        return
    print(f"{result['n']} images ({result['train']} train, {result['test']} test), {result['format']} -> {args.out}")


# ---- seqdraw classifier ------------------------------------------------------------------------------

def cmd_classifier_train(args) -> None:
    from seqdraw.data.shards import load_splits
    from seqdraw.readers import train_reader
    from seqdraw.files import check_output_folder, output_folder

    check_output_folder(args.out, args.overwrite)
    train_data, test_data = load_splits(args.data)
    with output_folder(args.out, args.overwrite) as tmp:
        result = train_reader(train_data, test_data, tmp, arch=args.arch,
                              config={"width": args.width} if args.width else {}, epochs=args.epochs,
                              batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(format_accuracy("test sequence accuracy", result["test_sequence_accuracy"]),
          f"-> {Path(args.out) / 'classifier.safetensors'}")


def cmd_classifier_eval(args) -> None:
    from seqdraw.data.shards import load_shard
    from seqdraw.readers import load_reader, reader_accuracy

    reader, _ = load_reader(args.model)
    print(format_accuracy(f"{args.data}: sequence accuracy", reader_accuracy(reader, load_shard(args.data))))


def format_accuracy(title: str, acc: dict) -> str:
    parts = ", ".join(f"L={k}: {100 * v:.2f}%" for k, v in acc.items() if k != "all")
    return f"{title} {100 * acc['all']:.2f}% ({parts})"


# ---- seqdraw evaluate ---------------------------------------------------------------------------------

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


# ---- seqdraw reproduce table2 ---------------------------------------------------------------------------

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


# ---- seqdraw export ---------------------------------------------------------------------------------------

def cmd_export(args) -> None:
    from seqdraw.deploy import export_onnx

    info = export_onnx(args.model, Path(args.onnx), overwrite=args.overwrite)
    print(f"{len(info['graphs'])} ONNX graphs (lengths {', '.join(info['graphs'])}) -> {args.onnx}")


# ---- seqdraw demo ----------------------------------------------------------------------------------------

def cmd_demo(args) -> None:
    from seqdraw.demo import serve

    print(f"seqdraw demo on http://{args.host}:{args.port} (Ctrl-C to stop"
          f"{'' if args.share else '; --share for a public gradio.live link'})")
    serve(args.model, host=args.host, port=args.port, share=args.share)


def build_parser(train_flags: bool = True) -> Parser:
    """The whole command line. The train flags come from TrainConfig, whose module loads torch: main()
    asks for them only when the command is `train`, so that other commands and --help start fast."""

    from seqdraw import __version__

    p = Parser(prog="seqdraw", description="Draw house-number images from digit strings (seqDRAW).")
    p.add_argument("--version", action="version", version=f"seqdraw {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="make data sets: synthetic house numbers or real SVHN")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)

    s = dsub.add_parser("synth", help="generate synthetic SVHN-like house numbers (train/test shards + preview)",
                        formatter_class=DefaultsHelp)
    s.add_argument("--n", type=int_in(2, 10_000_000), default=60000, help="images in all (train + test)")
    s.add_argument("--out", default="data/synth", help="output folder")
    s.add_argument("--seed", type=seed, default=0, help="sample i depends only on (seed, i)")
    s.add_argument("--test-fraction", type=float_in(0, 1, True, True), default=0.1,
                   help="share of the images held out as test")
    s.add_argument("--lengths", default="svhn",
                   help="length distribution: svhn (real SVHN train shares), uniform, uniform:N, or weights 1,2,1")
    s.add_argument("--fonts", default=None, help="a folder of TTF/OTF fonts to use instead of the bundled ones")
    s.add_argument("--crops", action="store_true", help="also write 32x32 SVHN format-2 style digit crops")
    s.add_argument("--include-heldout", dest="include_heldout", action="store_true",
                   help="let the train split hold the held-out strings too (for judges only: a generative "
                        "model trained on them is refused by seqdraw evaluate; docs/evaluation.md)")
    s.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    s.add_argument("--format", choices=["npz", "imagefolder"], default="npz",
                   help="train.npz/test.npz shards, or train/ and test/ with PNGs and metadata.jsonl (with boxes)")
    s.add_argument("--workers", type=int_in(1, 256), default=available_cores(),
                   help="processes to generate with; the data are the same bytes for any number "
                        "(default: %(default)s, the cores this process may use)")
    s.set_defaults(func=cmd_data_synth)

    v = dsub.add_parser("svhn", help="prepare real SVHN (format 1) as 32x64 right-aligned grey shards",
                        formatter_class=DefaultsHelp)
    v.add_argument("--root", required=True, help="folder with (or for) train.tar.gz, test.tar.gz, extra.tar.gz")
    v.add_argument("--download", action="store_true", help="download missing archives from the official site")
    v.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test", "extra"])
    v.add_argument("--max-len", type=int_in(1, 5), default=5, help="drop (and count) longer numbers")
    v.add_argument("--trust-unverified", dest="trust_unverified", action="store_true",
                   help="extract an archive with no published checksum (extra.tar.gz) without checking it")
    v.add_argument("--csv", default=None,
                   help="read annotations from DIR/{split}.csv (name;label;top;left;height;width) instead of digitStruct.mat")
    v.add_argument("--skip-missing", action="store_true", help="skip (and count) images named but missing")
    v.set_defaults(func=cmd_data_svhn)

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

    g = sub.add_parser("generate", help="draw images of the numbers you ask for",
                       formatter_class=DefaultsHelp)
    g.add_argument("numbers", nargs="*", help="digit strings, e.g. 7 68 157 2024 (one row each)")
    g.add_argument("--n", type=int_in(1, 10_000), default=8, help="samples (styles) per number")
    g.add_argument("--model", default=None, help="a .safetensors model or a run's final/ or best/ folder "
                                                 "(default: the shipped model)")
    g.add_argument("--seed", type=seed, default=0, help="the same seed gives the same pixels")
    g.add_argument("--temperature", type=temperature, default=None,
                   help="scale of the prior's noise: 1 is the paper's sampling, lower is more legible and less "
                        "varied (default: the temperature stored with the model, else 1)")
    g.add_argument("--style-temperature", dest="style_temperature", type=temperature, default=None,
                   help="the temperature of z_1 alone, which sets each sample's style: above --temperature "
                        "for more varied styles (default: the one stored with the model, else --temperature)")
    g.add_argument("--out", default=None, help="the grid of samples (default numbers.png); with --random, the "
                                               "data set's folder")
    g.add_argument("--random", type=int_in(1, 100_000_000), default=None, metavar="N",
                   help="a labelled data set of N images of random numbers, in --out DIR (resumable)")
    g.add_argument("--lengths", default="svhn", help="with --random: length distribution, as seqdraw data synth "
                                                     "(svhn, uniform:K, or weights 1,2,1), within the model's lengths")
    g.add_argument("--strings", metavar="FILE", help="with --random: draw strings from this file (one per line)")
    g.add_argument("--format", choices=["imagefolder", "npz"], default="imagefolder",
                   help="with --random: PNGs + metadata.jsonl per split, or train.npz/test.npz shards")
    g.add_argument("--test-fraction", dest="test_fraction", type=float_in(0, 1, hi_open=True), default=0.1,
                   help="with --random: share of the images in the test split")
    g.add_argument("--overwrite", action="store_true", help="replace the output files (with --random: the folder) if they exist")
    g.add_argument("--process", metavar="PNG", help="also the drawing process: one row per sample, steps across")
    g.add_argument("--gif", metavar="GIF", help="also an animation of the canvas with the write window")
    g.add_argument("--attention", metavar="PNG", help="also a plot of the label attention over the steps")
    g.add_argument("--scale", type=int_in(1, 16), default=3, help="upscaling of the PNGs")
    g.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="arithmetic of the drawing: bf16 autocast is faster on CPUs with AVX512-BF16, and its "
                        "pixels differ from fp32's (docs/performance.md)")
    g.add_argument("--compile", action="store_true",
                   help="draw with one compiled graph per length at batch 256: 1.5x the images/s once compiled, "
                        "but compiling takes about 70 s per length, so it pays off only past about a million "
                        "images (docs/performance.md)")
    g.set_defaults(func=cmd_generate)

    c = sub.add_parser("classifier", help="readers of house numbers: the judges, guides and recognisers")
    csub = c.add_subparsers(dest="classifier_command", required=True, parser_class=Parser)
    ct = csub.add_parser("train", help="train a reader on a data folder (train.npz, test.npz)",
                         formatter_class=DefaultsHelp)
    ct.add_argument("--data", required=True, help="a folder with train.npz and test.npz, or svhn:DIR")
    ct.add_argument("--out", default="runs/classifier")
    ct.add_argument("--epochs", type=int_in(1, 10_000), default=8)
    ct.add_argument("--batch-size", dest="batch_size", type=int_in(1, 65_536), default=128)
    ct.add_argument("--lr", type=float_in(0, 10, lo_open=True), default=2e-3)
    ct.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    ct.add_argument("--arch", choices=["multidigit", "ctc"], default="multidigit",
                    help="multidigit: length head and five digit heads (Goodfellow et al. 2013); "
                         "ctc: convolutions, a BiLSTM over columns and a CTC head (Shi et al. 2015)")
    ct.add_argument("--width", type=int_in(1, 1024), default=None,
                    help="channels of the first conv block (default: 48 for multidigit, 32 for ctc)")
    ct.add_argument("--seed", type=seed, default=0)
    ct.set_defaults(func=cmd_classifier_train)
    ce = csub.add_parser("eval", help="sequence accuracy on a shard, overall and per length")
    ce.add_argument("--model", required=True, help="classifier.safetensors")
    ce.add_argument("--data", required=True, help="a shard .npz (e.g. data/synth/test.npz)")
    ce.set_defaults(func=cmd_classifier_eval)

    e = sub.add_parser("evaluate", help="the yardstick: two judges, realism, variety, memorisation, the VAE's fit",
                       formatter_class=DefaultsHelp)
    e.add_argument("--model", required=True, help="a model .safetensors or a run's final/ or best/ folder")
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

    x = sub.add_parser("export", help="the drawing as ONNX graphs, to run with ONNX Runtime alone",
                       formatter_class=DefaultsHelp)
    x.add_argument("--onnx", required=True, metavar="DIR", help="folder for draw-L*.onnx and seqdraw-onnx.json")
    x.add_argument("--model", default=None, help="a .safetensors model or run folder (default: the shipped model)")
    x.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    x.set_defaults(func=cmd_export)

    dm = sub.add_parser("demo", help="a web page to try a model (needs pip install -e \".[demo]\")",
                        formatter_class=DefaultsHelp)
    dm.add_argument("--model", default=None, help="a .safetensors model or run folder (default: the shipped model)")
    dm.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    dm.add_argument("--port", type=int_in(1, 65535), default=7860)
    dm.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    dm.set_defaults(func=cmd_demo)

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
    return p


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(train_flags=argv[:1] == ["train"])
    if not argv:                               # a bare `seqdraw`: what it can do
        parser.print_help()
        print("seqdraw: error: give a command (listed above)", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    # a SIGTERM cleans up as Ctrl-C does (training saves a checkpoint; worker processes are stopped)
    previous = signal.signal(signal.SIGTERM, _stop) if main_thread else None
    try:
        return args.func(args) or 0
    except SeqdrawError as e:
        print(f"seqdraw: error: {shorten(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqdraw: interrupted", file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
