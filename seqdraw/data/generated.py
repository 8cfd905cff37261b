"""`GeneratedConfig`: what `seqdraw data generated` draws (seqdraw/dataset.py draws it). Declared here,
with nothing heavy imported, so the command line builds its flags without loading torch."""
from __future__ import annotations

from dataclasses import dataclass

from seqdraw.settings import MAX_TEMPERATURE, SEED_MAX, check_fields, setting

FORMATS = ("imagefolder", "npz")


@dataclass(frozen=True)
class GeneratedConfig:
    n: int = setting(0, "images in all (train + test)", lo=1, hi=100_000_000, required=True)
    out: str = setting("", "the data set's folder", required=True)
    format: str = setting("imagefolder", "PNGs + metadata.jsonl per split, or train.npz/test.npz shards",
                          choices=FORMATS)
    lengths: str = setting("svhn", "length distribution, as seqdraw data synth (svhn, uniform:K, or weights "
                                   "1,2,1), within the model's lengths")
    strings: str = setting("", "draw strings from this file (one per line) instead")
    test_fraction: float = setting(0.1, "share of the images in the test split", lo=0, hi=1, exclusive="hi")
    seed: int = setting(0, "image i depends only on (seed, i) and the model", lo=0, hi=SEED_MAX)
    temperature: float | None = setting(None, "scale of the prior's noise (default: the temperature stored with "
                                              "the model, else 1)", lo=0, hi=MAX_TEMPERATURE)
    style_temperature: float | None = setting(None, "the temperature of z_1 alone (default: the one stored with "
                                                    "the model, else --temperature)", lo=0, hi=MAX_TEMPERATURE)

    def __post_init__(self):
        check_fields(self)
