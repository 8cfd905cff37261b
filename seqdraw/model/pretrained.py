"""Model files: a network's weights as safetensors, its config and provenance in the file's JSON
metadata, read without executing code (`ConditionalDRAW.from_pretrained` / `save_pretrained` are these
functions). Readers' files use the same helpers. Training state (optimiser, noise, step) is
seqdraw/checkpoint.py's.
"""
from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from seqdraw.data.labels import MAX_LEN
from seqdraw.errors import SeqdrawError
from seqdraw.files import atomic_path
from seqdraw.model.config import ModelConfig
from seqdraw.model.draw import ConditionalDRAW
from seqdraw.settings import metadata_value

DEFAULT_MODEL = "seqdraw.safetensors"     # shipped inside the package, in seqdraw/weights/
# models shipped beside the default, by the name --model takes (docs/model-card.md)
SHIPPED_MODELS = {"recipe": DEFAULT_MODEL, "paper": "paper.safetensors"}

# scalars a model file's metadata may carry: (type, lowest, highest)
MODEL_METADATA = {"max_len": (int, 1, MAX_LEN), "temperature": (float, 0, 100),
                  "style_temperature": (float, 0, 100), "heldout_seen": (int, 0, None), "step": (int, 0, None)}


def save_weights(path, module: torch.nn.Module, metadata: dict) -> None:
    """A module's state dict as safetensors, with JSON-encoded metadata, written atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        write_safetensors(tensors, tmp, metadata={k: json.dumps(v) for k, v in metadata.items()})


def write_safetensors(tensors: dict, path, metadata: dict | None = None) -> None:
    """safetensors' save_file, with its I/O errors (a full disk) as the OSError they are."""
    try:
        save_file(tensors, str(path), metadata=metadata)
    except SafetensorError as e:
        raise OSError(f"cannot write {path}: {e}") from None


def load_weights(path, what: str = "model") -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) from a safetensors file; a folder means its model.safetensors."""
    path = Path(path)
    folder = path if path.is_dir() else None
    if folder is not None:
        path = path / "model.safetensors"
    if not path.is_file():
        inside = [f"{folder / d}" for d in ("final", "best") if folder and (folder / d / "model.safetensors").is_file()]
        hint = f" (a run folder: give {' or '.join(inside)})" if inside else ""
        raise SeqdrawError(f"{str(path)[:200]}: no such {what} file{hint}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        meta = {k: json.loads(v) for k, v in meta.items()}
    except (SafetensorError, OSError, ValueError, RuntimeError, RecursionError) as e:
        raise SeqdrawError(f"{path}: not a readable safetensors {what} ({e})") from None
    return tensors, meta


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of a state dict's names and values: which weights these are, whatever file or metadata
    they came in."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def restore(path, module: torch.nn.Module, tensors: dict, fresh: tuple[str, ...] = ()) -> None:
    """Load `tensors` into `module`; weights that are not floating point, or not finite, are refused:
    an integer tensor would be cast without a word, and a NaN draws garbage with exit 0. Names in
    `fresh` may be missing from `tensors` and then keep the module's own initial values."""
    expected = module.state_dict()
    tensors = {**{name: expected[name] for name in fresh if name in expected and name not in tensors}, **tensors}
    for name, t in tensors.items():
        want = expected.get(name)
        if want is None or not want.is_floating_point():
            continue                          # unknown names are load_state_dict's to refuse; counters stay ints
        if not t.is_floating_point():
            raise SeqdrawError(f"{path}: weight {name} is {t.dtype}, not floating point")
        if not bool(torch.isfinite(t).all()):
            raise SeqdrawError(f"{path}: weight {name} holds NaN or infinite values")
    try:
        module.load_state_dict(tensors)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise SeqdrawError(f"{path}: weights do not match the config ({first})") from None


def save_model(path, model: ConditionalDRAW, extra: dict | None = None) -> None:
    save_weights(path, model, {"model_config": model.config.to_dict(), **(extra or {})})


def check_provenance(path, meta: dict) -> None:
    """What a model file says it saw: `guides` and `trained_on` are lists of digests, `heldout_seen` a count."""
    for key in ("guides", "trained_on"):
        if key in meta and not (isinstance(meta[key], list) and all(isinstance(v, str) for v in meta[key])):
            raise SeqdrawError(f"{path}: bad metadata {key}={str(meta[key])[:60]} (a list of strings)")
    if "heldout_seen" in meta:
        metadata_value(path, meta, "heldout_seen", int, None, 0, None)


def load_model(path) -> tuple[ConditionalDRAW, dict]:
    """Build the model from a .safetensors file (config in its metadata); loading executes no code.
    Returns the model and the file's other metadata (e.g. max_len trained, validation bound)."""
    tensors, meta = load_weights(path)
    if "model_config" not in meta:
        raise SeqdrawError(f"{path}: no model config in the file's metadata (not a seqdraw model)")
    config = meta.pop("model_config")
    try:
        config = ModelConfig.from_dict(config)
    except (SeqdrawError, TypeError) as e:
        raise SeqdrawError(f"{path}: bad metadata model_config ({e})") from None
    for key, (t, lo, hi) in MODEL_METADATA.items():
        if key in meta:
            meta[key] = metadata_value(path, meta, key, t, None, lo, hi)
    check_provenance(path, meta)
    model = ConditionalDRAW(config)
    restore(path, model, tensors)
    return model, meta


def save_pretrained(model: ConditionalDRAW, path, metadata: dict, overwrite: bool = False) -> Path:
    """ConditionalDRAW.save_pretrained: a folder (existing, or named without .safetensors) gets
    model.safetensors. Nothing a user has is replaced without overwrite."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".safetensors":
        path = path / "model.safetensors"
    if path.exists() and not overwrite:
        raise SeqdrawError(f"{path} exists: pass overwrite=True to replace it")
    if path.exists() and not path.is_file():
        raise SeqdrawError(f"{path} is not a regular file")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(path, model, metadata)
    return path


def default_model_path(name: str = "recipe") -> Path:
    return Path(str(resources.files("seqdraw") / "weights" / SHIPPED_MODELS[name]))


def model_path(path: str | Path | None) -> Path:
    """What --model names: a file or run folder, or (when no such path exists) a shipped model by name
    (`recipe`, the default; `paper`, the paper's own objective and network), or None for the default."""
    if path is None or (str(path) in SHIPPED_MODELS and not Path(path).exists()):
        name = "recipe" if path is None else str(path)
        shipped = default_model_path(name)
        if not shipped.exists():
            raise SeqdrawError(f"this install has no shipped {name} model: train one (seqdraw train) and pass "
                               "--model RUN/final")
        return shipped
    return Path(path)
