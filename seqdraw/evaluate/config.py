"""`EvalConfig`: what `seqdraw evaluate` measures with, in a module light enough for the command line
to build its flags without loading torch."""
from __future__ import annotations

from dataclasses import dataclass

from seqdraw.errors import SeqdrawError
from seqdraw.settings import MAX_TEMPERATURE, SEED_MAX, check_fields, setting


@dataclass(frozen=True)
class EvalConfig:
    """Everything `seqdraw evaluate` measures with, declared once: its flags come from here."""
    model: str = setting("", "a model .safetensors, a run's final/ or best/ folder, or a shipped model: recipe or "
                             "paper", required=True)
    data: str = setting("", "the data folder whose test.npz is held out (its train.npz, if there, is what the "
                            "model trained on: memorisation and the critic's floor use it)", required=True)
    judge: list = setting([], "a reader .safetensors (seqdraw classifier train); repeat for several "
                              "(default: the two judges shipped in the package)")
    per_length: int = setting(400, "random strings per length, and as many held-out ones for lengths 3-5, one "
                                   "sample each", lo=1, hi=1_000_000)
    critic_images: int = setting(2000, "generated and as many data images for the realism critic", lo=20,
                                 hi=1_000_000)
    critic_steps: int = setting(400, "training steps of each critic (batch 64), per fold", lo=1, hi=1_000_000)
    variety_strings: int = setting(20, "strings per length for the stroke variety", lo=1, hi=100_000)
    variety_samples: int = setting(8, "samples (and data images) of each string for the stroke variety", lo=2,
                                   hi=1000)
    reconstructions: int = setting(400, "test images per length for the reconstructions and the bound", lo=1,
                                   hi=1_000_000)
    usefulness: int = setting(0, "also train readers on N generated and on N data images (0: skip; minutes)",
                              lo=0, hi=10_000_000)
    real_crops: str = setting("", "with --usefulness: real SVHN digit crops (images uint8 [N, 32, 32, 3], labels) "
                                  "for the single-digit comparison")
    allow_seen_heldout: bool = setting(False, "evaluate a model trained on held-out strings (its held-out "
                                              "figures are then not held out)")
    temperature: float | None = setting(None, "sampling temperature (default: the one stored with the model, "
                                              "else 1)", lo=0, hi=MAX_TEMPERATURE)
    style_temperature: float | None = setting(None, "temperature of z_1 alone (default: the one stored with the "
                                                    "model, else --temperature)", lo=0, hi=MAX_TEMPERATURE)
    seed: int = setting(0, "fixes the strings, the noise and the critics' folds", lo=0, hi=SEED_MAX)
    device: str = setting("cpu", "cpu, cuda or cuda:N: where the model draws and reconstructs (the judges and "
                                 "critics stay on the CPU)")

    def __post_init__(self):
        check_fields(self)
        for name in ("model", "data"):
            if not getattr(self, name):
                raise SeqdrawError(f"evaluate needs {name}")
