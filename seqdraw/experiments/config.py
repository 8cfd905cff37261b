"""`Table2Config`: what `seqdraw reproduce table2` trains and judges, declared once, in a module light
enough for the command line to build its flags without loading torch."""
from __future__ import annotations

from dataclasses import dataclass

from seqdraw.errors import SeqdrawError
from seqdraw.settings import SEED_MAX, check_fields, setting

# table2.ROWS, in the table's order
ROW_NAMES = ("rnndraw", "seqdraw", "seqdraw-cur", "logistic", "replay", "scheduled")


@dataclass(frozen=True)
class Table2Config:
    data: str = setting("", "a data folder with train.npz and test.npz (or svhn:DIR)", required=True)
    max_steps: int = setting(3000, "training budget per row, in steps (the same images for every row)", lo=1,
                             hi=100_000_000)
    max_len: int = setting(3, "lengths 1..N (the paper: 3)", lo=1, hi=5)
    rows: str = setting("", "train and judge only these rows, comma-separated: rnndraw, seqdraw, seqdraw-cur, "
                            "logistic, replay, scheduled (default: all; run subsets side by side in separate "
                            "processes)")
    objective: str = setting("paper", "paper: the bound (eq. 18); recipe: the shipped model's terms (logistic "
                                      "likelihood, guide, style match, discriminator); or both",
                             choices=("paper", "recipe", "both"))
    guide: str = setting("", "the multidigit reader that guides the recipe objective (never a judge)")
    judge: list = setting([], "a reader .safetensors; repeat for several (default: the two shipped judges)")
    per_length: int = setting(1000, "test images per length to reconstruct, and label sequences to sample", lo=1,
                              hi=1_000_000)
    seed: int = setting(0, "fixes every row's data order, noise and initial weights, and the judging", lo=0,
                        hi=SEED_MAX)

    def __post_init__(self):
        check_fields(self)
        unknown = sorted(set(self.row_list()) - set(ROW_NAMES))
        if unknown:
            raise SeqdrawError(f"--rows: unknown row {', '.join(unknown)}; choose from {', '.join(ROW_NAMES)}")

    def row_list(self) -> list[str]:
        return [r for r in self.rows.split(",") if r] or list(ROW_NAMES)

    def objectives(self) -> list[str]:
        return ["paper", "recipe"] if self.objective == "both" else [self.objective]
