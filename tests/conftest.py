from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"

# The network sizes the tests use, each declared once (the golden-weights test pins its own copy):
# TINY trains in a second or two; TINY_FILE is the model file that commands load and refuse;
# SMALL draws with k = 3 steps per digit, for tests that count the steps.
TINY = {"enc_size": 24, "dec_size": 24, "z_size": 4, "attention_size": 8, "steps_per_digit": 2,
        "read_n": 4, "write_n": 4}
TINY_FILE = {"enc_size": 16, "dec_size": 16, "z_size": 4, "attention_size": 8, "steps_per_digit": 2,
             "read_n": 3, "write_n": 3}
SMALL = {"enc_size": 32, "dec_size": 32, "z_size": 8, "attention_size": 16, "steps_per_digit": 3}


def save_tiny_model(path, sizes: dict = TINY_FILE, preset_name: str = "seqdraw", **meta) -> Path:
    """A model file with seeded random weights: what the commands' tests load (max_len 3 unless given)."""
    import torch

    from seqdraw.model import ConditionalDRAW, preset
    from seqdraw.model.pretrained import save_model
    torch.manual_seed(0)
    save_model(path, ConditionalDRAW(preset(preset_name, **sizes)), extra={"max_len": 3, **meta})
    return Path(path)


@pytest.fixture(scope="module")
def data():
    """96 training and 16 test renders of the synthetic data (seeds 0 and 1): what training tests train on."""
    from seqdraw.data.synth import generate
    return generate(96, seed=0), generate(16, seed=1)


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
