"""Which torch device a command runs on: `--device cpu | cuda | cuda:N` for training, drawing and
evaluation alike, checked before any work."""
from __future__ import annotations

import torch

from seqdraw.errors import SeqdrawError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The device a flag names; a bare "cuda" means this rank's GPU (torchrun's LOCAL_RANK, else 0)."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise SeqdrawError(f"device {str(name)[:40]!r}: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SeqdrawError(f"device {name!r}: CUDA is not available on this machine")
        index = local_rank if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise SeqdrawError(f"device {name!r}: this machine has {torch.cuda.device_count()} GPU(s)")
        return torch.device("cuda", index)
    if device.type != "cpu":
        raise SeqdrawError(f"device {name!r}: use cpu, cuda or cuda:N")
    return device
