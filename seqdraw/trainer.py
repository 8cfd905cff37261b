"""Training: curriculum by length (section III-D), exact resume, progress, logs, sample grids.

The order of batches is a pure function of (seed, stage, epoch), and the z-noise comes from one
saved torch.Generator: a run stopped at any moment and resumed from its last checkpoint replays
exactly the batches and noise an uninterrupted run would have seen. Ctrl-C or SIGTERM saves a
checkpoint before the run stops.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from seqdraw.checkpoint import (clean_temporary_files, complete_checkpoints, latest_checkpoint, load_checkpoint,
                                save_checkpoint)
from seqdraw.model.likelihood import logistic_scale_from
from seqdraw.model.pretrained import check_provenance, load_weights, restore, save_model, weights_digest
from seqdraw.cores import allowed_cores, claim_cores, release_cores
from seqdraw.devices import resolve_device
from seqdraw.data.heldout import heldout_mask
from seqdraw.data.labels import encode
from seqdraw.data.shards import as_tensors, fingerprint, load_splits
from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path, check_output_folder, lock_folder, read_json
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.model.sampling import sample_by_length
from seqdraw.objectives import (Batch, Critics, digit_pixel_weights, discriminator_loss, test_bound,
                                total_loss, trained_critics)
from seqdraw.pictures import captioned, grid, save_curves, save_png
from seqdraw.readers import load_guide
from seqdraw.train_config import TrainConfig, flatten, merged

SAMPLE_NUMBERS = ("7", "42", "157", "2024", "31415")
VALIDATION_SEED = 12345
# what a resumed run may change: its budget and its bookkeeping, nothing that shapes the weights
RESUMABLE = ("epochs", "max_steps", "checkpoint_every", "keep", "log_every", "val_every", "threads", "compile", "device",
             "precision")


# ---- data ------------------------------------------------------------------------------------------

def load_data(config: TrainConfig) -> tuple[dict, dict]:
    if config.data.source == "synth":
        from seqdraw.data.synth import generate
        train = generate(config.data.synth_n, seed=config.run.seed, progress=True, exclude_heldout=True)
        test = generate(min(config.data.val_size * config.data.max_len, 100_000), seed=config.run.seed + 1_000_003)
        return train, test
    return load_splits(config.data.source)


def batch_plan(lengths: np.ndarray, stage: tuple[int, ...], config: TrainConfig, stage_i: int, epoch: int):
    """Index batches of one length each (T = kL costs only what the batch needs), in shuffled order."""
    rng = np.random.default_rng([config.run.seed, stage_i, epoch])
    batches = []
    for L in stage:
        idx = np.flatnonzero(lengths == L)
        rng.shuffle(idx)
        chunks = [idx[i: i + config.optimiser.batch_size] for i in range(0, len(idx), config.optimiser.batch_size)]
        batches.append((L, chunks))
    if config.curriculum.kind == "replay" and len(stage) > 1:
        newest = [c for L, c in batches if L == stage[-1]][0]
        older = [c for L, cs in batches if L != stage[-1] for c in cs]
        want = int(round(len(newest) * config.curriculum.replay / (1 - config.curriculum.replay)))
        keep = rng.permutation(len(older))[:want]
        plan = newest + [older[i] for i in keep]
    else:
        plan = [c for _, cs in batches for c in cs]
    order = rng.permutation(len(plan))
    return [plan[i] for i in order]


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < config.optimiser.warmup_steps:
        return config.optimiser.lr * (step + 1) / config.optimiser.warmup_steps
    p = min(1.0, (step - config.optimiser.warmup_steps) / max(1, total - config.optimiser.warmup_steps))
    return config.optimiser.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


@torch.no_grad()
def sample_grid(model, max_len: int, n: int = 8) -> np.ndarray:
    numbers = [s for s in SAMPLE_NUMBERS if len(s) <= max_len]
    labels, lengths = encode([s for s in numbers for _ in range(n)])
    model.eval()
    with model.eager():                 # compiling a graph per length would take minutes for 40 images
        images = sample_by_length(model, labels, lengths, torch.Generator(device=model.h0_dec.device).manual_seed(0))
    model.train()
    return captioned(grid((images * 255 + 0.5).astype(np.uint8), cols=n), numbers, model.config.height)


# ---- bookkeeping ------------------------------------------------------------------------------------

class MetricsLog:
    """metrics.jsonl, one JSON object per line; on resume the lines after the checkpoint are dropped,
    because the resumed run writes them again."""

    def __init__(self, run: Path, resumed_at: int | None = None):
        self.path = run / "metrics.jsonl"
        if resumed_at is not None and self.path.is_file():
            text = self.path.read_bytes().decode("utf-8", errors="replace")   # a damaged log is cut, not fatal
            kept = [line for line in text.splitlines(keepends=True)
                    if (step := self._step(line)) is not None and step <= resumed_at]
            with atomic_path(self.path) as tmp:
                tmp.write_text("".join(kept))
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run / "tb"))
        except ImportError:
            self.tb = None

    def rows(self) -> list[dict]:
        """The log's lines as dicts (a damaged line is skipped)."""
        out = []
        for line in self.path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(row, dict):
                out.append(row)
        return out

    @staticmethod
    def _step(line: str) -> int | None:
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError, RecursionError, OverflowError):
            return None

    def write(self, step: int, **values):
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps({"step": step, **values}) + "\n")
        except OSError as e:
            raise SeqdrawError(f"cannot write {self.path}: {e.strerror or e}") from None
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)


