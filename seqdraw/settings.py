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
SEED_MAX = 2**63 - 1                   # every seed a user gives: what NumPy and torch both take
MAX_TEMPERATURE = 100.0                # every sampling temperature: 0 (the prior's mean) .. this


def setting(default, help: str, lo=None, hi=None, exclusive: str = "", choices: tuple | None = None,
            required: bool = False, flag: str | None = None):
    """A dataclass field with its range: lo <= value <= hi (exclusive="lo", "hi" or "both": < at that
    end), or one of `choices`. A field typed `X | None` may be None (e.g. "the model's own"); a `list`
    field is a list of strings (its flag takes one or more); `required`: its flag must be given;
    `flag`: the flag's name where it is not the field's (a field nested in a group whose name says
    the rest)."""
    if exclusive not in ("", "lo", "hi", "both"):
        raise ValueError(f"exclusive={exclusive!r}: '', 'lo', 'hi' or 'both'")
    meta = {"help": help, "lo": lo, "hi": hi, "lo_open": exclusive in ("lo", "both"),
            "hi_open": exclusive in ("hi", "both"), "choices": choices, "required": required, "flag": flag}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def kind(cls, name: str) -> type:
    """The field's type; for `X | None`, X."""
    t = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(t) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in typing.get_args(t) else t


def optional(cls, name: str) -> bool:
    return type(None) in typing.get_args(typing.get_type_hints(cls)[name])


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
    label = f.metadata.get("flag") or f.name          # what the user typed
    if value is None and optional(cls, f.name):
        return None
    if t is list:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise SeqdrawError(f"{label} must be a list of strings, got {str(value)[:80]}")
        wrong = [v for v in value if f.metadata.get("choices") and v not in f.metadata["choices"]]
        if wrong:
            raise SeqdrawError(f"{label}: {wrong[0]!r} is not {describe_range(f)}")
        return list(value)
    if t is bool:
        if not isinstance(value, bool):
            raise SeqdrawError(f"{label} must be true or false, got {value!r}")
        return value
    if t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeqdrawError(f"{label} must be an integer, got {value!r}")
    elif t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SeqdrawError(f"{label} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SeqdrawError(f"{label} must be a finite number, got {value!r}")
    elif t is str:
        if not isinstance(value, str):
            raise SeqdrawError(f"{label} must be a string, got {value!r}")
    elif t is dict:
        if not isinstance(value, dict):
            raise SeqdrawError(f"{label} must be a JSON object, got {value!r}")
        return value
    elif dataclasses.is_dataclass(t):          # a nested settings dataclass checks its own fields
        if not isinstance(value, t):
            raise SeqdrawError(f"{label} must be a {t.__name__}, got {value!r}")
        return value
    m = f.metadata
    if m.get("choices") and value not in m["choices"]:
        raise SeqdrawError(f"{label} must be {describe_range(f)}, got {value!r}")
    lo, hi = m.get("lo"), m.get("hi")
    if (lo is not None and (value <= lo if m["lo_open"] else value < lo)) or \
            (hi is not None and (value >= hi if m["hi_open"] else value > hi)):
        raise SeqdrawError(f"{label} must satisfy {describe_range(f)}, got {value!r}")
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
    if t is list:
        return [text]
    raise SeqdrawError(f"{name} cannot be set from text")


def add_arguments(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One flag per field, --field-name, parsed by the field's type; None when not given, so a flag
    only overrides what it names. A bool flag alone means true (`--compile`, or `--compile false`); a
    list field's flag takes one or more items, and may be repeated (`--judge a b`, `--judge a --judge b`).
    A nested settings dataclass adds its own flags (add_arguments on it)."""
    for f in dataclasses.fields(cls):
        t = kind(cls, f.name)
        if f.name in skip or t is dict or dataclasses.is_dataclass(t):
            continue

        def parse(text, name=f.name, field=f):
            try:
                return check_value(cls, field, parse_text(cls, name, text))
            except SeqdrawError as e:
                raise argparse.ArgumentTypeError(str(e)) from None

        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rng = describe_range(f)
        told = f.metadata.get("required") or "(default" in f.metadata.get("help", "")
        told = told or default is None         # "not given" says nothing a user could type
        shown = f" ({rng})" if told and rng else "" if told else f" (default: {default!r}{'; ' + rng if rng else ''})"
        extra = {"action": "extend", "nargs": "+", "type": str} if t is list else \
            {"nargs": "?", "const": True, "type": parse} if t is bool else {"type": parse}
        name = f.metadata.get("flag") or f.name
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            required=bool(f.metadata.get("required")),
                            metavar=f.name.removesuffix("s").upper() if t is list else t.__name__.upper(),
                            help=(f.metadata.get("help", "") + shown).replace("%", "%%"), **extra)


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
