"""scripts/train_shipped.sh, the shipped lineage as one job, refuses what would lose work or cannot run,
with one line and a non-zero exit, before it trains anything."""
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_shipped.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(cwd, *args):
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_refuses_an_existing_folder(tmp_path):
    (tmp_path / "out").mkdir()
    r = run(tmp_path, "out")
    assert r.returncode == 2 and r.stderr.strip() == "error: out exists; choose a new folder"
    assert list((tmp_path / "out").iterdir()) == []


def test_refuses_missing_data_and_writes_nothing(tmp_path):
    r = run(tmp_path, "out")
    assert r.returncode == 2 and "data/table2 is missing" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_needs_a_folder(tmp_path):
    r = run(tmp_path)
    assert r.returncode != 0 and "usage" in r.stderr


def test_the_recipe_files_are_valid_training_configs():
    """Each stage's config file, with the flags the script adds, is a TrainConfig that validates."""
    import json

    from seqdraw.trainer import TrainConfig
    recipe = SCRIPT.parents[1] / "experiments" / "recipe"
    script = SCRIPT.read_text()
    for name in ("plain", "guided", "adversarial"):
        assert f"experiments/recipe/{name}.json" in script
        values = json.loads((recipe / f"{name}.json").read_text())
        if "objective" in values:
            values["objective"]["guide"] = "guide.safetensors"       # the script's --guide
        config = TrainConfig.from_dict(values)
        assert config.model == {"likelihood": "logistic"} and config.run.max_steps > 0
    assert TrainConfig.from_dict(json.loads((recipe / "adversarial.json").read_text()) | {
        "objective": {"guide": "g", "guide_weight": 100.0, "style_match_weight": 100.0,
                      "adversarial_weight": 30.0}}).objective.adversarial_weight == 30.0
