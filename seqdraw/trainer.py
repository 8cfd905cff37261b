"""Training: curriculum by length (section III-D), exact resume, progress, logs, sample grids.

The order of batches is a pure function of (seed, stage, epoch), and the z-noise comes from one
saved torch.Generator: a run stopped at any moment and resumed from its last checkpoint replays
exactly the batches and noise an uninterrupted run would have seen.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from seqdraw.checkpoint import (latest_checkpoint, load_checkpoint, load_weights, restore, save_checkpoint,
                                save_model, weights_digest)
from seqdraw.data.labels import MAX_LEN, encode
from seqdraw.data.heldout import heldout_mask
from seqdraw.data.shards import fingerprint, load_splits
from seqdraw.errors import SeqdrawError
from seqdraw.evaluate.classifier import MultiDigitClassifier
from seqdraw.evaluate.readers import load_reader
from seqdraw.files import atomic_path
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.pictures import grid, save_png

CURRICULA = ("none", "paper", "replay")
SAMPLE_NUMBERS = ("7", "42", "157", "2024", "31415")


@dataclass
class TrainConfig:
    preset: str = "seqdraw-cur"
    data: str = "synth"               # synth | svhn:DIR | DIR (with train.npz and test.npz)
    out: str = "runs/seqdraw-cur"
    epochs: int = 10                  # per curriculum stage (per run when curriculum is none)
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    grad_clip: float = 10.0
    seed: int = 0
    curriculum: str = ""              # "" = the preset's: replay for seqdraw-cur (docs/training.md), none otherwise
    replay: float = 0.3               # replay curriculum: share of batches from shorter lengths
    max_len: int = 4                  # longest length trained (SVHN: 5 digits is 0.03%)
    synth_n: int = 20000              # data=synth: training images generated in memory
    val_size: int = 512
    checkpoint_every: int = 500       # steps
    keep: int = 3                     # checkpoints kept
    log_every: int = 50
    device: str = "cpu"               # cpu, cuda or cuda:N (torchrun: each rank its LOCAL_RANK's GPU);
                                      # the CUDA path has not been run on a GPU yet (docs/performance.md)
    compile: bool = True              # torch.compile the step and the drawing: ~1.3x faster training after
                                      # ~1 min of compiling (eager when no C++ compiler is found)
    max_steps: int = 0                # stop after this many steps in all (0: run every stage and epoch)
    model: dict = field(default_factory=dict)   # ModelConfig overrides, e.g. {"enc_size": 256}
    init: str = ""                    # start from these model weights (fine-tuning) instead of at random
    digit_weight: float = 1.0         # weight of pixels inside digit boxes in the reconstruction term
                                      # (1: the paper's bound; docs/training.md)
    kl_weight: float = 1.0            # weight of the KL term in the training loss (1: the paper's
                                      # bound; below 1 the latents carry more, docs/training.md)
    guide: str = ""                   # a classifier file: samples drawn from the prior during training
                                      # must read back as their labels (docs/training.md)
    guide_weight: float = 100.0       # nats of the bound per nat of the guide's cross-entropy
    guide_style_temperature: float = 1.0   # temperature of z_1 in the guide's samples: above 1 the
                                      # decoder must draw legibly across a wider range of styles
    guide_margin: float = 0.0         # cross-entropy (nats) below which a drawn image adds nothing:
                                      # legible is enough, the prior is not pushed to one best style
    diversity_weight: float = 0.0     # with a guide: two samples of one string that are closer than
                                      # diversity_target x the distance between real images of that
                                      # length pay this per unit of distance (0: off; docs/training.md)
    diversity_target: float = 0.8
    style_match_weight: float = 0.0   # with a guide: nats per unit of sliced Wasserstein distance
                                      # between the guide's samples and the batch's real images, at
                                      # low resolution (0: off; docs/training.md)
    style_match_pool: int = 4         # pooling factor of that low resolution (32x64 -> 8x16 at 4)
    style_match_directions: int = 64  # random projections per step

    def __post_init__(self):
        if not self.curriculum:
            self.curriculum = "replay" if self.preset == "seqdraw-cur" else "none"
        if self.curriculum not in CURRICULA:
            raise SeqdrawError(f"curriculum must be one of {CURRICULA}, got {self.curriculum!r}")
        for name in ("epochs", "batch_size", "checkpoint_every", "keep", "val_size", "synth_n", "log_every"):
            if getattr(self, name) < 1:
                raise SeqdrawError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 1 <= self.max_len <= MAX_LEN:
            raise SeqdrawError(f"max_len must be 1..{MAX_LEN}, got {self.max_len}")
        if not self.digit_weight >= 1:
            raise SeqdrawError(f"digit_weight must be at least 1, got {self.digit_weight}")
        if not 0 < self.kl_weight <= 1:
            raise SeqdrawError(f"kl_weight must be in (0, 1], got {self.kl_weight}")
        if not self.guide_weight > 0:
            raise SeqdrawError(f"guide_weight must be positive, got {self.guide_weight}")
        if not self.guide_style_temperature >= 0:
            raise SeqdrawError(f"guide_style_temperature must be at least 0, got {self.guide_style_temperature}")
        if not self.diversity_weight >= 0 or not self.diversity_target > 0:
            raise SeqdrawError(f"diversity_weight must be at least 0 and diversity_target positive, got "
                               f"{self.diversity_weight} and {self.diversity_target}")
        if self.diversity_weight and not self.guide:
            raise SeqdrawError("diversity_weight needs a guide: its pairs of samples are the guide's")
        if not self.style_match_weight >= 0:
            raise SeqdrawError(f"style_match_weight must be at least 0, got {self.style_match_weight}")
        if self.style_match_weight and not self.guide:
            raise SeqdrawError("style_match_weight needs a guide: the images it compares are the guide's samples")
        if self.style_match_pool < 1 or self.style_match_directions < 1:
            raise SeqdrawError(f"style_match_pool and style_match_directions must be at least 1, got "
                               f"{self.style_match_pool} and {self.style_match_directions}")
        if not self.guide_margin >= 0:
            raise SeqdrawError(f"guide_margin must be at least 0, got {self.guide_margin}")
        if not 0 <= self.replay < 1:          # the share of batches from shorter lengths
            raise SeqdrawError(f"replay must be in [0, 1), got {self.replay}")
        if not self.lr > 0:
            raise SeqdrawError(f"lr must be positive, got {self.lr}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SeqdrawError(f"unknown training config keys: {unknown}")
        return cls(**d)

    def stages(self) -> list[tuple[int, ...]]:
        """The lengths each stage trains on. paper: L=1, then L=2, ... (III-D); replay: L and shorter."""
        if self.curriculum == "none":
            return [tuple(range(1, self.max_len + 1))]
        if self.curriculum == "paper":
            return [(L,) for L in range(1, self.max_len + 1)]
        return [tuple(range(1, L + 1)) for L in range(1, self.max_len + 1)]


# ---- data ------------------------------------------------------------------------------------------

def load_data(config: TrainConfig) -> tuple[dict, dict]:
    if config.data == "synth":
        from seqdraw.data.synth import generate
        train = generate(config.synth_n, seed=config.seed, progress=True, exclude_heldout=True)
        test = generate(config.val_size, seed=config.seed + 1_000_003)
        return train, test
    return load_splits(config.data)


def batch_plan(lengths: np.ndarray, stage: tuple[int, ...], config: TrainConfig, stage_i: int, epoch: int):
    """Index batches of one length each (T = kL costs only what the batch needs), in shuffled order."""
    rng = np.random.default_rng([config.seed, stage_i, epoch])
    batches = []
    for L in stage:
        idx = np.flatnonzero(lengths == L)
        rng.shuffle(idx)
        chunks = [idx[i: i + config.batch_size] for i in range(0, len(idx), config.batch_size)]
        batches.append((L, chunks))
    if config.curriculum == "replay" and len(stage) > 1:
        newest = [c for L, c in batches if L == stage[-1]][0]
        older = [c for L, cs in batches if L != stage[-1] for c in cs]
        want = int(round(len(newest) * config.replay / (1 - config.replay)))
        keep = rng.permutation(len(older))[:want]
        plan = newest + [older[i] for i in keep]
    else:
        plan = [c for _, cs in batches for c in cs]
    order = rng.permutation(len(plan))
    return [plan[i] for i in order]


def to_tensors(data: dict, idx: np.ndarray):
    images = torch.from_numpy(data["images"][idx]).float().div_(255)
    lengths = torch.from_numpy(data["lengths"][idx].astype(np.int64))
    labels = torch.from_numpy(data["labels"][idx, : int(lengths.max())].astype(np.int64))
    return images, labels, lengths


def pixel_weights(boxes: np.ndarray, weight: float, height: int, width: int) -> torch.Tensor:
    """[B, H, W]: `weight` on pixels inside any digit box (boxes [B, L, 4]: left, top, width, height),
    1 elsewhere. Zero-size padding boxes cover nothing."""
    b = torch.from_numpy(boxes.astype(np.float32))
    x = torch.arange(width, dtype=torch.float32) + 0.5
    y = torch.arange(height, dtype=torch.float32) + 0.5
    l, t, w, h = (b[..., i, None] for i in range(4))                               # B, L, 1
    inside_x = (x >= l) & (x < l + w)                                               # B, L, W
    inside_y = (y >= t) & (y < t + h)                                               # B, L, H
    inside = (inside_y[..., :, None] & inside_x[..., None, :]).any(1)               # B, H, W
    return 1 + (weight - 1) * inside.float()


def load_guide(path: str) -> MultiDigitClassifier:
    guide, _ = load_reader(path)             # in eval mode: batch statistics of drawn images must not leak in
    if guide.arch != "multidigit":
        raise SeqdrawError(f"{path}: a guide must be a multidigit classifier, not {guide.arch}")
    guide.requires_grad_(False)
    return guide


def guide_loss(guide: MultiDigitClassifier, model: ConditionalDRAW, labels, lengths, noise,
               margin: float = 0.0, style_temperature: float = 1.0,
               pair_target: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Per drawn image: the guide's cross-entropy (length and digits) on a sample from the prior for
    its labels, less `margin` and floored at 0. Only the prior and the decoder learn from it (the
    classifier is frozen): it asks the generative path itself, not just the reconstructions, to draw
    the digits it was given.

    With pair_target (a distance per length, indexed by L), the first half of the labels is drawn
    twice instead, and each pair also returns relu(target - ||x_a - x_b||): the guide alone rewards
    the one style it reads best; this asks two samples of one string to differ (as diversity-
    sensitive and mode-seeking conditional GANs do; Yang et al. 2019, Mao et al. 2019).

    The drawn images [B, H, W] come back too, for the style match."""
    if pair_target is not None:
        half = len(labels) // 2
        labels, lengths = labels[:half].repeat(2, 1), lengths[:half].repeat(2)
    drawn = model.draw(labels, lengths, generator=noise, style_temperature=style_temperature).images
    padded = F.pad(labels, (0, MAX_LEN - labels.shape[1]), value=-1)
    ce = F.relu(guide.loss_per_image(drawn, padded, lengths) - margin)
    if pair_target is None:
        return ce, None, drawn
    a, b = drawn[:half].flatten(1), drawn[half:].flatten(1)
    distance = (a - b).pow(2).sum(1).add(1e-8).sqrt()
    return ce, F.relu(pair_target[lengths[:half]] - distance), drawn


