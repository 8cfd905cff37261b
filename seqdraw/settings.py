"""Typed settings: the configuration dataclasses declare each field's type, default, range and help
once, with `setting`, and everything else follows from that declaration. Construction checks each
value. `--set KEY=VALUE` text and command-line flags are parsed by the field's type. A file's metadata
goes through the same checks, so a bad value is a one-line error wherever it comes from.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import typing

from seqdraw.errors import SeqdrawError

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def setting(default, help: str, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False,
            choices: tuple | None = None):
    """A dataclass field with its range: lo <= value <= hi (or < where open), or one of `choices`."""
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def kind(cls, name: str) -> type:
    return typing.get_type_hints(cls)[name]


def describe_range(f: dataclasses.Field) -> str:
    m = f.metadata
    if m.get("choices"):
        return "one of " + ", ".join(map(repr, m["choices"]))
    lo = "" if m.get("lo") is None else f"{m['lo']} {'<' if m['lo_open'] else '<='} "
    hi = "" if m.get("hi") is None else f" {'<' if m['hi_open'] else '<='} {m['hi']}"
    return f"{lo}{f.name}{hi}" if lo or hi else ""


def check_value(cls, f: dataclasses.Field, value):
    """The value, converted where that loses nothing (an int for a float field), or a SeqdrawError."""
    t = kind(cls, f.name)
    if t is bool:
        if not isinstance(value, bool):
            raise SeqdrawError(f"{f.name} must be true or false, got {value!r}")
        return value
    if t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeqdrawError(f"{f.name} must be an integer, got {value!r}")
    elif t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SeqdrawError(f"{f.name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SeqdrawError(f"{f.name} must be a finite number, got {value!r}")
    elif t is str:
        if not isinstance(value, str):
            raise SeqdrawError(f"{f.name} must be a string, got {value!r}")
    elif t is dict:
        if not isinstance(value, dict):
            raise SeqdrawError(f"{f.name} must be a JSON object, got {value!r}")
        return value
    elif dataclasses.is_dataclass(t):          # a nested settings dataclass checks its own fields
        if not isinstance(value, t):
            raise SeqdrawError(f"{f.name} must be a {t.__name__}, got {value!r}")
        return value
    m = f.metadata
    if m.get("choices") and value not in m["choices"]:
        raise SeqdrawError(f"{f.name} must be {describe_range(f)}, got {value!r}")
    lo, hi = m.get("lo"), m.get("hi")
    if (lo is not None and (value <= lo if m["lo_open"] else value < lo)) or \
            (hi is not None and (value >= hi if m["hi_open"] else value > hi)):
        raise SeqdrawError(f"{f.name} must satisfy {describe_range(f)}, got {value!r}")
    return value


def check_fields(instance) -> None:
    """Check (and, for int -> float, convert) every field of a dataclass instance, frozen or not."""
    for f in dataclasses.fields(instance):
        object.__setattr__(instance, f.name, check_value(type(instance), f, getattr(instance, f.name)))


def from_dict(cls, values, what: str, gone: dict[str, str] | None = None):
    """Build a settings dataclass from a dict (a JSON file, metadata). Keys that were removed from the
    project (`gone`: key -> why) and unknown keys are one-line errors."""
    if not isinstance(values, dict):
        raise SeqdrawError(f"{what} must be a JSON object, got {type(values).__name__}")
    for key, why in (gone or {}).items():
        if key in values:
            raise SeqdrawError(f"{what}: {key} is gone ({why})")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SeqdrawError(f"{what}: unknown keys {unknown}")
    return cls(**values)


def parse_text(cls, name: str, text: str):
    """KEY=VALUE text -> a value of the field's type (its range is checked when the config is built)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise SeqdrawError(f"unknown setting {name!r} (known: {', '.join(sorted(fields))})")
    t = kind(cls, name)
    text = text.strip()
    if t is bool:
        if text.lower() in TRUE or text.lower() in FALSE:
            return text.lower() in TRUE
        raise SeqdrawError(f"{name} must be true or false, got {text!r}")
    if t is int:
        try:
            return int(text)
        except ValueError:
            raise SeqdrawError(f"{name} must be an integer, got {text!r}") from None
    if t is float:
        try:
            return float(text)
        except ValueError:
            raise SeqdrawError(f"{name} must be a number, got {text!r}") from None
    if t is str:
        return text
    raise SeqdrawError(f"{name} cannot be set from text")


def add_arguments(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One flag per field, --field-name, parsed by the field's type; None when not given, so a flag
    only overrides what it names. A nested settings dataclass adds its own flags (add_arguments on it)."""
    for f in dataclasses.fields(cls):
        if f.name in skip or kind(cls, f.name) is dict or dataclasses.is_dataclass(kind(cls, f.name)):
            continue

        def parse(text, name=f.name):
            try:
                return check_value(cls, next(g for g in dataclasses.fields(cls) if g.name == name),
                                   parse_text(cls, name, text))
            except SeqdrawError as e:
                raise argparse.ArgumentTypeError(str(e)) from None

        default = f.default if f.default is not dataclasses.MISSING else None
        rng = describe_range(f)
        text = f"{f.metadata.get('help', '')} (default: {default!r}{'; ' + rng if rng else ''})"
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=parse, default=None,
                            metavar=kind(cls, f.name).__name__.upper(),
                            help=text.replace("%", "%%"))


def metadata_value(path, meta: dict, key: str, t: type, default, lo=None, hi=None):
    """A scalar from a weights file's metadata, checked: "FILE: bad metadata KEY=VALUE (...)"."""
    if key not in meta or meta[key] is None:
        return default
    value = meta[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and t is int:
        ok = float(value).is_integer()
    if ok and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        ok = False
    if not ok:
        want = {int: "an integer", float: "a number"}[t] + (f" in [{lo}, {hi}]" if lo is not None or hi is not None else "")
        raise SeqdrawError(f"{path}: bad metadata {key}={value!r} (must be {want})")
    return t(value)
