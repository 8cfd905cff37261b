"""Facts the docs state about the shipped model agree with the file (issue 37)."""
import re
from pathlib import Path

from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[1]


def test_the_stated_default_temperature_is_the_stored_one():
    with safe_open(str(ROOT / "seqdraw" / "weights" / "seqdraw.safetensors"), "pt") as f:
        stored = float(f.metadata().get("temperature", "1.0"))
    text = (ROOT / "docs" / "generation.md").read_text()
    stated = [float(x) for x in re.findall(r"shipped (?:model stores|default:?) (?:is )?temperature (\d+\.\d+)", text)]
    stated += [float(x) for x in re.findall(r"the shipped default: (\d+\.\d+)", text)]
    assert stated and all(t == stored for t in stated), (stated, stored)


def test_the_bad_input_table_lists_every_case_as_tested():
    """docs/reliability.md's table of bad input is the test's CASES, command for command."""
    import sys
    sys.path.insert(0, str(ROOT / "tests"))
    from test_bad_input import CASES

    text = (ROOT / "docs" / "reliability.md").read_text()
    rows = dict(re.findall(r"^\| (.+?) \| `(seqdraw[^`]*)` \|$", text, flags=re.M))
    assert rows == {name: " ".join(["seqdraw", *argv]) for name, argv in CASES.items()}


def test_the_config_reference_is_generated_from_the_declarations():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_reference.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