def style_distance(drawn: torch.Tensor, real: torch.Tensor, pool: int, directions: int,
                   noise: torch.Generator) -> torch.Tensor:
    """Sliced Wasserstein distance (squared W2, summed over random directions) between drawn and
    real images [B, H, W] of one length, both at 1/pool resolution: a distance between the two sets'
    distributions of ground, polarity, contrast and layout. The guide rewards the one style it reads
    best; this asks the samples to spread over the styles real images have, which a set of blotches
    or of one style cannot do (Deshpande et al. 2018, sliced Wasserstein generative models). Sorting
    pairs the i-th smallest projection of each set, so the two sets must be the same size."""
    a = F.avg_pool2d(drawn[:, None], pool).flatten(1)
    b = F.avg_pool2d(real[:, None], pool).flatten(1)
    u = torch.randn(a.shape[1], directions, generator=noise, dtype=a.dtype, device=a.device)
    u = u / u.norm(dim=0, keepdim=True)
    pa, pb = (a @ u).sort(0).values, (b @ u).sort(0).values
    return (pa - pb).pow(2).mean(0).sum()


def real_pair_distance(data: dict, pairs: int = 2000, seed: int = 0) -> torch.Tensor:
    """Mean distance between two real images of the same length, per length (index L; 0 unused):
    the scale of style variation the diversity ratio of seqdraw evaluate compares against."""
    rng = np.random.default_rng(seed)
    out = torch.zeros(MAX_LEN + 1)
    for L in range(1, MAX_LEN + 1):
        pool = np.flatnonzero(data["lengths"] == L)
        if len(pool) >= 2:
            i, j = rng.choice(pool, pairs), rng.choice(pool, pairs)
            keep = i != j
            a, b = (data["images"][k[keep]].reshape(keep.sum(), -1).astype(np.float32) / 255 for k in (i, j))
            out[L] = float(np.sqrt(((a - b) ** 2).sum(1)).mean())
    return out


