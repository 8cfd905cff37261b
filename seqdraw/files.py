"""Atomic, never-destructive file writing and checked loading of the project's .npz files.

Every file the project writes goes through `atomic_path`: the content is written to a temporary
file in the same directory and renamed over the target only once complete, so an interrupted run
never leaves a truncated file that looks finished, and never clobbers a good one with a partial one.
A folder that holds a set of files (a data set, a reader, a report) is written whole by
`output_folder`: into a temporary folder that replaces the old one only when every file is in.
A full disk, a read-only place or a directory where a file should go is a one-line SeqdrawError.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from seqdraw.errors import SeqdrawError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path next to `target`; on success, rename it onto `target`."""
    target = Path(target)
    if target.is_dir():
        raise SeqdrawError(f"{target} is a directory: give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise SeqdrawError(f"cannot write to {target.parent}: {e.strerror or e}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SeqdrawError(f"cannot write {target}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def writable_place(path: Path) -> None:
    """The nearest existing folder above `path` must let us create things."""
    folder = Path(os.path.abspath(path))
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise SeqdrawError(f"{folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SeqdrawError(f"cannot write to {folder}: permission denied or read-only")


def check_output_file(path) -> Path:
    """Before any work: `path` can be written as a file (not a directory, in a writable place)."""
    path = Path(path)
    if path.is_dir():
        raise SeqdrawError(f"{path} is a directory: give a file name")
    writable_place(path.parent)
    return path


def check_output_files(named: dict[str, str], overwrite: bool, inputs: tuple = (), suffixes: dict | None = None) -> None:
    """Before any work: each output file ({flag: path}) is a new file, or an existing regular file with
    overwrite; no two name one file; none is one of the inputs being read; each has its format's suffix."""
    seen: dict[Path, str] = {}
    read = {Path(os.path.realpath(p)) for p in inputs if p}
    for flag, path in named.items():
        if path is None:
            continue
        if not str(path).strip():
            raise SeqdrawError(f"{flag} is empty: give a file name")
        want = (suffixes or {}).get(flag)
        if want and Path(path).suffix.lower() != want:
            raise SeqdrawError(f"{flag} {str(path)[:80]}: writes {want[1:].upper()}, so its name must end in {want}")
        real = Path(os.path.realpath(path))
        if real in seen:
            raise SeqdrawError(f"{seen[real]} and {flag} name the same file {str(path)[:80]}")
        if real in read:
            raise SeqdrawError(f"{flag} {str(path)[:80]} is a file this command reads")
        seen[real] = flag
        if os.path.lexists(path):
            if not os.path.isfile(path) or os.path.islink(path) and not real.is_file():
                raise SeqdrawError(f"{flag} {str(path)[:80]} exists and is not a regular file")
            if not overwrite:
                raise SeqdrawError(f"{flag} {str(path)[:80]} exists: pass --overwrite to replace it")
        check_output_file(path)


def check_output_folder(path, overwrite: bool, flag: str = "--overwrite") -> Path:
    """Before any work: `path` is a new or empty folder, or overwrite is allowed, in a writable place."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SeqdrawError(f"{path} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise SeqdrawError(f"{path} already exists and is not empty: pass {flag} to replace it")
    writable_place(path)
    return path


def replace_folder(new: Path, target: Path) -> None:
    """Put the complete folder `new` at `target`. An existing target is moved aside first and deleted
    only after `new` is in, so a kill at any moment leaves a complete folder under one of the names."""
    if not target.exists():
        os.replace(new, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, aside / target.name)
    os.replace(new, target)
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def output_folder(path, overwrite: bool):
    """Yield a fresh temporary folder beside `path`; when the block succeeds, it replaces `path` whole
    (the old folder is moved aside first and deleted after). On any failure `path` is as it was."""
    path = Path(os.path.abspath(check_output_folder(path, overwrite)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as e:
        raise SeqdrawError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        replace_folder(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SeqdrawError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(target, **arrays) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_npz(path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load an .npz fully (no pickles); a missing, corrupt or incomplete file is a SeqdrawError."""
    path = Path(path)
    if not path.is_file():
        raise SeqdrawError(f"{path}: no such file")
    try:
        _check_npz_headers(path)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except MemoryError:
        raise SeqdrawError(f"{path}: its arrays do not fit in memory") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        why = "it holds Python objects, which are never loaded" if "pickle" in str(e) else str(e)
        raise SeqdrawError(f"{path}: not a readable .npz file ({why})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise SeqdrawError(f"{path}: missing arrays {missing}")
    return arrays


def _check_npz_headers(path: Path) -> None:
    """Each array's header may not claim more bytes than its member of the archive holds: a forged header
    (a 2 PiB array in a small file) is refused before anything is allocated."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(f)
            if dtype.hasobject:
                continue                      # np.load refuses it below, with its own reason
            claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if claimed > info.file_size:
                raise ValueError(f"{info.filename} claims {claimed:,} bytes but holds {info.file_size:,}")


LOCK_NAME = ".lock"


def try_flock(path: Path, probe: bool = False):
    """An exclusive, non-blocking `flock` on the file at `path`: (open file, None) when taken, or
    (None, the holder's pid as written in the file) when another process holds it. The kernel drops the
    lock when its holder ends, however it ends, so a lock is never stale. The holder writes its pid
    into the file; probe=True only tests the lock and writes nothing. An unopenable file is an OSError."""
    import fcntl
    f = open(path, "r" if probe else "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read(32).strip() or "unknown"
        f.close()
        return None, holder
    if probe:
        f.close()
        return None, None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f, None


def lock_folder(folder: Path, what: str = "run", probe: bool = False):
    """Hold the lock of `folder` (folder/.lock, `try_flock`), or refuse in one line naming the process
    that holds it. Returns the open lock file; closing it releases the lock. probe=True only checks that
    no one holds it (None; also when there is no lock file)."""
    path = Path(folder) / LOCK_NAME
    if probe and not path.is_file():
        return None
    try:
        f, holder = try_flock(path, probe)
    except OSError as e:
        raise SeqdrawError(f"cannot lock {folder}: {e.strerror or e}") from None
    if holder is not None:
        raise SeqdrawError(f"{folder} is in use by another seqdraw {what} (process {holder}): wait for it to end, "
                           "or choose another folder")
    return f


MAX_JSON_BYTES = 16 * 2**20          # a config or settings file is kilobytes; refuse what cannot be one


def read_json(path, what: str, limit: int = MAX_JSON_BYTES):
    """A JSON file a user names, read with a size limit and parsed with every failure one line: missing,
    not a file, too large (/dev/zero), not UTF-8, not JSON, nested too deeply."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as e:
        raise SeqdrawError(f"{what} {str(path)[:80]}: {e.strerror or e}") from None
    if len(raw) > limit:
        raise SeqdrawError(f"{what} {str(path)[:80]}: larger than {limit // 2**20} MiB, not a settings file")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SeqdrawError(f"{what} {str(path)[:80]}: not JSON ({str(e)[:80]})") from None
    except RecursionError:
        raise SeqdrawError(f"{what} {str(path)[:80]}: nested too deeply") from None
