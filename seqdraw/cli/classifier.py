"""`seqdraw classifier train | eval`: the readers (judges, guides)."""
from __future__ import annotations

from pathlib import Path

from dataclasses import dataclass

from seqdraw.cli.common import Parser, settings_from
from seqdraw.settings import SEED_MAX, add_arguments, check_fields, setting


@dataclass(frozen=True)
class ReaderTrainConfig:
    """What `seqdraw classifier train` trains, declared once: its flags come from here."""
    data: str = setting("", "a folder with train.npz and test.npz, or svhn:DIR", required=True)
    out: str = setting("runs/classifier", "the reader's folder (classifier.safetensors, classifier.json)")
    arch: str = setting("multidigit", "multidigit: a length head and five digit heads (Goodfellow et al. 2013); "
                                      "ctc: convolutions, a BiLSTM over columns and a CTC head (Shi et al. 2015)",
                        choices=("multidigit", "ctc"))
    width: int | None = setting(None, "channels of the first conv block (default: 48 for multidigit, 32 for ctc)",
                                lo=1, hi=1024)
    epochs: int = setting(8, "passes over the training images", lo=1, hi=10_000)
    batch_size: int = setting(128, "images per step", lo=1, hi=65_536)
    lr: float = setting(2e-3, "peak learning rate (AdamW, one-cycle)", lo=0, exclusive="lo", hi=10)
    seed: int = setting(0, "fixes the initial weights, the order and the augmentation", lo=0, hi=SEED_MAX)

    def __post_init__(self):
        check_fields(self)


def cmd_classifier_train(args) -> None:
    from seqdraw.data.shards import load_splits
    from seqdraw.readers import Schedule, train_reader
    from seqdraw.files import check_output_folder, output_folder

    c = settings_from(ReaderTrainConfig, args)
    check_output_folder(c.out, args.overwrite)
    train_data, test_data = load_splits(c.data)
    with output_folder(c.out, args.overwrite) as tmp:
        result = train_reader(train_data, test_data, tmp, arch=c.arch, config={"width": c.width} if c.width else {},
                              schedule=Schedule(c.epochs, c.batch_size, c.lr, c.seed))
    print(format_accuracy("test sequence accuracy", result["test_sequence_accuracy"]),
          f"-> {Path(c.out) / 'classifier.safetensors'}")


@dataclass(frozen=True)
class ReaderEvalConfig:
    """What `seqdraw classifier eval` reads, and with which reader."""
    model: str = setting("", "classifier.safetensors (seqdraw classifier train)", required=True)
    data: str = setting("", "a shard .npz (e.g. data/synth/test.npz)", required=True)

    def __post_init__(self):
        check_fields(self)


def cmd_classifier_eval(args) -> None:
    from seqdraw.data.shards import load_shard
    from seqdraw.readers import load_reader, reader_accuracy

    c = settings_from(ReaderEvalConfig, args)
    reader, _ = load_reader(c.model)
    print(format_accuracy(f"{c.data}: sequence accuracy", reader_accuracy(reader, load_shard(c.data))))


def format_accuracy(title: str, acc: dict) -> str:
    parts = ", ".join(f"L={k}: {100 * v:.2f}%" for k, v in acc.items() if k != "all")
    return f"{title} {100 * acc['all']:.2f}% ({parts})"


def add_commands(sub) -> None:
    c = sub.add_parser("classifier", help="readers of house numbers: the judges, guides and recognisers")
    csub = c.add_subparsers(dest="classifier_command", required=True, parser_class=Parser)
    ct = csub.add_parser("train", help="train a reader on a data folder (train.npz, test.npz)",
                         description="Flags come from ReaderTrainConfig (seqdraw/cli/classifier.py).")
    add_arguments(ct, ReaderTrainConfig)
    ct.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    ct.set_defaults(func=cmd_classifier_train)
    ce = csub.add_parser("eval", help="sequence accuracy on a shard, overall and per length",
                         description="Flags come from ReaderEvalConfig (seqdraw/cli/classifier.py).")
    add_arguments(ce, ReaderEvalConfig)
    ce.set_defaults(func=cmd_classifier_eval)