@torch.no_grad()
def validate(model, data: dict, config: TrainConfig) -> float:
    """Mean negative bound (nats per image) on held-out images, with fixed noise."""
    model.eval()
    n = min(config.val_size, len(data["images"]))
    keep = np.flatnonzero(data["lengths"][:n] <= config.max_len)
    device = model.h0_dec.device
    g = torch.Generator(device=device).manual_seed(12345)
    total = 0.0
    for L in range(1, config.max_len + 1):
        idx = keep[data["lengths"][keep] == L]
        for i in range(0, len(idx), 256):
            batch = (t.to(device) for t in to_tensors(data, idx[i: i + 256]))
            total += model(*batch, generator=g)["loss"].sum().item()
    model.train()
    return total / max(len(keep), 1)


@torch.no_grad()
def sample_grid(model, max_len: int, n: int = 8) -> np.ndarray:
    numbers = [s for s in SAMPLE_NUMBERS if len(s) <= max_len]
    labels, lengths = encode([s for s in numbers for _ in range(n)])
    model.eval()
    device = model.h0_dec.device
    images = model.generate(torch.from_numpy(labels).to(device), torch.from_numpy(lengths).to(device),
                            generator=torch.Generator(device=device).manual_seed(0)).images
    model.train()
    return grid((images.cpu().numpy() * 255 + 0.5).astype(np.uint8), cols=n)


