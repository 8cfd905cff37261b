"""Fonts for synthetic house numbers: the ones pip installs with our dependencies, or a user's folder.

A font is usable when it renders all ten digits as distinct, non-empty glyphs; symbol fonts that
map digits to other shapes (STIX size variants, cmex/cmsy) and broken files are skipped, so a missing
or corrupt font file only shrinks the pool.
"""
from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import numpy as np
from PIL import ImageFont

from seqdraw.errors import SeqdrawError

# pip packages that carry plain font files (see pyproject.toml)
FONT_PACKAGES = ("font_roboto", "font_source_sans_pro", "font_source_serif_pro", "font_lato",
                 "font_fjallaone", "font_hanken_grotesk", "font_manrope", "font_caladea")
# matplotlib fonts whose digit code points are not digits, or which duplicate another file
SKIP = ("LastResort", "STIXSiz", "STIXNonUni", "cmex10", "cmsy10", "cmmi10", "Display", "Variable")
# Computer Modern's bold and italic files are faces of its roman
FAMILY_ALIASES = {"cmb10": "cmr10", "cmti10": "cmr10"}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_font_files() -> list[Path]:
    files: list[Path] = []
    mpl = _package_dir("matplotlib")
    if mpl is not None:
        files += sorted((mpl / "mpl-data" / "fonts" / "ttf").glob("*.ttf"))
    for pkg in FONT_PACKAGES:
        d = _package_dir(pkg)
        if d is not None:
            found = sorted(d.rglob("*.ttf"))
            # the Source packages ship each face as both .ttf and .otf: take one
            files += found or sorted(d.rglob("*.otf"))
    return [f for f in files if not any(s in f.name for s in SKIP)]


def renders_digits(path: Path) -> bool:
    try:
        font = ImageFont.truetype(str(path), 40)
        glyphs = []
        for ch in "0123456789":
            mask = font.getmask(ch, mode="L")
            m = np.asarray(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])
            if m.size == 0 or m.max() < 128:
                return False
            glyphs.append(m.tobytes() + bytes(m.shape))
        return len(set(glyphs)) == 10
    except (OSError, ValueError):
        return False


@functools.lru_cache(maxsize=8)
def font_pool(font_dir: str | None = None) -> tuple[str, ...]:
    """Usable font paths: from `font_dir` (TTF/OTF, searched recursively) or the bundled set."""
    if font_dir is not None:
        d = Path(font_dir)
        if not d.is_dir():
            raise SeqdrawError(f"--fonts {font_dir}: not a directory")
        candidates = sorted(p for p in d.rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    else:
        candidates = bundled_font_files()
    usable = tuple(str(p) for p in candidates if renders_digits(p))
    if not usable:
        where = font_dir or "the installed font packages (matplotlib, font-roboto, ...)"
        raise SeqdrawError(f"no usable font (one rendering the digits 0-9) found in {where}")
    return usable


def font_families(paths: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Faces grouped by family, from the file name: "Roboto-BoldItalic" and "STIXGeneralBolIta" belong
    to Roboto and STIXGeneral. Sampling a family first keeps the packages that ship a dozen weights
    of one design from outnumbering the rest."""
    families: dict[str, list[str]] = {}
    for p in paths:
        name = re.sub(r"(Bol|Ita|Italic|Bold|Oblique)+$", "", Path(p).stem.split("-")[0])
        name = FAMILY_ALIASES.get(name, name)
        families.setdefault(name, []).append(p)
    return tuple(tuple(v) for _, v in sorted(families.items()))
