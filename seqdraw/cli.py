"""The `seqdraw` command. Every user error is one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from seqdraw.errors import SeqdrawError


class Parser(argparse.ArgumentParser):
    def error(self, message):                 # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {v}")
    return v


def fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {v}")
    return v


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SeqdrawError(f"cannot create output folder {path}: {e.strerror or e}") from None
    if not os.access(path, os.W_OK):
        raise SeqdrawError(f"output folder {path} is not writable")
    return path


# ---- seqdraw data synth ------------------------------------------------------------------------

def cmd_data_synth(args) -> None:
    from seqdraw.data.shards import length_counts, save_shard
    from seqdraw.data.synth import SynthConfig, generate
    from seqdraw.files import atomic_path, save_npz
    from seqdraw.pictures import grid, save_png

    out = writable_dir(Path(args.out))
    config = SynthConfig(length_probs=SynthConfig.lengths_from_flag(args.lengths), fonts=args.fonts)
    n_test = max(1, int(round(args.n * args.test_fraction))) if args.n > 1 else 0
    n_train = args.n - n_test
    # the training split never holds a held-out string (seqdraw.data.heldout); the test split holds
    # every string, so that evaluation can tell held-out strings from seen ones
    parts = {"train": (0, n_train, not args.include_heldout), "test": (n_train, n_test, False)}
    for split, (start, n, exclude) in parts.items():
        if n == 0:
            continue
        arrays = generate(n, seed=args.seed, config=config, start=start, crops=args.crops, progress=True,
                          workers=args.workers, exclude_heldout=exclude)
        crops = {k: arrays.pop(k) for k in ("crops", "crop_labels") if k in arrays}
        save_shard(out / f"{split}.npz", arrays)
        if crops:
            save_npz(out / f"{split}_crops32.npz", images=crops["crops"], labels=crops["crop_labels"])
        counts = ", ".join(f"L={L}: {c}" for L, c in length_counts(arrays["lengths"]).items() if c)
        print(f"{split}: {n} images ({counts}) -> {out / f'{split}.npz'}")
        if split == "train":
            save_png(out / "preview.png", grid(arrays["images"][:64], cols=8), scale=2)
    meta = dict(command=" ".join(["seqdraw"] + sys.argv[1:]), seed=args.seed, n_train=n_train, n_test=n_test,
                heldout_strings_in_train=bool(args.include_heldout), source="synthetic", config=config.__dict__)
    with atomic_path(out / "config.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=list) + "\n")
    print(f"preview: {out / 'preview.png'}")


def cmd_data_svhn(args) -> None:
    from seqdraw.data.svhn import prepare
    from seqdraw.files import atomic_path

    root = writable_dir(Path(args.root))
    for summary in prepare(root, splits=args.splits, download_missing=args.download, csv_dir=args.csv,
                           max_len=args.max_len, skip_missing=args.skip_missing):
        print(summary, "->", root / f"{summary.split}.npz")
    with atomic_path(root / "config.json") as tmp:        # what the shards are, for evaluation's labels
        tmp.write_text(json.dumps({"source": "svhn", "command": " ".join(["seqdraw"] + sys.argv[1:])}) + "\n")


# ---- seqdraw train ----------------------------------------------------------------------------------

def parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(items: list[str] | None) -> dict:
    """--set KEY=VALUE pairs -> TrainConfig values; model.X goes into the model overrides."""
    values: dict = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SeqdrawError(f"--set {item!r}: use KEY=VALUE, e.g. --set model.enc_size=256")
        if key.startswith("model."):
            values.setdefault("model", {})[key[6:]] = parse_value(raw)
        else:
            values[key] = parse_value(raw)
    return values


def cmd_train(args) -> None:
    from seqdraw.trainer import TrainConfig, train

    if args.resume:
        cfg_path = Path(args.resume) / "config.json"
        if not cfg_path.is_file():
            raise SeqdrawError(f"{cfg_path}: no such file (is {args.resume} a seqdraw run folder?)")
        try:
            values = json.loads(cfg_path.read_text())
        except ValueError as e:
            raise SeqdrawError(f"{cfg_path}: corrupt ({e})") from None
        values["out"] = args.resume
    else:
        values = {}
        if args.config:
            try:
                values = json.loads(Path(args.config).read_text())
            except (OSError, ValueError) as e:
                raise SeqdrawError(f"--config {args.config}: {e}") from None
        for key in ("preset", "data", "out", "epochs", "batch_size", "lr", "seed", "curriculum", "max_len", "synth_n",
                    "max_steps", "init"):
            if getattr(args, key) is not None:
                values[key] = getattr(args, key)
        overrides = parse_overrides(args.set)
        values["model"] = {**values.get("model", {}), **overrides.pop("model", {})}
        values.update(overrides)
    config = TrainConfig.from_dict(values)
    summary = train(config, resume=bool(args.resume))
    if os.environ.get("RANK", "0") != "0":       # under torchrun only rank 0 reports
        return
    print(f"done: {summary['step']} steps, {summary['images_seen']} images, {summary['seconds']:.0f} s, "
          f"validation bound {summary['val_bound_nats']:.1f} nats/image -> {config.out}/final/model.safetensors")


# ---- seqdraw generate -------------------------------------------------------------------------------

def cmd_generate(args) -> None:
    import numpy as np

    from seqdraw.generate import load
    from seqdraw.pictures import (drawing_frames, grid, process_strip, save_attention_plot, save_gif,
                                  save_png, to_uint8)

    drawer = load(args.model)
    numbers = [drawer.check_number(n) for n in args.numbers]   # all checked before any work
    want_process = bool(args.process or args.gif or args.attention)
    results = [drawer.generate(n, n=args.n, seed=args.seed + i, process=want_process, temperature=args.temperature,
                               style_temperature=args.style_temperature)
               for i, n in enumerate(numbers)]
    images = np.concatenate([r.images if want_process else r for r in results])
    save_png(args.out, grid(to_uint8(images), cols=args.n), scale=args.scale)
    print(f"{len(numbers)} number(s) x {args.n} samples -> {args.out}")
    if args.process:
        strips = [process_strip(r.canvases) for r in results]
        width = max(s.shape[1] for s in strips)
        strips = [np.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=255) for s in strips]
        save_png(args.process, np.concatenate(strips), scale=args.scale)
        print(f"drawing process -> {args.process}")
    if args.gif:
        T = max(r.canvases.shape[1] for r in results)
        canv = np.stack([np.pad(r.canvases[0], ((0, T - r.canvases.shape[1]), (0, 0), (0, 0)), mode="edge")
                         for r in results])
        where = np.stack([np.pad(r.write_where[0], ((0, T - 1 - r.write_where.shape[1]), (0, 0)), mode="edge")
                          for r in results])
        frames = drawing_frames(canv, where, results[0].write_n)
        save_gif(args.gif, frames)
        print(f"animation ({len(frames)} frames) -> {args.gif}")
    if args.attention:
        if results[0].alpha is None:
            raise SeqdrawError("--attention needs a model with label attention (seqdraw presets), not rnndraw")
        k = drawer.model.config.steps_per_digit
        save_attention_plot(args.attention, [r.alpha[0, : k * len(r.number), : len(r.number)] for r in results],
                            [r.number for r in results])
        print(f"label attention -> {args.attention}")


# ---- seqdraw classifier ------------------------------------------------------------------------------

def cmd_classifier_train(args) -> None:
    from seqdraw.data.shards import load_splits
    from seqdraw.evaluate.readers import train_reader

    train_data, test_data = load_splits(args.data)
    out = writable_dir(Path(args.out))
    result = train_reader(train_data, test_data, out, arch=args.arch, config={"width": args.width} if args.width else {},
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(format_accuracy("test sequence accuracy", result["test_sequence_accuracy"]),
          f"-> {out / 'classifier.safetensors'}")


def cmd_classifier_eval(args) -> None:
    from seqdraw.data.shards import load_shard
    from seqdraw.evaluate.readers import load_reader, reader_accuracy

    reader, _ = load_reader(args.model)
    print(format_accuracy(f"{args.data}: sequence accuracy", reader_accuracy(reader, load_shard(args.data))))


def format_accuracy(title: str, acc: dict) -> str:
    parts = ", ".join(f"L={k}: {100 * v:.2f}%" for k, v in acc.items() if k != "all")
    return f"{title} {100 * acc['all']:.2f}% ({parts})"


# ---- seqdraw evaluate ---------------------------------------------------------------------------------

def cmd_evaluate(args) -> None:
    from seqdraw.evaluate.report import evaluate, markdown

    out = writable_dir(Path(args.out))
    report = evaluate(args.model, args.data, out, judges=args.judge, per_length=args.per_length, seed=args.seed,
                      temperature=args.temperature, style_temperature=args.style_temperature,
                      critic_images=args.critic_images, critic_steps=args.critic_steps, variety_strings=args.variety_strings,
                      reconstructions=args.reconstructions, usefulness=args.usefulness,
                      real_crops=args.real_crops, allow_seen_heldout=args.allow_seen_heldout)
    print(markdown(report))
    print(f"-> {out / 'report.md'}, {out / 'report.json'}, {out / 'samples.png'}, {out / 'critic.png'}")


# ---- seqdraw reproduce table2 ---------------------------------------------------------------------------

def cmd_reproduce_table2(args) -> None:
    from seqdraw.evaluate.table2 import reproduce_table2

    overrides = parse_overrides(args.set)
    out = writable_dir(Path(args.out))
    print(reproduce_table2(args.data, out, max_steps=args.max_steps, max_len=args.max_len, judges=args.judge,
                           per_length=args.per_length, overrides=overrides, seed=args.seed,
                           evaluate_options={"critic_steps": args.critic_steps}))
    print(f"-> {out / 'table2.md'}")


def build_parser() -> Parser:
    p = Parser(prog="seqdraw", description="Draw house-number images from digit strings (seqDRAW).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="make data sets: synthetic house numbers or real SVHN")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)

    s = dsub.add_parser("synth", help="generate synthetic SVHN-like house numbers (train/test shards + preview)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("--n", type=positive_int, default=60000, help="images in all (train + test)")
    s.add_argument("--out", default="data/synth", help="output folder")
    s.add_argument("--seed", type=int, default=0, help="sample i depends only on (seed, i)")
    s.add_argument("--test-fraction", type=fraction, default=0.1, help="share of the images held out as test")
    s.add_argument("--lengths", default="svhn",
                   help="length distribution: svhn (real SVHN train shares), uniform, uniform:N, or weights 1,2,1")
    s.add_argument("--fonts", default=None, help="a folder of TTF/OTF fonts to use instead of the bundled ones")
    s.add_argument("--crops", action="store_true", help="also write 32x32 SVHN format-2 style digit crops")
    s.add_argument("--include-heldout", dest="include_heldout", action="store_true",
                   help="let the train split hold the held-out strings too (for judges only: a generative "
                        "model trained on them is refused by seqdraw evaluate; docs/evaluation.md)")
    s.add_argument("--workers", type=positive_int, default=available_cores(),
                   help="processes to generate with; the data are the same bytes for any number "
                        "(default: %(default)s, the cores this process may use)")
    s.set_defaults(func=cmd_data_synth)

    v = dsub.add_parser("svhn", help="prepare real SVHN (format 1) as 32x64 right-aligned grey shards",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    v.add_argument("--root", required=True, help="folder with (or for) train.tar.gz, test.tar.gz, extra.tar.gz")
    v.add_argument("--download", action="store_true", help="download missing archives from the official site")
    v.add_argument("--splits", nargs="+", default=["train", "test"], choices=["train", "test", "extra"])
    v.add_argument("--max-len", type=positive_int, default=5, help="drop (and count) longer numbers")
    v.add_argument("--csv", default=None,
                   help="read annotations from DIR/{split}.csv (name;label;top;left;height;width) instead of digitStruct.mat")
    v.add_argument("--skip-missing", action="store_true", help="skip (and count) images named but missing")
    v.set_defaults(func=cmd_data_svhn)

    t = sub.add_parser("train", help="train a model (curriculum by length, resumable)",
                       description="Defaults come from seqdraw.trainer.TrainConfig; flags and --set override "
                                   "--config, which overrides the defaults.")
    t.add_argument("--preset", choices=["rnndraw", "seqdraw", "seqdraw-cur"], help="Table I model (default seqdraw-cur)")
    t.add_argument("--data", help="synth (generated in memory), svhn:DIR, or a folder with train.npz and test.npz")
    t.add_argument("--out", help="run folder (checkpoints, config, logs, samples)")
    t.add_argument("--epochs", type=positive_int, help="epochs per curriculum stage")
    t.add_argument("--batch-size", dest="batch_size", type=positive_int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--curriculum", choices=["none", "paper", "replay"])
    t.add_argument("--max-len", dest="max_len", type=positive_int, help="longest number length trained")
    t.add_argument("--synth-n", dest="synth_n", type=positive_int, help="images generated for --data synth")
    t.add_argument("--max-steps", dest="max_steps", type=positive_int, help="a step budget: stop after this many")
    t.add_argument("--init", metavar="MODEL", help="fine-tune: start from these weights (a .safetensors or run "
                                                  "folder; the architecture must match)")
    t.add_argument("--config", help="a JSON file of TrainConfig values")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="any TrainConfig value; model.X for the model")
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("generate", help="draw images of the numbers you ask for",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g.add_argument("numbers", nargs="+", help="digit strings, e.g. 7 68 157 2024 (one row each)")
    g.add_argument("--n", type=positive_int, default=8, help="samples (styles) per number")
    g.add_argument("--model", default=None, help="a .safetensors model or a run's final/ or best/ folder "
                                                 "(default: the shipped model)")
    g.add_argument("--seed", type=int, default=0, help="the same seed gives the same pixels")
    g.add_argument("--temperature", type=non_negative_float, default=None,
                   help="scale of the prior's noise: 1 is the paper's sampling, lower is more legible and less "
                        "varied (default: the temperature stored with the model, else 1)")
    g.add_argument("--style-temperature", dest="style_temperature", type=non_negative_float, default=None,
                   help="the temperature of z_1 alone, which sets each sample's style: above --temperature "
                        "for more varied styles (default: the one stored with the model, else --temperature)")
    g.add_argument("--out", default="numbers.png", help="the grid of samples")
    g.add_argument("--process", metavar="PNG", help="also the drawing process: one row per sample, steps across")
    g.add_argument("--gif", metavar="GIF", help="also an animation of the canvas with the write window")
    g.add_argument("--attention", metavar="PNG", help="also a plot of the label attention over the steps")
    g.add_argument("--scale", type=positive_int, default=3, help="upscaling of the PNGs")
    g.set_defaults(func=cmd_generate)

    c = sub.add_parser("classifier", help="readers of house numbers: the judges, guides and recognisers")
    csub = c.add_subparsers(dest="classifier_command", required=True, parser_class=Parser)
    ct = csub.add_parser("train", help="train a reader on a data folder (train.npz, test.npz)",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ct.add_argument("--data", required=True, help="a folder with train.npz and test.npz, or svhn:DIR")
    ct.add_argument("--out", default="runs/classifier")
    ct.add_argument("--epochs", type=positive_int, default=8)
    ct.add_argument("--batch-size", dest="batch_size", type=positive_int, default=128)
    ct.add_argument("--lr", type=float, default=2e-3)
    ct.add_argument("--arch", choices=["multidigit", "ctc"], default="multidigit",
                    help="multidigit: length head and five digit heads (Goodfellow et al. 2013); "
                         "ctc: convolutions, a BiLSTM over columns and a CTC head (Shi et al. 2015)")
    ct.add_argument("--width", type=positive_int, default=None,
                    help="channels of the first conv block (default: 48 for multidigit, 32 for ctc)")
    ct.add_argument("--seed", type=int, default=0)
    ct.set_defaults(func=cmd_classifier_train)
    ce = csub.add_parser("eval", help="sequence accuracy on a shard, overall and per length")
    ce.add_argument("--model", required=True, help="classifier.safetensors")
    ce.add_argument("--data", required=True, help="a shard .npz (e.g. data/synth/test.npz)")
    ce.set_defaults(func=cmd_classifier_eval)

    e = sub.add_parser("evaluate", help="the yardstick: two judges, realism, variety, memorisation, the VAE's fit",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("--model", required=True, help="a model .safetensors or a run's final/ or best/ folder")
    e.add_argument("--data", required=True,
                   help="the data folder whose test.npz is held out (its train.npz, if there, is what the "
                        "model trained on: memorisation and the critic's floor use it)")
    e.add_argument("--judge", action="append", default=None, metavar="READER",
                   help="a reader .safetensors (seqdraw classifier train); repeat for several "
                        "(default: the two judges shipped in the package)")
    e.add_argument("--per-length", dest="per_length", type=positive_int, default=400,
                   help="random strings per length, and as many held-out ones for lengths 3-5, one sample each")
    e.add_argument("--critic-images", dest="critic_images", type=positive_int, default=2000,
                   help="generated and as many data images for the realism critic")
    e.add_argument("--critic-steps", dest="critic_steps", type=positive_int, default=400,
                   help="training steps of each critic (batch 64), per fold")
    e.add_argument("--variety-strings", dest="variety_strings", type=positive_int, default=20,
                   help="strings per length for the stroke variety, 8 samples each")
    e.add_argument("--reconstructions", type=positive_int, default=400,
                   help="test images per length for the reconstructions and the bound")
    e.add_argument("--usefulness", type=int, default=0, metavar="N",
                   help="also train readers on N generated and on N data images (0: skip; minutes)")
    e.add_argument("--real-crops", dest="real_crops", default=None, metavar="NPZ",
                   help="with --usefulness: real SVHN digit crops (images uint8 [N, 32, 32, 3], labels) "
                        "for the single-digit comparison")
    e.add_argument("--allow-seen-heldout", dest="allow_seen_heldout", action="store_true",
                   help="evaluate a model trained on held-out strings (its held-out figures are then not held out)")
    e.add_argument("--temperature", type=non_negative_float, default=None,
                   help="sampling temperature (default: the one stored with the model, else 1)")
    e.add_argument("--style-temperature", dest="style_temperature", type=non_negative_float, default=None,
                   help="temperature of z_1 alone (default: the one stored with the model, else --temperature)")
    e.add_argument("--out", default="runs/evaluation", help="where report.md, report.json and the figures go")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=cmd_evaluate)

    r = sub.add_parser("reproduce", help="reproduce an experiment of the paper")
    rsub = r.add_subparsers(dest="experiment", required=True, parser_class=Parser)
    t2 = rsub.add_parser("table2", help="rnnDRAW, seqDRAW, seqDRAW-cur under one budget, judged by the judges",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t2.add_argument("--data", required=True, help="a data folder with train.npz and test.npz (or svhn:DIR)")
    t2.add_argument("--out", default="runs/table2")
    t2.add_argument("--max-steps", dest="max_steps", type=positive_int, default=3000,
                    help="training budget per model, in steps; epochs per stage follow from it")
    t2.add_argument("--max-len", dest="max_len", type=positive_int, default=3, help="lengths 1..N (the paper: 3)")
    t2.add_argument("--critic-steps", dest="critic_steps", type=positive_int, default=400,
                    help="training steps of each realism critic, per fold (seqdraw evaluate)")
    t2.add_argument("--judge", action="append", default=None, metavar="READER",
                    help="a reader .safetensors; repeat for several (default: the two shipped judges)")
    t2.add_argument("--per-length", dest="per_length", type=positive_int, default=1000,
                    help="random strings per length to generate and classify")
    t2.add_argument("--set", action="append", metavar="KEY=VALUE", help="TrainConfig values for all three; model.X")
    t2.add_argument("--seed", type=int, default=0)
    t2.set_defaults(func=cmd_reproduce_table2)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except SeqdrawError as e:
        print(f"seqdraw: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqdraw: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
