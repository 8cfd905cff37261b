"""`seqdraw export` (ONNX) and `seqdraw demo` (a web page)."""
from __future__ import annotations

from pathlib import Path

from seqdraw.cli.common import DefaultsHelp, int_in


def cmd_export(args) -> None:
    from seqdraw.deploy import export_onnx

    info = export_onnx(args.model, Path(args.onnx), overwrite=args.overwrite)
    print(f"{len(info['graphs'])} ONNX graphs (lengths {', '.join(info['graphs'])}) -> {args.onnx}")


def cmd_demo(args) -> None:
    from seqdraw.demo import serve

    print(f"seqdraw demo on http://{args.host}:{args.port} (Ctrl-C to stop"
          f"{'' if args.share else '; --share for a public gradio.live link'})")
    serve(args.model, host=args.host, port=args.port, share=args.share, device=args.device)


def add_commands(sub) -> None:
    x = sub.add_parser("export", help="the drawing as ONNX graphs, to run with ONNX Runtime alone",
                       formatter_class=DefaultsHelp)
    x.add_argument("--onnx", required=True, metavar="DIR", help="folder for draw-L*.onnx and seqdraw-onnx.json")
    x.add_argument("--model", default=None, help="a .safetensors model, a run folder, or a shipped model: recipe (the "
                                                 "default) or paper")
    x.add_argument("--overwrite", action="store_true", help="replace the folder if it exists (all of it)")
    x.set_defaults(func=cmd_export)

    dm = sub.add_parser("demo", help="a web page to try a model (needs pip install -e \".[demo]\")",
                        formatter_class=DefaultsHelp)
    dm.add_argument("--model", default=None, help="a .safetensors model, a run folder, or a shipped model: recipe (the "
                                                 "default) or paper")
    dm.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N: where the model draws")
    dm.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    dm.add_argument("--port", type=int_in(1, 65535), default=7860)
    dm.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    dm.set_defaults(func=cmd_demo)