class Rate:
    """Images per second over the steps since the last log line, and for the bar over the last 20 steps:
    a rate from the epoch's start would count compiling and validation as training time."""

    def __init__(self):
        self.marks = [(time.perf_counter(), 0)]
        self.log_mark = self.marks[0]
        self.seen = 0

    def add(self, images: int) -> None:
        self.seen += images
        self.marks = (self.marks + [(time.perf_counter(), self.seen)])[-21:]

    def shown(self) -> str:
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return f"{(n1 - n0) / max(t1 - t0, 1e-9):.0f}" if len(self.marks) > 2 else "-"

    def since_last_log(self) -> float:
        (t0, n0), (t1, n1) = self.log_mark, self.marks[-1]
        self.log_mark = self.marks[-1]
        return round((n1 - n0) / max(t1 - t0, 1e-9), 1)


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
        text = os.environ.get("WORLD_SIZE", "1")
        try:
            world = int(text)
        except ValueError:
            world = 0
        if world < 1:
            raise SeqdrawError(f"WORLD_SIZE={text[:40]!r}: must be a positive integer (torchrun sets it)")
        if world == 1:
            return cls()
        missing = [k for k in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing:
            raise SeqdrawError(f"WORLD_SIZE={world} without {', '.join(missing)}: start several processes with "
                               "torchrun, which sets them all")
        import torch.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0")))

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            import torch.distributed as dist
            dist.all_reduce(t)
        return t


class StopRequest:
    """Ctrl-C and SIGTERM set a flag that the loop reads after each step, so the run stops at a step
    boundary with a checkpoint instead of in the middle of one."""

    def __init__(self):
        self.signal = None
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, sig, frame):
        self.signal = signal.Signals(sig).name

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# ---- the trainer -------------------------------------------------------------------------------------

