"""`seqdraw export` (ONNX) and `seqdraw demo` (a web page)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqdraw.cli.common import DEVICE_HELP, MODEL_HELP, settings_from
from seqdraw.settings import add_arguments, check_fields, setting


@dataclass(frozen=True)
class ExportConfig:
    """What `seqdraw export` writes, from which model."""
    onnx: str = setting("", "folder for draw-L*.onnx and seqdraw-onnx.json", required=True)
    model: str | None = setting(None, MODEL_HELP)

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class DemoConfig:
    """Which model `seqdraw demo` serves, and where."""
    model: str | None = setting(None, MODEL_HELP)
    device: str = setting("cpu", DEVICE_HELP)
    host: str = setting("127.0.0.1", "address to bind (0.0.0.0 exposes it to the network)")
    port: int = setting(7860, "port to bind", lo=1, hi=65535)
    share: bool = setting(False, "also make a public gradio.live link")

    def __post_init__(self):
        check_fields(self)


def cmd_export(args) -> None:
    from seqdraw.deploy import export_onnx

    c = settings_from(ExportConfig, args)
    info = export_onnx(c.model, Path(c.onnx), overwrite=args.overwrite)
    print(f"{len(info['graphs'])} ONNX graphs (lengths {', '.join(info['graphs'])}) -> {c.onnx}")


def cmd_demo(args) -> None:
    from seqdraw.demo import serve

    c = settings_from(DemoConfig, args)
    print(f"seqdraw demo on http://{c.host}:{c.port} (Ctrl-C to stop"
          f"{'' if c.share else '; --share for a public gradio.live link'})")
    serve(c.model, host=c.host, port=c.port, share=c.share, device=c.device)


def add_commands(sub) -> None:
    x = sub.add_parser("export", help="the drawing as ONNX graphs, to run with ONNX Runtime alone",
                       description="Flags come from ExportConfig (seqdraw/cli/serve.py).")
    add_arguments(x, ExportConfig)
    x.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    x.set_defaults(func=cmd_export)

    dm = sub.add_parser("demo", help="a web page to try a model (needs pip install -e \".[demo]\")",
                        description="Flags come from DemoConfig (seqdraw/cli/serve.py).")
    add_arguments(dm, DemoConfig)
    dm.set_defaults(func=cmd_demo)
