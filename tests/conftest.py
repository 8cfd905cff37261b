from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts) -> Path:
    """A file under ../shared, or a clean skip when it is absent (a user's machine has none)."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


def one_line_error(err: str) -> str:
    """The CLI's error is one line (progress bars may precede it), never a traceback."""
    assert "Traceback" not in err
    lines = [l for l in err.replace("\r", "\n").splitlines() if "error:" in l]
    assert len(lines) == 1, err
    return lines[0]
