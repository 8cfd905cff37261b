"""`seqdraw data synth | svhn | generated`: make data sets."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from seqdraw.cli.common import DrawingConfig, Parser, add_model_flags, available_cores, settings_from
from seqdraw.data.generated import GeneratedConfig
from seqdraw.data.synth_set import SynthSet
from seqdraw.errors import SeqdrawError
from seqdraw.data.labels import MAX_LEN
from seqdraw.settings import add_arguments, check_fields, setting


def cmd_data_synth(args) -> None:
    from dataclasses import replace

    from seqdraw.data.synth import SynthConfig, write_dataset
    from seqdraw.files import output_folder

    request = settings_from(SynthSet, args)
    request = replace(request, workers=request.workers or available_cores())
    out = Path(request.out)
    config = SynthConfig(length_probs=SynthConfig.lengths_from_flag(request.lengths), fonts=request.fonts or None)
    with output_folder(out, args.overwrite) as tmp:
        counts = write_dataset(tmp, request, config, workers=request.workers,
                               command=" ".join(["seqdraw"] + sys.argv[1:]))
    for split, by_length in counts.items():
        shown = ", ".join(f"L={L}: {c}" for L, c in by_length.items() if c)
        where = out / f"{split}.npz" if request.format == "npz" else out / split / "metadata.jsonl"
        print(f"{split}: {sum(by_length.values())} images ({shown}) -> {where}")
    print(f"preview: {out / 'preview.png'}")


@dataclass(frozen=True)
class SvhnSet:
    """What `seqdraw data svhn` prepares: real SVHN numbers (format 1) as 32x64 grey shards."""
    root: str = setting("", "folder with (or for) train.tar.gz, test.tar.gz, extra.tar.gz", required=True)
    splits: list = setting(["train", "test"], "the splits to prepare", choices=("train", "test", "extra"))
    download: bool = setting(False, "download missing archives from the official site")
    max_len: int = setting(MAX_LEN, "drop (and count) longer numbers", lo=1, hi=MAX_LEN)
    trust_unverified: bool = setting(False, "extract an archive with no published checksum (extra.tar.gz) without "
                                            "checking it")
    csv: str | None = setting(None, "read annotations from DIR/{split}.csv (name;label;top;left;height;width) "
                                    "instead of digitStruct.mat")
    skip_missing: bool = setting(False, "skip (and count) images named but missing")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class SvhnCropsSet:
    """What `seqdraw data svhn-crops` converts: SVHN's format-2 digit crops to the --real-crops file."""
    mat: str = setting("", "an official format-2 file: train_32x32.mat, test_32x32.mat or extra_32x32.mat "
                           "(http://ufldl.stanford.edu/housenumbers/)", required=True)
    out: str = setting("", "the .npz to write (images uint8 [N, 32, 32, 3], labels 0-9)", required=True)

    def __post_init__(self):
        check_fields(self)


def cmd_data_svhn(args) -> None:
    from seqdraw.data.svhn import prepare
    from seqdraw.files import atomic_path, writable_place

    c = settings_from(SvhnSet, args)
    root = Path(c.root)
    writable_place(root)
    for summary in prepare(root, splits=c.splits, download_missing=c.download, csv_dir=c.csv, max_len=c.max_len,
                           skip_missing=c.skip_missing, trust_unverified=c.trust_unverified):
        print(summary, "->", root / f"{summary.split}.npz")
    with atomic_path(root / "config.json") as tmp:        # what the shards are, for evaluation's labels
        tmp.write_text(json.dumps({"source": "svhn", "command": " ".join(["seqdraw"] + sys.argv[1:])}) + "\n")


def cmd_data_generated(args) -> None:
    from seqdraw.dataset import export_dataset
    from seqdraw.generate import load

    config = settings_from(GeneratedConfig, args)
    if config.out.endswith(".png"):
        raise SeqdrawError("a data set needs --out DIR, a folder")
    d = settings_from(DrawingConfig, args)
    result = export_dataset(load(d.model, d.precision, d.compile, d.device), config, overwrite=args.overwrite)
    if result.get("already_complete"):
        print(f"{config.out} already holds these {result['n']} images, complete: nothing to draw "
              "(--overwrite draws them again)")
        return
    print(f"{result['n']} images ({result['train']} train, {result['test']} test), {result['format']} -> {config.out}")


def cmd_data_svhn_crops(args) -> None:
    from seqdraw.data.svhn_crops import read_format2
    from seqdraw.files import check_output_files, save_npz

    c = settings_from(SvhnCropsSet, args)
    check_output_files({"--out": c.out}, args.overwrite, inputs=(c.mat,), suffixes={"--out": ".npz"})
    images, labels = read_format2(c.mat)
    save_npz(c.out, images=images, labels=labels)
    counts = ", ".join(f"{d}: {int((labels == d).sum())}" for d in range(10))
    print(f"{len(labels)} digit crops ({counts}) -> {c.out}")


def add_commands(sub) -> None:
    data = sub.add_parser("data", help="make data sets: synthetic house numbers, real SVHN, or drawn by a model")
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)

    s = dsub.add_parser("synth", help="generate synthetic SVHN-like house numbers (train/test shards + preview)",
                        description="Flags come from seqdraw.data.synth_set.SynthSet.")
    add_arguments(s, SynthSet)
    s.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    s.set_defaults(func=cmd_data_synth)

    v = dsub.add_parser("svhn", help="prepare real SVHN (format 1) as 32x64 right-aligned grey shards",
                        description="Flags come from SvhnSet (seqdraw/cli/data.py).")
    add_arguments(v, SvhnSet)
    v.set_defaults(func=cmd_data_svhn)

    gd = dsub.add_parser("generated", help="a labelled data set drawn by a model, for training readers (resumable)",
                         description="Flags come from seqdraw.data.generated.GeneratedConfig and the model's.")
    add_arguments(gd, GeneratedConfig)
    add_model_flags(gd)
    gd.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    gd.set_defaults(func=cmd_data_generated)

    sc = dsub.add_parser("svhn-crops", help="real SVHN digit crops (format 2 .mat) as the .npz that evaluate "
                                            "--real-crops reads",
                         description="Flags come from SvhnCropsSet (seqdraw/cli/data.py).")
    add_arguments(sc, SvhnCropsSet)
    sc.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    sc.set_defaults(func=cmd_data_svhn_crops)