# ---- the loop ----------------------------------------------------------------------------------------

class MetricsLog:
    def __init__(self, run: Path):
        self.path = run / "metrics.jsonl"
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run / "tb"))
        except ImportError:
            self.tb = None

    def write(self, step: int, **values):
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    p = min(1.0, (step - config.warmup_steps) / max(1, total - config.warmup_steps))
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


@dataclass
class Distributed:
    """This process's place in a torchrun job (world 1 when run plainly)."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "Distributed":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        import torch.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0")))

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            import torch.distributed as dist
            dist.all_reduce(t)
        return t


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The device a config names; a bare "cuda" means this rank's GPU."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SeqdrawError(f"device {name!r}: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SeqdrawError(f"device {name!r}: CUDA is not available on this machine")
        return torch.device("cuda", local_rank if device.index is None else device.index)
    if device.type != "cpu":
        raise SeqdrawError(f"device {name!r}: use cpu, cuda or cuda:N")
    return device


def train(config: TrainConfig, resume: bool = False, data: tuple[dict, dict] | None = None,
          stop_after: int | None = None, progress: bool = True) -> dict:
    """Train (or resume) the run in config.out and return a summary. Under torchrun every rank takes
    its share of each global batch and only rank 0 writes. `stop_after` abandons the run after that
    many steps without finishing, like a kill (for tests)."""
    ddp = Distributed.from_env()
    device = resolve_device(config.device, ddp.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    run = Path(config.out)
    if not resume and latest_checkpoint(run) is not None:
        raise SeqdrawError(f"{run} already holds a run: continue it with --resume {run}, or choose another --out")
    guide = load_guide(config.guide).to(device) if config.guide else None
    init_tensors, init_meta = load_weights(config.init) if config.init else ({}, {})
    # every classifier that ever guided these weights, so evaluation can refuse it as judge
    guides = list(init_meta.get("guides", [])) + ([weights_digest(guide.state_dict())] if guide else [])
    provenance = {"max_len": config.max_len, "guides": guides}
    if ddp.main:
        run.mkdir(parents=True, exist_ok=True)
        with atomic_path(run / "config.json") as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(config), indent=2) + "\n")
    progress = progress and ddp.main

    torch.manual_seed(config.seed)
    model = ConditionalDRAW(preset(config.preset, max_len=MAX_LEN, **config.model))
    if config.init and not resume:
        restore(config.init, model, init_tensors)
    model.to(device)
    if config.compile:
        model.compile()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    noise = torch.Generator(device=device).manual_seed(config.seed + 7919 * ddp.rank)
    state = {"step": 0, "stage": 0, "epoch": 0, "batch": 0, "best_val": None, "lr_scale": 1.0,
             "images_seen": 0, "skipped_steps": 0}
    if resume:
        ckpt = latest_checkpoint(run)
        if ckpt is None:
            raise SeqdrawError(f"{run}: no checkpoint to resume from")
        loaded, rng = load_checkpoint(ckpt, model, opt)
        state.update(loaded)
        if ddp.main:
            noise.set_state(rng["noise"])
        else:                                   # only rank 0's stream is saved; the others re-seed
            noise.manual_seed(config.seed + 7919 * ddp.rank + state["step"])
        if progress:
            print(f"resumed {ckpt} at step {state['step']} (stage {state['stage'] + 1}, epoch {state['epoch'] + 1})")
    net = model
    if ddp.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    train_data, val_data = data or load_data(config)
    # what these weights saw, so evaluation can refuse a judge trained on the same images and a
    # held-out figure for strings that were not held out
    trained = train_data["lengths"] <= config.max_len
    heldout_seen = int(heldout_mask(train_data["labels"][trained], train_data["lengths"][trained]).sum())
    provenance.update(trained_on=list(init_meta.get("trained_on", [])) + [fingerprint(train_data)],
                      heldout_seen=int(init_meta.get("heldout_seen", 0)) + heldout_seen)
    if heldout_seen and progress:
        print(f"warning: {heldout_seen} training images show held-out strings (seqdraw.data.heldout); "
              "seqdraw evaluate will refuse this model", file=sys.stderr)
    pair_target = (config.diversity_target * real_pair_distance(train_data)).to(device) if config.diversity_weight else None
    stages = config.stages()
    steps_per_epoch = [len(batch_plan(train_data["lengths"], st, config, s, 0)) for s, st in enumerate(stages)]
    total_steps = sum(steps_per_epoch) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    log = MetricsLog(run) if ddp.main else None
    t_start, val = time.time(), state["best_val"]
    consecutive_bad = 0

    def checkpoint():
        if ddp.main:
            save_checkpoint(run, model, opt, state, {"noise": noise.get_state()}, keep=config.keep,
                            extra={**provenance, "step": state["step"]})

    def end_of_epoch(s, e):
        nonlocal val
        if not ddp.main:
            return
        val = validate(model, val_data, config)
        log.write(state["step"], val_bound_nats=val, stage=s + 1, epoch=e + 1)
        if state["best_val"] is None or val < state["best_val"]:
            state["best_val"] = val
            save_model(run / "best" / "model.safetensors", model,
                       extra={**provenance, "val_bound_nats": val, "step": state["step"]})
        save_png(run / "samples" / f"stage{s + 1}-epoch{e + 1:03d}.png", sample_grid(model, config.max_len), scale=2)
        if progress:
            print(f"stage {s + 1} epoch {e + 1}: validation bound {val:.1f} nats/image "
                  f"({state['images_seen']} images seen, {time.time() - t_start:.0f} s)", file=sys.stderr)

    budget_left = lambda: not config.max_steps or state["step"] < config.max_steps  # noqa: E731
    while state["stage"] < len(stages) and budget_left():
        s, e = state["stage"], state["epoch"]
        plan = batch_plan(train_data["lengths"], stages[s], config, s, e)
        bar = tqdm(total=len(plan), initial=state["batch"], disable=not progress, leave=False,
                   desc=f"stage {s + 1}/{len(stages)} L={','.join(map(str, stages[s]))} epoch {e + 1}/{config.epochs}")
        t0, seen0 = time.time(), 0
        while state["batch"] < len(plan) and budget_left():
            if stop_after is not None and state["step"] >= stop_after:
                bar.close()
                return {"step": state["step"], "stopped": True}
            batch = plan[state["batch"]]
            idx = batch[ddp.rank:: ddp.world]
            images, labels, lengths = (t.to(device) for t in to_tensors(train_data, idx))
            weights = None
            if config.digit_weight != 1:
                weights = pixel_weights(train_data["boxes"][idx], config.digit_weight, *images.shape[1:]).to(device)
            lr = lr_at(state["step"], total_steps, config) * state["lr_scale"]
            for group in opt.param_groups:
                group["lr"] = lr
            out = net(images, labels, lengths, generator=noise, pixel_weights=weights)
            # sum over this rank's share / global batch; DDP averages gradients over ranks, so x world
            out["guide"], out["spread"], out["style"] = (torch.zeros(1, device=device) for _ in range(3))
            if guide is not None:
                ce, spread, drawn = guide_loss(guide, model, labels, lengths, noise, config.guide_margin,
                                               config.guide_style_temperature, pair_target)
                # per image of the batch, whatever the number drawn
                out["guide"] = ce * len(labels) / len(ce)
                if spread is not None:
                    out["spread"] = spread * len(labels) / len(spread)
                if config.style_match_weight:
                    n = min(len(drawn), len(images))
                    out["style"] = style_distance(drawn[:n], images[:n], config.style_match_pool,
                                                  config.style_match_directions, noise).expand(len(labels))
            objective = ((out["recon"] + config.kl_weight * out["kl"]).sum() + config.guide_weight * out["guide"].sum()
                         + config.diversity_weight * out["spread"].sum() + config.style_match_weight * out["style"].sum())
            loss = objective * ddp.world / len(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            sums = ddp.all_sum(torch.stack([out[k].detach().sum()
                                            for k in ("loss", "recon", "kl", "guide", "spread", "style")]))
            mean_loss, mean_recon, mean_kl, mean_guide, mean_spread, mean_style = (sums / len(batch)).tolist()
            shown = {"loss": mean_loss, "recon": mean_recon, "kl": mean_kl}
            if guide is not None:
                shown["guide"] = mean_guide          # the guide's cross-entropy on prior samples, nats
            if pair_target is not None:
                shown["spread"] = mean_spread        # how far pairs of samples fall short of the target
            if config.style_match_weight:
                shown["style"] = mean_style          # sliced Wasserstein distance, drawn to real
            if math.isfinite(mean_loss) and torch.isfinite(norm):
                opt.step()
                consecutive_bad = 0
            else:                                  # never train on garbage: skip, and back off if it repeats
                state["skipped_steps"] += 1
                consecutive_bad += 1
                if log:
                    log.write(state["step"], event="skipped non-finite step", loss=mean_loss, grad_norm=float(norm))
                if consecutive_bad >= 5:
                    state["lr_scale"] *= 0.5
                    consecutive_bad = 0
                    if log:
                        log.write(state["step"], event="lr backed off", lr_scale=state["lr_scale"])
            state["step"] += 1
            state["batch"] += 1
            state["images_seen"] += len(batch)
            seen0 += len(batch)
            rate = seen0 / max(time.time() - t0, 1e-9)
            bar.set_postfix({k: f"{v:.1f}" for k, v in shown.items()} | {"img_s": f"{rate:.0f}"})
            bar.update()
            if log and state["step"] % config.log_every == 0:
                log.write(state["step"], **shown, lr=lr, images_per_s=rate, stage=s + 1, epoch=e + 1)
            if state["step"] % config.checkpoint_every == 0:
                checkpoint()
        bar.close()
        end_of_epoch(s, e)
        if state["batch"] >= len(plan):
            state["batch"] = 0
            state["epoch"] += 1
            if state["epoch"] == config.epochs:
                state["epoch"] = 0
                state["stage"] += 1
        checkpoint()
    summary = {"step": state["step"], "images_seen": state["images_seen"], "seconds": round(time.time() - t_start, 1),
               "val_bound_nats": val, "best_val_bound_nats": state["best_val"], "skipped_steps": state["skipped_steps"]}
    if ddp.main:
        save_model(run / "final" / "model.safetensors", model,
                   extra={**provenance, "val_bound_nats": val, "step": state["step"]})
        with atomic_path(run / "summary.json") as tmp:
            tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary
