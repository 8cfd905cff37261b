"""Checkpoints that survive anything: safetensors tensors + JSON, written atomically, never pickled.

A checkpoint is a folder  runs/NAME/ckpt-00001200/  holding
  model.safetensors   the weights, with the model config in the safetensors metadata
  state.safetensors   optimiser moments and RNG states (tensors)
  state.json          step, epoch, curriculum stage, optimiser hyper-parameters, metrics
  checksums.json      sha256 of the three, written last; resume checks them and falls back to an
                      older checkpoint when the newest is damaged
It is written to a temporary folder and renamed into place, and `latest.json` (rewritten atomically)
names the newest complete one. A folder of the same name is moved aside before the new one goes in
and deleted after, and a stale or corrupt `latest.json` falls back to the newest complete folder: a
kill -9 at any moment leaves a checkpoint that `--resume` finds.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path, output_folder
from seqdraw.model.pretrained import load_model, save_model, write_safetensors

CHECKPOINT_FILES = ("model.safetensors", "state.safetensors", "state.json")
CHECKSUMS = "checksums.json"          # sha256 of each file; checkpoints before 2026-12-07 have none
# the trainer's state.json scalars: (types, lowest)
STATE_FIELDS = {"step": (int, 0), "stage": (int, 0), "epoch": (int, 0), "batch": (int, 0), "images_seen": (int, 0),
                "skipped_steps": (int, 0), "lr_scale": ((int, float), 0)}


def _optimizer_tensors(opt: torch.optim.Optimizer, prefix: str = "opt") -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors = {f"{prefix}.{i}.{k}": v.cpu() for i, s in sd["state"].items() for k, v in s.items() if torch.is_tensor(v)}
    return tensors, {"param_groups": sd["param_groups"], "state_keys": {str(i): list(s) for i, s in sd["state"].items()}}


def save_checkpoint(run: Path, model, opt, state: dict, rng: dict[str, torch.Tensor], keep: int = 3,
                    extra: dict | None = None, parts: dict | None = None) -> Path:
    """parts: {name: (module, optimiser)} trained beside the model (a discriminator), kept in
    state.safetensors only: they are training state, not part of the model file."""
    run = Path(run)
    final = run / f"ckpt-{state['step']:08d}"
    # written beside the run's checkpoints as .ckpt-*, then put in place; the same step saved again
    # replaces the old folder only once the new one is complete (files.output_folder)
    with output_folder(final, overwrite=True) as tmp:
        save_model(tmp / "model.safetensors", model, extra)
        opt_tensors, opt_meta = _optimizer_tensors(opt)
        tensors = {**opt_tensors, **{f"rng.{k}": v for k, v in rng.items()}}
        metas = {"optimizer": opt_meta}
        for name, (module, part_opt) in (parts or {}).items():
            part_tensors, metas[f"{name}.optimizer"] = _optimizer_tensors(part_opt, f"{name}.opt")
            tensors.update(part_tensors)
            tensors.update({f"{name}.weights.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
        write_safetensors(tensors, tmp / "state.safetensors")
        (tmp / "state.json").write_text(json.dumps({**state, **metas}, indent=1))
        # last: what the files held when they were whole, so that damage later is found on resume
        (tmp / CHECKSUMS).write_text(json.dumps({f: file_sha256(tmp / f) for f in CHECKPOINT_FILES}, indent=1))
    with atomic_path(run / "latest.json") as t:
        t.write_text(json.dumps({"checkpoint": final.name, "step": state["step"]}))
    for old in complete_checkpoints(run)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def complete_checkpoints(run: Path) -> list[Path]:
    """The checkpoint folders that hold every file, oldest first."""
    return sorted(p for p in Path(run).glob("ckpt-*") if all((p / f).is_file() for f in CHECKPOINT_FILES))


def latest_checkpoint(run: Path) -> Path | None:
    """The checkpoint `latest.json` names, or the newest complete one when that is missing, stale
    (a kill between two renames) or corrupt; None when the run has none."""
    run = Path(run)
    try:
        name = json.loads((run / "latest.json").read_text())["checkpoint"]
        named = run / str(name)
        if named.parent == run and named.name.startswith("ckpt-") and named in complete_checkpoints(run):
            return named
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    complete = complete_checkpoints(run)
    return complete[-1] if complete else None


def clean_temporary_files(run: Path) -> None:
    """Remove what an interrupted write leaves behind in a run folder: .ckpt-* folders (new checkpoints
    and old ones moved aside) and .NAME.*.tmp files of atomic writes."""
    run = Path(run)
    for folder in (run, run / "best", run / "final", run / "samples"):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name.startswith(".ckpt-") and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file():
                p.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_checkpoint(ckpt: Path) -> None:
    """Every file still matches the checksum written with it (a checkpoint without checksums, from before
    they were written, passes)."""
    path = Path(ckpt) / CHECKSUMS
    if not path.is_file():
        return
    try:
        sums = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        raise SeqdrawError(f"{ckpt}: {CHECKSUMS} is corrupt") from None
    if not isinstance(sums, dict):
        raise SeqdrawError(f"{ckpt}: {CHECKSUMS} is corrupt")
    for name in CHECKPOINT_FILES:
        if sums.get(name) != file_sha256(Path(ckpt) / name):
            raise SeqdrawError(f"{ckpt}: {name} does not match its checksum (damaged after it was written)")


def check_state(ckpt: Path, state, rng: dict) -> None:
    """state.json holds the trainer's counters with their types, and the noise generator's state is there."""
    if not isinstance(state, dict):
        raise SeqdrawError(f"{ckpt}: state.json is not a JSON object")
    for key, (types, lo) in STATE_FIELDS.items():
        v = state.get(key)
        if isinstance(v, bool) or not isinstance(v, types) or v < lo or v != v:
            raise SeqdrawError(f"{ckpt}: state.json {key} is {str(v)[:40]!r}, not a number >= {lo}")
    best = state.get("best_val")
    if best is not None and (isinstance(best, bool) or not isinstance(best, (int, float))):
        raise SeqdrawError(f"{ckpt}: state.json best_val is {str(best)[:40]!r}")
    noise = rng.get("noise")
    if noise is None or noise.dtype != torch.uint8 or noise.dim() != 1:
        raise SeqdrawError(f"{ckpt}: the noise generator's state is missing or mistyped")


def load_checkpoint(ckpt: Path, model, opt, parts: dict | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """Restore model, optimiser and the parts trained beside them in place; returns (trainer state, RNG
    states). A damaged checkpoint is a SeqdrawError, raised before anything is restored."""
    ckpt = Path(ckpt)
    verify_checkpoint(ckpt)
    try:
        state = json.loads((ckpt / "state.json").read_text())
        tensors = load_file(str(ckpt / "state.safetensors"))
    except (OSError, ValueError, SafetensorError, RecursionError) as e:
        raise SeqdrawError(f"{ckpt}: corrupt or incomplete training state ({str(e)[:80]})") from None
    check_state(ckpt, state, {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")})
    if not isinstance(state.get("optimizer"), dict):
        raise SeqdrawError(f"{ckpt}: state.json holds no optimiser state")
    loaded, _ = load_model(ckpt / "model.safetensors")
    if loaded.config != model.config:
        raise SeqdrawError(f"{ckpt}: checkpoint model config differs from the run's config")
    model.load_state_dict(loaded.state_dict())
    _restore_optimizer(ckpt, opt, tensors, state.pop("optimizer"), "opt")
    for name, (module, part_opt) in (parts or {}).items():
        if f"{name}.optimizer" not in state:
            raise SeqdrawError(f"{ckpt}: holds no {name} state (was the run started without it?)")
        weights = {k[len(name) + 9:]: v for k, v in tensors.items() if k.startswith(f"{name}.weights.")}
        try:
            module.load_state_dict(weights)
        except RuntimeError as e:
            raise SeqdrawError(f"{ckpt}: {name} weights do not match ({str(e).splitlines()[0]})") from None
        _restore_optimizer(ckpt, part_opt, tensors, state.pop(f"{name}.optimizer"), f"{name}.opt")
    rng = {k[4:]: v for k, v in tensors.items() if k.startswith("rng.")}
    return {k: v for k, v in state.items() if not k.endswith(".optimizer")}, rng


def _restore_optimizer(ckpt: Path, opt, tensors: dict, meta: dict, prefix: str) -> None:
    try:
        opt_state = {int(i): {k: tensors[f"{prefix}.{i}.{k}"] for k in keys} for i, keys in meta["state_keys"].items()}
        opt.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError, TypeError) as e:
        raise SeqdrawError(f"{ckpt}: optimiser state does not match the model ({e})") from None