class Trainer:
    """Train (or resume) the run in config.run.out. Under torchrun every rank takes its share of each global
    batch and only rank 0 writes. The guide that config.guide names is loaded here (seqdraw.readers.load_guide):
    a frozen reader with loss_per_image(images, labels, lengths)."""

    def __init__(self, config: TrainConfig, data: tuple[dict, dict] | None = None, progress: bool = True,
                 resume: bool = False, overwrite: bool = False):
        self.config, self.resume = config, resume
        self.guide = load_guide(config.objective.guide) if config.objective.guide else None
        self.ddp = Distributed.from_env()
        self.progress = progress and self.ddp.main
        self.run = Path(config.run.out)
        self.check_run_folder(overwrite)
        self.device = resolve_device(config.run.device, self.ddp.local_rank)
        self.data = data
        self.complete = self.finished_summary() if resume else None
        if self.complete is None:              # a finished run loads no data and builds nothing
            self.setup()

    def finished_summary(self) -> dict | None:
        """The summary of a run that already reached this config's budget (its final checkpoint is the
        one summary.json describes, and epochs and max_steps are unchanged), else None."""
        try:
            summary = json.loads((self.run / "summary.json").read_text())
            old = TrainConfig.from_dict(json.loads((self.run / "config.json").read_text()))
            ckpt = latest_checkpoint(self.run)
            same_budget = (old.curriculum.epochs, old.run.max_steps) == (self.config.curriculum.epochs,
                                                                          self.config.run.max_steps)
            if same_budget and ckpt is not None and int(ckpt.name[5:]) == summary["step"]:
                return summary
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, SeqdrawError):
            pass
        return None

    def check_run_folder(self, overwrite: bool) -> None:
        if self.ddp.main and self.run.is_dir():
            lock_folder(self.run, probe=True)      # another process trains here: refuse, naming it
        has_run = latest_checkpoint(self.run) is not None
        if self.resume:
            if not has_run:
                raise SeqdrawError(f"{self.run}: no checkpoint to resume from")
            return
        if has_run and not overwrite:
            raise SeqdrawError(f"{self.run} already holds a run: continue it with --resume {self.run}, "
                               "or pass --overwrite to replace it")
        if self.ddp.main:                      # the other ranks would race rank 0's first writes
            check_output_folder(self.run, overwrite)
            if overwrite and self.run.is_dir():
                shutil.rmtree(self.run)

    def setup(self) -> None:
        c, device = self.config, self.device
        if device.type == "cuda":
            torch.cuda.set_device(device)
        init_tensors, init_meta = load_weights(c.init) if c.init else ({}, {})
        check_provenance(c.init, init_meta)
        if self.guide is not None:
            self.guide = self.guide.to(device)
        # every reader that ever guided these weights, so evaluation can refuse it as judge
        self.guides = list(init_meta.get("guides", [])) + ([weights_digest(self.guide.state_dict())] if self.guide else [])
        self.init_meta = init_meta
        torch.manual_seed(c.run.seed)
        self.model = ConditionalDRAW(preset(c.preset, **c.model))
        if c.init and not self.resume:
            init_tensors = self.start_from(init_tensors)
        self.model.to(device)
        if c.run.compile:
            self.model.use_compiled(drawing=False)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=c.optimiser.lr)
        mc = self.model.config
        self.critics_trained = trained_critics(c.objective, mc.height, mc.width)
        if self.critics_trained and self.ddp.world > 1:
            raise SeqdrawError("adversarial_weight trains a discriminator in one process only: run without torchrun")
        for net, _ in self.critics_trained.values():
            net.to(device)
        self.adversary, self.adversary_opt = self.critics_trained.get("adversary", (None, None))
        self.noise = torch.Generator(device=device).manual_seed(c.run.seed + 7919 * self.ddp.rank)
        self.state = {"step": 0, "stage": 0, "epoch": 0, "batch": 0, "best_val": None, "lr_scale": 1.0,
                      "images_seen": 0, "skipped_steps": 0}
        self.net = self.model
        if self.ddp.world > 1:
            # Dynamo's DDP optimiser splits graphs at bucket boundaries, which our per-step graph (called
            # inside DDP's forward, not compiled around it) does not have: it fails on the step's scalars
            torch._dynamo.config.optimize_ddp = False
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.train_data, self.val_data = self.data or load_data(c)
        trained = self.train_data["lengths"] <= c.data.max_len
        if not trained.any():
            raise SeqdrawError(f"{c.data.source}: no training images of length 1..{c.data.max_len}")
        size, want = tuple(self.train_data["images"].shape[1:]), (self.model.config.height, self.model.config.width)
        if size != want:
            raise SeqdrawError(f"{c.data.source}: images are {size[0]}x{size[1]} but the model draws {want[0]}x{want[1]} "
                               "(model.height, model.width)")
        if not (self.val_data["lengths"] <= c.data.max_len).any():
            raise SeqdrawError(f"{c.data.source}: no validation (test) images of length 1..{c.data.max_len}: the bound could "
                               "not be measured")
        self.heldout_seen = int(heldout_mask(self.train_data["labels"][trained], self.train_data["lengths"][trained]).sum())
        self.stages = c.stages()
        per_epoch = [len(batch_plan(self.train_data["lengths"], st, c, s, 0)) for s, st in enumerate(self.stages)]
        self.total_steps = sum(per_epoch) * c.curriculum.epochs
        if c.run.max_steps:
            self.total_steps = min(self.total_steps, c.run.max_steps)
        self.fingerprint = fingerprint(self.train_data)
        self.val, self.consecutive_bad, self.log = None, 0, None
        if c.init and not self.resume and "log_scale" not in init_tensors and hasattr(self.model, "log_scale"):
            self.start_logistic_scale()

    def start_from(self, init_tensors: dict) -> dict:
        """--init's weights. A Bernoulli model fine-tuned under the logistic likelihood: its scale is the
        one new weight; a scale held fixed (model.logistic_scale) replaces any the init learned."""
        if self.model.config.logistic_scale:
            init_tensors = {k: v for k, v in init_tensors.items() if k != "log_scale"}
        restore(self.config.init, self.model, init_tensors, fresh=("log_scale",))
        return init_tensors

    def start_logistic_scale(self) -> None:
        """A model that learned under eq. 10 has no logistic scale. Adam moves a weight by about lr a step,
        so from its default (0.1) the scale would need thousands of steps to reach the width of the
        model's own errors: it starts there instead, measured on up to 64 validation images per length."""
        residuals, noise = [], torch.Generator(device=self.device).manual_seed(self.config.run.seed)
        with torch.no_grad(), self.model.eager():
            for L in range(1, self.config.data.max_len + 1):
                rows = np.flatnonzero(self.val_data["lengths"] == L)[:64]
                if len(rows):
                    images, labels, lengths = (t.to(self.device) for t in as_tensors(self.val_data, rows))
                    canvas = self.model(images, labels[:, :L], lengths, generator=noise)["logits"]
                    residuals.append((images - torch.sigmoid(canvas.float())).flatten())
        scale = logistic_scale_from(torch.cat(residuals))
        self.model.log_scale.data.fill_(math.log(scale))
        if self.ddp.rank == 0:
            print(f"the logistic's scale starts at {scale:.4f}, the width of {self.config.init}'s own errors",
                  file=sys.stderr)

    def provenance(self) -> dict:
        """What these weights saw, so that evaluation can refuse a judge trained on the same images and a
        held-out figure for strings that were not held out."""
        return {"max_len": self.config.data.max_len, "guides": self.guides,
                "trained_on": list(self.init_meta.get("trained_on", [])) + [self.fingerprint],
                "heldout_seen": int(self.init_meta.get("heldout_seen", 0)) + self.heldout_seen, "step": self.state["step"]}

    # ---- saving and loading --------------------------------------------------------------------
    def save(self) -> None:
        if self.ddp.main:
            save_checkpoint(self.run, self.model, self.opt, self.state, {"noise": self.noise.get_state()},
                            keep=self.config.run.keep, extra=self.provenance(), parts=self.parts())

    def parts(self) -> dict:
        """What trains beside the model and must be checkpointed with it (objectives.trained_critics)."""
        return self.critics_trained

    def load(self) -> None:
        """Restore the newest intact checkpoint: a damaged one is named in one line and the next older
        one is tried."""
        newest = latest_checkpoint(self.run)
        candidates = [newest] + [p for p in reversed(complete_checkpoints(self.run)) if p != newest]
        reasons = []
        for ckpt in candidates:
            try:
                loaded, rng = load_checkpoint(ckpt, self.model, self.opt, self.parts())
                break
            except SeqdrawError as e:
                reasons.append(str(e))
                if ckpt != candidates[-1]:
                    print(f"warning: {e}; falling back to an older checkpoint", file=sys.stderr)
        else:
            raise SeqdrawError(f"{self.run}: no intact checkpoint to resume from ({len(candidates)} tried; the "
                               f"newest: {reasons[0]})")
        self.state.update(loaded)
        if self.ddp.main:
            self.noise.set_state(rng["noise"])
        else:                                   # only rank 0's stream is saved; the others re-seed
            self.noise.manual_seed(self.config.run.seed + 7919 * self.ddp.rank + self.state["step"])
        if self.state["stage"] >= len(self.stages) and self.config.curriculum.epochs > self.state.get("epochs", self.config.curriculum.epochs):
            # a larger --epochs on a finished run: more epochs of the last stage
            self.state.update(stage=len(self.stages) - 1, epoch=self.state["epochs"], batch=0)
        if self.progress:
            print(f"resumed {ckpt} at step {self.state['step']} (stage {self.state['stage'] + 1}, "
                  f"epoch {self.state['epoch'] + 1})", file=sys.stderr)

    # ---- one step ------------------------------------------------------------------------------
    def step(self, batch: np.ndarray) -> dict[str, float]:
        """One optimiser step on a global batch (this rank's share of it); returns the logged means."""
        c, device = self.config, self.device
        idx = batch[self.ddp.rank:: self.ddp.world]
        images, labels, lengths = (t.to(device) for t in as_tensors(self.train_data, idx))
        labels = labels[:, : int(lengths.max())]
        pixel_weights = None
        if c.objective.digit_weight != 1:
            pixel_weights = digit_pixel_weights(self.train_data["boxes"][idx], c.objective.digit_weight,
                                                *images.shape[1:]).to(device)
        lr = lr_at(self.state["step"], self.total_steps, c) * self.state["lr_scale"]
        for group in self.opt.param_groups:
            group["lr"] = lr
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=c.run.precision == "bf16"):
            critics = Critics(self.guide.loss_per_image if self.guide else None, self.adversary)
            result = total_loss(self.net, Batch(images, labels, lengths, pixel_weights), c.objective, critics,
                                self.noise, drawer=self.model)
        objective, terms = result.total.float(), {k: v.float() for k, v in result.terms.items()}
        # sum over this rank's share / global batch; DDP averages gradients over ranks, so x world
        self.opt.zero_grad(set_to_none=True)
        (objective * self.ddp.world / len(batch)).backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.optimiser.grad_clip)
        sums = self.ddp.all_sum(torch.stack([v.detach().sum() for v in terms.values()]))
        shown = dict(zip(terms, (sums / len(batch)).tolist()))
        if math.isfinite(shown["loss"]) and torch.isfinite(norm):
            self.opt.step()
            self.consecutive_bad = 0
            if self.adversary is not None:
                shown["discriminator"] = self.adversary_step(images, result.drawn)
        else:
            self.skip_step(shown["loss"], float(norm))
        self.state["step"] += 1
        self.state["batch"] += 1
        self.state["images_seen"] += len(batch)
        return {**shown, "lr": lr}

    def adversary_step(self, images: torch.Tensor, drawn: torch.Tensor) -> float:
        """One step of the discriminator, real images against the detached prior samples the generator was
        just judged on; the generator's weights take no step here."""
        self.adversary_opt.zero_grad(set_to_none=True)         # drop what the generator's backward left
        loss = discriminator_loss(self.adversary, images, drawn.float()).mean()
        loss.backward()
        self.adversary_opt.step()
        return loss.item()

    def skip_step(self, loss: float, norm: float) -> None:
        """Never train on garbage: skip a non-finite step, and halve the learning rate if it repeats."""
        self.state["skipped_steps"] += 1
        self.consecutive_bad += 1
        if self.log:
            self.log.write(self.state["step"], event="skipped non-finite step", loss=loss, grad_norm=norm)
        if self.consecutive_bad >= 5:
            self.state["lr_scale"] *= 0.5
            self.consecutive_bad = 0
            if self.log:
                self.log.write(self.state["step"], event="lr backed off", lr_scale=self.state["lr_scale"])

    # ---- validation ----------------------------------------------------------------------------
    def validate(self) -> float:
        """Mean negative bound (nats per image) on the validation images, with fixed noise."""
        with self.model.eager():
            return test_bound(self.model, self.val_data, self.config.data.max_len, self.config.data.val_size,
                              VALIDATION_SEED)["all"]

    def validate_and_show(self, s: int, e: int, seconds: float) -> None:
        """Validation, `best/` when it improves, and a sample grid (rank 0 only)."""
        if not self.ddp.main:
            return
        self.val = self.validate()
        self.log.write(self.state["step"], val_bound_nats=self.val, images_seen=self.state["images_seen"],
                       wall_s=round(seconds, 1), stage=s + 1, epoch=e + 1)
        if self.state["best_val"] is None or self.val < self.state["best_val"]:
            self.state["best_val"] = self.val
            save_model(self.run / "best" / "model.safetensors", self.model,
                       extra={**self.provenance(), "val_bound_nats": self.val})
        save_png(self.run / "samples" / f"stage{s + 1}-epoch{e + 1:03d}-step{self.state['step']:07d}.png",
                 sample_grid(self.model, self.config.data.max_len), scale=2)
        save_curves(self.run / "curves.png", self.log.rows())
        if self.progress:
            print(f"stage {s + 1} epoch {e + 1} step {self.state['step']}: validation bound {self.val:.1f} nats/image "
                  f"({self.state['images_seen']} images seen, {seconds:.0f} s)", file=sys.stderr)

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self, stop_after: int | None = None) -> dict:
        """Run every stage and epoch (or up to max_steps) and return a summary. `stop_after` abandons the
        run after that many steps without saving, like a kill (for tests)."""
        if self.complete is not None:
            return {**self.complete, "already_complete": True}
        created = not self.run.exists()
        self.claim_threads()                    # may refuse a --threads value: before anything is written
        try:
            lock = self.lock_run()              # a second run into this folder is refused here, and leaves
        except BaseException:                   # the folder to the run that holds it
            release_cores()
            raise
        try:
            return self._fit(stop_after)
        except BaseException:
            if created and self.ddp.main and latest_checkpoint(self.run) is None:
                shutil.rmtree(self.run, ignore_errors=True)       # a run that never saved leaves nothing
            raise
        finally:
            release_cores()
            if lock is not None:
                lock.close()

    def claim_threads(self) -> None:
        """On the CPU: one thread per core this run claims (seqdraw/cores.py)."""
        if self.device.type != "cpu":
            return
        threads = self.config.run.threads
        if not threads and self.ddp.world > 1:   # the ranks on this machine share its free cores
            local = int(os.environ.get("LOCAL_WORLD_SIZE", self.ddp.world))
            threads = max(1, len(allowed_cores()) // max(local, 1))
        threads, cores, warning = claim_cores(threads)
        if self.progress:
            print(f"{threads} thread(s) on core(s) {','.join(map(str, cores)) or '(shared)'}", file=sys.stderr)
            if warning:
                print(f"warning: {warning}", file=sys.stderr)

    def lock_run(self):
        if not self.ddp.main:
            return None
        try:
            self.run.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SeqdrawError(f"cannot create {self.run}: {e.strerror or e}") from None
        return lock_folder(self.run)

    def _fit(self, stop_after: int | None) -> dict:
        c, st = self.config, self.state
        if self.ddp.main:
            self.run.mkdir(parents=True, exist_ok=True)
            clean_temporary_files(self.run)
        if self.resume:
            self.load()                      # before config.json changes: a refused resume changes nothing
        if self.ddp.main:
            with atomic_path(self.run / "config.json") as tmp:      # on resume: with the new budget
                tmp.write_text(json.dumps(dataclasses.asdict(c), indent=2) + "\n")
        st["epochs"] = c.curriculum.epochs
        self.log = MetricsLog(self.run, st["step"] if self.resume else None) if self.ddp.main else None
        self.val = st["best_val"]
        if self.progress and not self.resume and self.heldout_seen:
            print(f"warning: {self.heldout_seen} training images show held-out strings (seqdraw.data.heldout); "
                  "seqdraw evaluate will refuse this model", file=sys.stderr)
        t_start = time.time()
        with StopRequest() as stop:
            while st["stage"] < len(self.stages) and self.budget_left():
                early = self.epoch(stop, stop_after, t_start)
                if early is not None:
                    return early
        summary = self.summary(t_start)
        if self.ddp.main:
            save_model(self.run / "final" / "model.safetensors", self.model,
                       extra={**self.provenance(), "val_bound_nats": self.val})
            with atomic_path(self.run / "summary.json") as tmp:
                tmp.write_text(json.dumps(summary, indent=2) + "\n")
            clean_temporary_files(self.run)
        return summary

    def budget_left(self) -> bool:
        return not self.config.run.max_steps or self.state["step"] < self.config.run.max_steps

    def epoch(self, stop: StopRequest, stop_after: int | None, t_start: float) -> dict | None:
        """The rest of the current epoch of the current stage, then validation and a checkpoint. Returns a
        summary when the run must end early (a signal, or `stop_after`), else None."""
        c, st = self.config, self.state
        s, e = st["stage"], st["epoch"]
        plan = batch_plan(self.train_data["lengths"], self.stages[s], c, s, e)
        bar = tqdm(total=len(plan), initial=st["batch"], disable=not self.progress, leave=False,
                   desc=f"stage {s + 1}/{len(self.stages)} L={','.join(map(str, self.stages[s]))} epoch {e + 1}/{c.curriculum.epochs}")
        rate = Rate()
        while st["batch"] < len(plan) and self.budget_left():
            if stop_after is not None and st["step"] >= stop_after:
                bar.close()
                return {"step": st["step"], "stopped": True}
            batch = plan[st["batch"]]
            shown = self.step(batch)
            rate.add(len(batch))
            bar.set_postfix({k: f"{v:.1f}" for k, v in shown.items() if k != "lr"} | {"img_s": rate.shown()})
            bar.update()
            if self.log and st["step"] % c.run.log_every == 0:
                self.log.write(st["step"], **shown, images_per_s=rate.since_last_log(), images_seen=st["images_seen"],
                               wall_s=round(time.time() - t_start, 1), stage=s + 1, epoch=e + 1)
            if c.run.val_every and st["step"] % c.run.val_every == 0 and st["batch"] < len(plan):
                self.validate_and_show(s, e, time.time() - t_start)
            if stop.signal:
                bar.close()
                self.save()
                return {**self.summary(t_start), "interrupted": stop.signal}
            if st["step"] % c.run.checkpoint_every == 0 and st["batch"] < len(plan):
                self.save()                  # the epoch's last step is saved below, once
        bar.close()
        self.validate_and_show(s, e, time.time() - t_start)
        if st["batch"] >= len(plan):
            st["batch"] = 0
            st["epoch"] += 1
            if st["epoch"] == c.curriculum.epochs:
                st.update(epoch=0, stage=st["stage"] + 1)
        self.save()
        return None

    def summary(self, t_start: float) -> dict:
        st = self.state
        finite = lambda v: v if v is not None and math.isfinite(v) else None  # noqa: E731  (strict JSON: no NaN)
        return {"step": st["step"], "images_seen": st["images_seen"], "seconds": round(time.time() - t_start, 1),
                "val_bound_nats": finite(self.val), "best_val_bound_nats": finite(st["best_val"]),
                "skipped_steps": st["skipped_steps"]}


def train(config: TrainConfig, resume: bool = False, data: tuple[dict, dict] | None = None,
          stop_after: int | None = None, progress: bool = True, overwrite: bool = False) -> dict:
    """Trainer(...).fit(): what the CLI, the table and the tests call."""
    return Trainer(config, data, progress, resume, overwrite).fit(stop_after)


def resume_config(run: str, changes: dict) -> TrainConfig:
    """The config a run was started with (its config.json), with a new budget or bookkeeping: a larger
    epochs or max_steps continues a finished run. Changing anything that shapes the weights is refused."""
    path = Path(run) / "config.json"
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file (is {run} a seqdraw run folder?)")
    values = read_json(path, "run config")
    if not isinstance(values, dict):
        raise SeqdrawError(f"{path}: corrupt (not a JSON object)")
    started = TrainConfig.from_dict(values, what=str(path)).flat()
    refused = sorted(k for k, v in flatten(changes, "changes").items() if k not in RESUMABLE and started.get(k) != v)
    if refused:
        raise SeqdrawError(f"cannot change {', '.join(refused)} when resuming (only {', '.join(RESUMABLE)}): "
                           "start a new run, with --init to begin from these weights")
    return TrainConfig.from_dict(merged(values, {**changes, "out": str(run)}, str(path)), what=str(path))
