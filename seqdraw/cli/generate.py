"""`seqdraw generate`: numbers in, a grid of samples (and the drawing process) out."""
from __future__ import annotations

import argparse

from seqdraw.cli.common import DefaultsHelp, add_model_flags, int_in, seed, temperature
from seqdraw.errors import SeqdrawError

MAX_PICTURE_PIXELS = 50_000_000     # a grid larger than this is refused before any drawing


def cmd_generate(args) -> None:
    if args.random is not None or args.strings is not None:
        raise SeqdrawError("a labelled data set is `seqdraw data generated --n N --out DIR` (with --strings FILE, "
                           "--format, --lengths as before)")
    if not args.numbers:
        raise SeqdrawError("give the numbers to draw (seqdraw generate 7 68 157); a data set is "
                           "seqdraw data generated --n N --out DIR")
    import numpy as np

    from seqdraw.files import check_output_files
    from seqdraw.generate import load
    from seqdraw.pictures import (animation_frames, captioned, grid, process_strips, save_attention_plot, save_gif,
                                  save_png, to_uint8)

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
    drawer = load(args.model, args.precision, args.compile, args.device)
    numbers = [drawer.check_number(n) for n in args.numbers]   # all checked before any work
    want_process = bool(args.process or args.gif or args.attention)
    if args.style_from is not None:
        drawer.style_of(args.style_from)                    # a bad picture is refused before any drawing
    results = [drawer.generate(n, n=args.n, seed=args.seed + i, process=want_process, temperature=args.temperature,
                               style_temperature=args.style_temperature,
                               style_from=args.style_from)
               for i, n in enumerate(numbers)]
    images = np.concatenate([r.images for r in results])
    height = drawer.model.config.height
    save_png(args.out, captioned(grid(to_uint8(images), cols=args.n), numbers, height), scale=args.scale)
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


def add_commands(sub) -> None:
    g = sub.add_parser("generate", help="draw images of the numbers you ask for",
                       formatter_class=DefaultsHelp)
    g.add_argument("numbers", nargs="*", help="digit strings, e.g. 7 68 157 2024 (one row each)")
    g.add_argument("--n", type=int_in(1, 10_000), default=8, help="samples (styles) per number")
    add_model_flags(g)
    g.add_argument("--seed", type=seed, default=0, help="the same seed gives the same pixels")
    g.add_argument("--temperature", type=temperature, default=None,
                   help="scale of the prior's noise: 1 is the paper's sampling, lower is more legible and less "
                        "varied (default: the temperature stored with the model, else 1)")
    g.add_argument("--style-temperature", dest="style_temperature", type=temperature, default=None,
                   help="the temperature of z_1 alone, which sets each sample's style: above --temperature "
                        "for more varied styles (default: the one stored with the model, else --temperature)")
    g.add_argument("--style-from", dest="style_from", metavar="PICTURE", default=None,
                   help="draw every sample in the look of this picture (ground, polarity, stroke): a 32x64 "
                        "crop of a house number, or any picture, resized (docs/generation.md)")
    g.add_argument("--out", default=None, help="the grid of samples (default numbers.png)")
    g.add_argument("--overwrite", action="store_true", help="replace the output files if they exist")
    g.add_argument("--process", metavar="PNG", help="also the drawing process: one row per sample, steps across")
    g.add_argument("--gif", metavar="GIF", help="also an animation of the canvas with the write window")
    g.add_argument("--attention", metavar="PNG", help="also a plot of the label attention over the steps")
    g.add_argument("--scale", type=int_in(1, 16), default=3, help="upscaling of the PNGs")
    # the data set these made is `seqdraw data generated` now: say so instead of "unrecognized arguments"
    g.add_argument("--random", default=None, help=argparse.SUPPRESS)
    g.add_argument("--strings", default=None, help=argparse.SUPPRESS)
    g.set_defaults(func=cmd_generate)
