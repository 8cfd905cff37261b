"""`seqdraw classifier train | eval`: the readers (judges, guides)."""
from __future__ import annotations

from pathlib import Path

from seqdraw.cli.common import DefaultsHelp, Parser, float_in, int_in, seed


def cmd_classifier_train(args) -> None:
    from seqdraw.data.shards import load_splits
    from seqdraw.readers import Schedule, train_reader
    from seqdraw.files import check_output_folder, output_folder

    check_output_folder(args.out, args.overwrite)
    train_data, test_data = load_splits(args.data)
    with output_folder(args.out, args.overwrite) as tmp:
        result = train_reader(train_data, test_data, tmp, arch=args.arch,
                              config={"width": args.width} if args.width else {},
                              schedule=Schedule(args.epochs, args.batch_size, args.lr, args.seed))
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


def add_commands(sub) -> None:
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
