"""`seqdraw generate`: numbers in, a grid of samples (and the drawing process) out."""
from __future__ import annotations

import argparse

from dataclasses import dataclass

from seqdraw.cli.common import DrawingConfig, add_model_flags, settings_from
from seqdraw.errors import SeqdrawError
from seqdraw.settings import MAX_TEMPERATURE, SEED_MAX, add_arguments, check_fields, setting

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
    from seqdraw.pictures import (animation_frames, captioned, check_picture_size, grid, process_strips,
                                  save_attention_plot, save_gif, save_png, to_uint8)

    c, d = settings_from(GenerateConfig, args), settings_from(DrawingConfig, args)
    check_output_files({"--out": c.out, "--process": c.process or None, "--gif": c.gif or None,
                        "--attention": c.attention or None}, args.overwrite, inputs=(d.model,),
                       suffixes={"--out": ".png", "--process": ".png", "--gif": ".gif", "--attention": ".png"})
    pixels = len(args.numbers) * c.n * 34 * 66 * c.scale ** 2          # refused before any drawing
    check_picture_size(pixels, "the grid", ": lower --n or --scale")
    if c.process:
        check_picture_size(pixels * 10, "--process, 10 frames per sample,", ": lower --n or --scale")
    drawer = load(d.model, d.precision, d.compile, d.device)
    numbers = [drawer.check_number(n) for n in args.numbers]   # all checked before any work
    want_process = bool(c.process or c.gif or c.attention)
    if c.style_from:
        drawer.style_of(c.style_from)                    # a bad picture is refused before any drawing
    results = [drawer.generate(n, n=c.n, seed=c.seed + i, process=want_process, temperature=c.temperature,
                               style_temperature=c.style_temperature,
                               style_from=c.style_from or None)
               for i, n in enumerate(numbers)]
    images = np.concatenate([r.images for r in results])
    height = drawer.model.config.height
    save_png(c.out, captioned(grid(to_uint8(images), cols=c.n), numbers, height), scale=c.scale)
    print(f"{len(numbers)} number(s) x {c.n} samples -> {c.out}")
    if c.process:
        save_png(c.process, process_strips([r.canvases for r in results]), scale=c.scale)
        print(f"drawing process -> {c.process}")
    if c.gif:
        frames = animation_frames([r.canvases[0] for r in results], [r.write_where[0] for r in results],
                                  results[0].write_n)
        save_gif(c.gif, frames)
        print(f"animation ({len(frames)} frames) -> {c.gif}")
    if c.attention:
        if results[0].alpha is None:
            raise SeqdrawError("--attention needs a model with label attention (seqdraw presets), not rnndraw")
        k = drawer.model.config.steps_per_digit
        save_attention_plot(c.attention, [r.alpha[0, : k * len(r.number), : len(r.number)] for r in results],
                            [r.number for r in results])
        print(f"label attention -> {c.attention}")


@dataclass(frozen=True)
class GenerateConfig:
    """What `seqdraw generate` draws and writes, declared once: its flags come from here."""
    n: int = setting(8, "samples (styles) per number", lo=1, hi=10_000)
    seed: int = setting(0, "the same seed gives the same pixels; number i uses seed + i", lo=0, hi=SEED_MAX)
    temperature: float | None = setting(None, "scale of the prior's noise: 1 is the paper's sampling, lower is "
                                              "more legible and less varied (default: the temperature stored "
                                              "with the model, else 1)", lo=0, hi=MAX_TEMPERATURE)
    style_temperature: float | None = setting(None, "the temperature of z_1 alone, which sets each sample's style "
                                                    "(default: the one stored with the model, else "
                                                    "--temperature)", lo=0, hi=MAX_TEMPERATURE)
    style_from: str = setting("", "draw every sample in the look of this picture (ground, polarity, stroke): a "
                                  "32x64 crop of a house number, or any picture, resized (docs/generation.md)")
    out: str = setting("numbers.png", "the grid of samples, a row per number")
    process: str = setting("", "also the drawing process (PNG): one row per sample, steps across")
    gif: str = setting("", "also an animation (GIF) of the canvas with the write window")
    attention: str = setting("", "also a plot (PNG) of the label attention over the steps")
    scale: int = setting(3, "upscaling of the PNGs", lo=1, hi=16)

    def __post_init__(self):
        check_fields(self)


def add_commands(sub) -> None:
    g = sub.add_parser("generate", help="draw images of the numbers you ask for",
                       description="Flags come from GenerateConfig (seqdraw/cli/generate.py) and the model's.")
    g.add_argument("numbers", nargs="*", help="digit strings, e.g. 7 68 157 2024 (one row each)")
    add_arguments(g, GenerateConfig)
    add_model_flags(g)
    g.add_argument("--overwrite", action="store_true", help="replace the output files if they exist")
    # the data set these made is `seqdraw data generated` now: say so instead of "unrecognized arguments"
    g.add_argument("--random", default=None, help=argparse.SUPPRESS)
    g.add_argument("--strings", default=None, help=argparse.SUPPRESS)
    g.set_defaults(func=cmd_generate)
