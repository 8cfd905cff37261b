"""What a training run is, declared once and grouped by concern: the run's bookkeeping and budget, the
data, the optimiser, the curriculum (section III-D) and the objective (seqdraw.objectives).

config.json holds the nested form ({"optimiser": {"lr": 0.002}, ...}). Every setting also has one flat
name, its flag's (`--lr`, `--set lr=...`), unique across the groups: `nest` turns flat names into the
nested form, so flags, `--set` and the flat config.json of runs before the groups all read the same.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from seqdraw.data.labels import MAX_LEN
from seqdraw.errors import SeqdrawError
from seqdraw.model import PRESETS, preset
from seqdraw.objectives import ObjectiveConfig
from seqdraw.settings import SEED_MAX, check_fields, from_dict, setting

CURRICULA = ("none", "paper", "replay")
# flags that were tried, measured and rejected: naming one is an error (docs/notes has their story)
GONE = {k: "tried and rejected: docs/notes" for k in ("kl_weight", "guide_margin", "diversity_weight", "diversity_target",
                                                  "prior_temperature_spread")}


@dataclass(frozen=True)
class RunConfig:
    """Where the run lives, its seed and budget, and how it is carried out."""
    out: str = setting("runs/seqdraw-cur", "the run folder")
    seed: int = setting(0, "fixes data order, noise and initial weights", lo=0, hi=SEED_MAX)
    max_steps: int = setting(0, "stop after this many steps in all (0: every stage and epoch)", lo=0)
    checkpoint_every: int = setting(500, "steps between checkpoints", lo=1)
    keep: int = setting(3, "checkpoints kept", lo=1, hi=1000)
    log_every: int = setting(50, "steps between lines of metrics.jsonl", lo=1)
    val_every: int = setting(0, "steps between validations (and sample grids) within an epoch (0: at the end of "
                                "each epoch only)", lo=0)
    threads: int = setting(0, "CPU threads, one per core (0: every core of this process's affinity that no other "
                              "seqdraw job holds; seqdraw/cores.py)", lo=0, hi=4096)
    device: str = setting("cpu", "cpu, cuda or cuda:N (torchrun: each rank its LOCAL_RANK's GPU)")
    compile: bool = setting(True, "torch.compile the bound's drawing step (eager without a C++ compiler; prior samples "
                                  "for the added terms stay eager)")
    precision: str = setting("bf16", "bf16: the training step under bf16 autocast (weights, optimiser and "
                                     "validation stay fp32; docs/performance.md), or fp32", choices=("fp32", "bf16"))

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class DataConfig:
    """The images trained on and validated on."""
    source: str = setting("synth", "synth (generated in memory), svhn:DIR, or DIR with train.npz and test.npz",
                          flag="data")
    max_len: int = setting(4, "longest length trained (SVHN: 5 digits is 0.03%)", lo=1, hi=MAX_LEN)
    synth_n: int = setting(20000, "data=synth: training images generated in memory", lo=1, hi=10_000_000)
    val_size: int = setting(512, "validation images per length", lo=1, hi=1_000_000)

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class OptimiserConfig:
    """Adam with linear warm-up and cosine decay (trainer.lr_at)."""
    batch_size: int = setting(256, "images per step (docs/performance.md: speed, and the bound against images "
                                   "seen at 256 and 64)", lo=1, hi=65_536)
    lr: float = setting(2e-3, "peak learning rate (Adam)", lo=0, exclusive="lo", hi=10)
    warmup_steps: int = setting(200, "linear warm-up steps, then cosine decay to 10%", lo=1, hi=10_000_000)
    grad_clip: float = setting(10.0, "gradient norm clip", lo=0, exclusive="lo")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class CurriculumConfig:
    """Which lengths each stage trains on, and for how long (section III-D)."""
    kind: str = setting("", "none, paper (L=1, then 2, ...; III-D) or replay (L and shorter); "
                            "empty: replay for seqdraw-cur, none otherwise", choices=("",) + CURRICULA,
                        flag="curriculum")
    epochs: int = setting(10, "epochs per curriculum stage (per run when curriculum is none)", lo=1, hi=100_000)
    replay: float = setting(0.3, "replay curriculum: share of batches from shorter lengths", lo=0, hi=1, exclusive="hi")

    def __post_init__(self):
        check_fields(self)

    def stages(self, max_len: int) -> list[tuple[int, ...]]:
        """The lengths each stage trains on. paper: L=1, then L=2, ... (III-D); replay: L and shorter."""
        if self.kind == "none":
            return [tuple(range(1, max_len + 1))]
        if self.kind == "paper":
            return [(L,) for L in range(1, max_len + 1)]
        return [tuple(range(1, L + 1)) for L in range(1, max_len + 1)]


GROUPS = {"run": RunConfig, "data": DataConfig, "optimiser": OptimiserConfig, "curriculum": CurriculumConfig,
          "objective": ObjectiveConfig}


@dataclass
class TrainConfig:
    preset: str = setting("seqdraw-cur", "Table I network", choices=tuple(PRESETS))
    model: dict = setting({}, "ModelConfig overrides, e.g. {\"enc_size\": 256} (--set model.enc_size=256)")
    init: str = setting("", "start from these model weights (fine-tuning) instead of at random")
    run: RunConfig = setting(RunConfig(), "the run folder, seed, budget and bookkeeping")
    data: DataConfig = setting(DataConfig(), "the images")
    optimiser: OptimiserConfig = setting(OptimiserConfig(), "Adam and its schedule")
    curriculum: CurriculumConfig = setting(CurriculumConfig(), "the stages by length")
    objective: ObjectiveConfig = setting(ObjectiveConfig(), "what training minimises: the paper's bound and the "
                                                            "added terms (seqdraw.objectives.ObjectiveConfig)")

    def __post_init__(self):
        check_fields(self)
        if not self.curriculum.kind:
            self.curriculum = dataclasses.replace(self.curriculum,
                                                  kind="replay" if self.preset == "seqdraw-cur" else "none")
        try:
            preset(self.preset, **self.model)
        except TypeError as e:
            raise SeqdrawError(f"model: {e}") from None

    @classmethod
    def from_dict(cls, d: dict, what: str = "training config") -> "TrainConfig":
        """From a dict in the nested form of config.json, or with flat names (flags, and the config.json
        of runs before the groups), or a mix."""
        d = nest(d, what)
        groups = {g: from_dict(group, d.get(g, {}), f"{what}: {g}") for g, group in GROUPS.items()}
        return from_dict(cls, {**d, **groups}, what, gone=GONE)

    def stages(self) -> list[tuple[int, ...]]:
        return self.curriculum.stages(self.data.max_len)

    def flat(self) -> dict:
        """Every setting by its flat name (model stays a dict)."""
        return flatten(dataclasses.asdict(self))


# flat name (the flag's) -> (group, field); (group, field) -> flat name where they differ
FLAT = {f.metadata.get("flag") or f.name: (g, f.name) for g, cls in GROUPS.items() for f in dataclasses.fields(cls)}
FLAT_NAME = {v: k for k, v in FLAT.items() if k != v[1]}


def nest(values, what: str = "training config"):
    """A copy of a config dict with every flat setting (lr=..., data="synth") moved into its group. A
    setting given both ways is refused."""
    if not isinstance(values, dict):
        return values
    out = {k: v for k, v in values.items() if k not in FLAT and k not in GROUPS}
    for g in GROUPS:
        nested = values.get(g, {})
        if isinstance(nested, str) and g in FLAT:
            nested = {}                         # "data" and "curriculum" as flat names: moved below
        if dataclasses.is_dataclass(nested):
            nested = dataclasses.asdict(nested)
        if not isinstance(nested, dict):
            raise SeqdrawError(f"{what}: {g} must be a JSON object, got {type(nested).__name__}")
        out[g] = dict(nested)
    for key, value in values.items():
        if key not in FLAT or key in GROUPS and not isinstance(value, str):
            continue
        g, name = FLAT[key]
        if name in out[g]:
            raise SeqdrawError(f"{what}: {key} given both flat and under {g}")
        out[g][name] = value
    return {k: v for k, v in out.items() if k not in GROUPS or v or k in values}


def flatten(values: dict, what: str = "training config") -> dict:
    """The flat form of a config dict (nested, flat or mixed): {"lr": ..., "data": "synth", "model": {...}}."""
    nested = nest(values, what)
    out = {k: v for k, v in nested.items() if k not in GROUPS}
    for g in GROUPS:
        out.update({FLAT_NAME.get((g, k), k): v for k, v in nested.get(g, {}).items()})
    return out


def merged(base: dict, changes: dict, what: str = "training config") -> dict:
    """base with changes on top, both in any form; groups and model overrides merge key by key."""
    base, changes = nest(base, what), nest(changes, what)
    out = {**base, **changes}
    for key in tuple(GROUPS) + ("model",):
        for side in (base, changes):
            if key in side and not isinstance(side[key], dict):
                raise SeqdrawError(f"{what}: {key} must be a JSON object, got {str(side[key])[:40]}")
        if key in base and key in changes:
            out[key] = {**base[key], **changes[key]}
    return out
