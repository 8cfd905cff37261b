"""CPU cores for a job: one thread per core, never two jobs' threads on one core.

Two processes that each run two OpenMP threads on a 2-core machine slow each other several times
over: a thread that waits for its partner on a busy core spins (docs/performance.md). So each seqdraw
job claims whole cores. A claim is an exclusive `flock` on a file per core in a folder every seqdraw
process on the machine shares; the kernel drops it when the process ends, however it ends, so a
crashed job never leaves a stale claim. The job then pins itself to the cores it holds.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from seqdraw.errors import SeqdrawError
from seqdraw.files import try_flock

_held: list = []                 # (core, open file) whose locks this process holds: alive as long as it is
_affinity: list[set[int]] = []   # the affinity before the first claim, restored on release


def claim_folder() -> Path:
    """Where the per-core lock files live (SEQDRAW_CORES_DIR overrides, for tests)."""
    return Path(os.environ.get("SEQDRAW_CORES_DIR") or Path(tempfile.gettempdir()) / "seqdraw-cores")


def allowed_cores() -> list[int]:
    """The cores this process may run on (its CPU affinity: taskset and cgroups narrow it)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:                       # macOS, Windows: no affinity, every core
        return list(range(os.cpu_count() or 1))


def _try_lock(core: int):
    folder = claim_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return try_flock(folder / f"cpu{core}.lock")[0]
    except OSError:
        return None


def claim_cores(threads: int = 0) -> tuple[int, list[int], str | None]:
    """Claim `threads` free cores (0: every free one) and run torch on them.

    Returns (threads, cores claimed, a warning or None). With no free core at all the job still runs,
    with one thread, and says so. A value larger than the cores this process may use is an error."""
    allowed = allowed_cores()
    if threads < 0 or threads > len(allowed):
        raise SeqdrawError(f"threads {threads}: this process may use {len(allowed)} core(s) "
                           f"({_ranges(allowed)}); give 1..{len(allowed)}, or 0 for every free one")
    claimed = [c for c, _ in _held]
    for core in allowed:
        if threads and len(claimed) >= threads:
            break
        if core in claimed:
            continue
        f = _try_lock(core)
        if f is not None:
            _held.append((core, f))
            claimed.append(core)
    warning = None
    if not claimed:
        warning = (f"every core this process may use ({_ranges(allowed)}) is held by other seqdraw jobs "
                   f"(locks in {claim_folder()}): running one thread beside them, slowly")
        n = 1
    else:
        n = len(claimed) if not threads else min(threads, len(claimed))
        if threads and n < threads:
            warning = f"threads {threads}: only {n} core(s) are free; running {n} thread(s)"
        claimed = claimed[:n]
        try:
            if not _affinity:
                _affinity.append(set(allowed))
            os.sched_setaffinity(0, claimed)
        except (AttributeError, OSError):
            pass
    torch.set_num_threads(n)
    return n, claimed, warning


def release_cores() -> None:
    """Give back every core this process claimed (the process's end does the same)."""
    while _held:
        _, f = _held.pop()
        f.close()
    if _affinity:
        try:
            os.sched_setaffinity(0, _affinity.pop())
        except (AttributeError, OSError):
            pass


def _ranges(cores: list[int]) -> str:
    return ",".join(map(str, cores))
