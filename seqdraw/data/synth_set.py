"""`SynthSet`: what `seqdraw data synth` writes (seqdraw/data/synth.py renders it). Declared here, with
nothing heavy imported, so the command line builds its flags without loading NumPy or Pillow."""
from __future__ import annotations

from dataclasses import dataclass

from seqdraw.settings import SEED_MAX, check_fields, setting


@dataclass(frozen=True)
class SynthSet:
    n: int = setting(60000, "images in all (train + test)", lo=2, hi=10_000_000)
    test_fraction: float = setting(0.1, "share of the images held out as test", lo=0, hi=1,
                                   exclusive="both")
    seed: int = setting(0, "sample i depends only on (seed, i)", lo=0, hi=SEED_MAX)
    crops: bool = setting(False, "also write 32x32 SVHN format-2 style digit crops")
    include_heldout: bool = setting(False, "let the train split hold the held-out strings too (for judges only: "
                                           "a generative model trained on them is refused by seqdraw evaluate; "
                                           "docs/evaluation.md)")
    format: str = setting("npz", "train.npz/test.npz shards, or train/ and test/ with PNGs and metadata.jsonl "
                                 "(with boxes)", choices=("npz", "imagefolder"))
    lengths: str = setting("svhn", "length distribution: svhn (real SVHN train shares), uniform, uniform:N, or "
                                   "weights 1,2,1")
    fonts: str = setting("", "a folder of TTF/OTF fonts to use instead of the bundled ones")
    out: str = setting("data/synth", "the data set's folder")
    workers: int = setting(0, "processes to render with (0: the cores this process may use); the data are the "
                              "same bytes for any number", lo=0, hi=256)

    def __post_init__(self):
        check_fields(self)
