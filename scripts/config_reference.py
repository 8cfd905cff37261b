"""Write docs/config.md, the reference of every setting, from the `setting()` declarations themselves.

    python scripts/config_reference.py            # rewrites docs/config.md
    python scripts/config_reference.py --check    # exit 1 if docs/config.md is not what it would write

tests/test_docs_facts.py runs the check, so the reference cannot drift from the code.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from seqdraw.cli.classifier import ReaderEvalConfig, ReaderTrainConfig
from seqdraw.cli.common import DrawingConfig
from seqdraw.cli.data import SvhnCropsSet, SvhnSet
from seqdraw.cli.serve import DemoConfig, ExportConfig
from seqdraw.cli.generate import GenerateConfig
from seqdraw.data.generated import GeneratedConfig
from seqdraw.data.synth_set import SynthSet
from seqdraw.evaluate.config import EvalConfig
from seqdraw.experiments.config import Table2Config
from seqdraw.model.config import ModelConfig
from seqdraw.settings import describe_range
from seqdraw.train_config import GROUPS, TrainConfig

TARGET = Path(__file__).resolve().parents[1] / "docs" / "config.md"
GROUP_TEXT = {"run": "The run folder, seed, budget and bookkeeping.",
              "data": "The images trained and validated on.",
              "optimiser": "Adam, with linear warm-up and cosine decay to 10% of the peak.",
              "curriculum": "Which lengths each stage trains on, and for how long (section III-D).",
              "objective": "What training minimises: the paper's eq. 18, and the added terms (all off by default)."}
SECTIONS = [
    (TrainConfig, "seqdraw train", "Flags `--name-with-dashes`, `--set name=value`, or keys of a `--config` JSON "
                                   "file; saved to RUN/config.json, grouped as below. Each setting has one flat "
                                   "name (its flag's, `--lr`), which `--set` and `--config` also take, beside the "
                                   "nested one (`--set optimiser.lr=...`, `{\"optimiser\": {\"lr\": ...}}`)."),
    *[(cls, f"seqdraw train: {g}", GROUP_TEXT[g]) for g, cls in GROUPS.items()],
    (ModelConfig, "seqdraw train: the model", "`--set model.name=value`, or the `model` object of a `--config` "
                                              "file; saved in every model file's metadata."),
    (GenerateConfig, "seqdraw generate", "Flags `--name-with-dashes` after the numbers, plus the drawing flags "
                                         "below and `--overwrite`."),
    (DrawingConfig, "seqdraw generate and data generated: the drawing", "Which model draws, where, and how."),
    (ReaderTrainConfig, "seqdraw classifier train", "Flags `--name-with-dashes`, plus `--overwrite`."),
    (ReaderEvalConfig, "seqdraw classifier eval", "Flags `--name-with-dashes`."),
    (EvalConfig, "seqdraw evaluate", "Flags `--name-with-dashes`, plus `--out` and `--overwrite`."),
    (SynthSet, "seqdraw data synth", "Flags `--name-with-dashes`, plus `--overwrite`."),
    (GeneratedConfig, "seqdraw data generated", "Flags `--name-with-dashes`, plus the drawing flags and "
                                                "`--overwrite`."),
    (SvhnSet, "seqdraw data svhn", "Flags `--name-with-dashes`."),
    (SvhnCropsSet, "seqdraw data svhn-crops", "Flags `--name-with-dashes`, plus `--overwrite`."),
    (ExportConfig, "seqdraw export", "Flags `--name-with-dashes`, plus `--overwrite`."),
    (DemoConfig, "seqdraw demo", "Flags `--name-with-dashes`."),
    (Table2Config, "seqdraw reproduce table2", "Flags `--name-with-dashes`, plus `--out`, `--set` (TrainConfig "
                                               "values for every row) and `--overwrite`."),
]


def default_of(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "(required)"
    if dataclasses.is_dataclass(value):
        return "see below"
    return "(required)" if f.metadata.get("required") else f"`{value!r}`"


def reference() -> str:
    lines = ["# Configuration reference", "",
             "Every setting, with its default, its range and what it does. Generated from the `setting()`",
             "declarations by `scripts/config_reference.py`; a test fails when this page and the code differ.", ""]
    for cls, title, how in SECTIONS:
        lines += [f"## {title} (`{cls.__module__}.{cls.__name__}`)", "", how, "",
                  "| setting | default | range | meaning |", "|---|---|---|---|"]
        group = next((g for g, c in GROUPS.items() if c is cls), None)
        for f in dataclasses.fields(cls):
            help_text = f.metadata.get("help", "").replace("|", "\\|")
            flag = f.metadata.get("flag") or f.name
            name = f"`{flag}` (`{group}.{f.name}`)" if group else f"`{flag}`"
            lines.append(f"| {name} | {default_of(f)} | {describe_range(f) or '-'} | {help_text} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = reference()
    if args.check:
        same = TARGET.is_file() and TARGET.read_text() == text
        print("docs/config.md is current" if same else "docs/config.md is stale: run scripts/config_reference.py")
        return 0 if same else 1
    TARGET.write_text(text)
    print(f"-> {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
