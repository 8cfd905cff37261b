"""The `seqdraw` command, one module per command group. Every user error is one line on stderr and exit
code 2, never a traceback."""
from __future__ import annotations

import signal
import sys
import threading

from seqdraw.cli import classifier, data, evaluate, generate, serve, train
from seqdraw.cli.common import Parser, shorten
from seqdraw.errors import SeqdrawError


def build_parser(train_flags: bool = True) -> Parser:
    """The whole command line. The train flags come from TrainConfig, whose module loads torch: main()
    asks for them only when the command is `train`, so that other commands and --help start fast."""
    from seqdraw import __version__

    p = Parser(prog="seqdraw", description="Draw house-number images from digit strings (seqDRAW).")
    p.add_argument("--version", action="version", version=f"seqdraw {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    data.add_commands(sub)
    train.add_commands(sub, train_flags)
    generate.add_commands(sub)
    classifier.add_commands(sub)
    evaluate.add_commands(sub)
    serve.add_commands(sub)
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
