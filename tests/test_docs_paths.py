"""Every file the user docs name exists (issue 38): README.md and docs/*.md, not the dated notes, which
keep the paths of their day."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r"(?<![\w/.~-])((?:seqdraw|benchmarks|scripts|tests|docs|examples|figures|reports|notes)/"
                  r"[\w./-]*\.(?:py|md|sh|png|gif|json|safetensors|csv))")
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_file_exists(doc):
    missing = []
    for name in sorted(set(PATH.findall(doc.read_text()))):
        # a path is read from the project's root, or, in docs/, from docs/ (figures/x.png, reports/y.md)
        if not any((base / name).exists() for base in (ROOT, doc.parent)):
            missing.append(name)
    assert not missing, f"{doc.name} names files that do not exist: {missing}"
