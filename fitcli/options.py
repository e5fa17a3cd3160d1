"""A component's YAML options are its keyword-only constructor arguments: read them from
the signature (:func:`options_of`), coerce values to the annotations (:func:`coerce`: PyYAML
reads ``1e-3`` as a string; a float must be finite), check a section's keys and fill its
defaults (:func:`resolve_options`), and build a component re-raising its
:class:`~fitcli.errors.OptionError` on the section's dotted path (:func:`construct`)."""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from .errors import ConfigError, OptionError, did_you_mean

__all__ = ["NUMBER_PATTERN", "Option", "check_keys", "coerce", "construct", "describe_type",
           "options_of", "resolve_options"]

SKIP_ARGS = {"self", "data", "x", "rng", "n_samples", "ctx"}
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$"
_NUMBER = re.compile(NUMBER_PATTERN, re.I)
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Option:
    name: str
    annotation: Any
    default: Any
    required: bool


def options_of(fn) -> dict[str, Option]:
    """The YAML options of a component: its keyword-only arguments (minus context args)."""
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable annotation: fall back to the defaults' types
        hints = {}
    opts = {}
    for p in inspect.signature(target).parameters.values():
        if p.kind is not p.KEYWORD_ONLY or p.name in SKIP_ARGS:
            continue
        required = p.default is p.empty
        ann = hints.get(p.name)
        if ann is None and not required and p.default is not None:
            ann = type(p.default)
        opts[p.name] = Option(p.name, ann, None if required else p.default, required)
    return opts


def describe_type(ann) -> str:
    """'a number', 'a list of integers', 'one of a, b' ... for error messages."""
    origin = get_origin(ann)
    if ann is None or ann is Any:
        return "any value"
    if origin is Literal:
        return "one of " + ", ".join(map(str, get_args(ann)))
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in get_args(ann) if a is not type(None))
    if origin in (list, tuple) or ann in (list, tuple):
        args = get_args(ann)
        inner = describe_type(args[0]) if args else "values"
        return "a list of " + (inner.split(" ", 1)[1] + "s" if inner.startswith("a") else inner)
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            dict: "a mapping", Path: "a file path"}.get(ann, f"a {getattr(ann, '__name__', ann)}")


def coerce(value, ann, path: str):
    """``value`` converted to annotation ``ann`` or a ConfigError naming ``path``."""
    origin = get_origin(ann)
    if ann is None or ann is Any:
        return value
    if origin in (Union, types.UnionType):
        members = get_args(ann)
        if value is None and type(None) in members:
            return None
        for member in sorted((m for m in members if m is not type(None)),
                             key=lambda m: m is str):  # numbers before strings: "1e-3"
            try:
                return coerce(value, member, path)
            except ConfigError:
                continue
        raise ConfigError(path, describe_type(ann), value)
    if origin is Literal:
        choices = get_args(ann)
        if value in choices:
            return value
        raise ConfigError(path, describe_type(ann), value, did_you_mean(value, choices))
    if origin in (list, tuple) or ann in (list, tuple):
        args = get_args(ann)
        if not isinstance(value, (list, tuple)):
            value = [value]  # a scalar where a list is expected: a one-element list
        return [coerce(v, args[0] if args else None, f"{path}[{i}]") for i, v in enumerate(value)]
    if ann is bool:
        if isinstance(value, bool):
            return value
    elif ann is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value)  # a number written as a string, like floats below
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            f = float(value)   # PyYAML reads 1e6 as a string; an integer written so is one
            if f.is_integer():
                return int(f)
    elif ann is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _finite(float(value), path, value)
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            return _finite(float(value), path, value)  # PyYAML reads 1e-3 as a string
    elif ann in (str, Path):
        if isinstance(value, str):
            return value
    elif ann is dict or origin is dict:
        if isinstance(value, dict):
            return value
    elif isinstance(value, ann):
        return value
    raise ConfigError(path, describe_type(ann), value)


def _finite(f: float, path: str, value) -> float:
    """No NaN or infinity in a float option: a NaN start, noise or coefficient only shows up
    later as a 'diverged' fit (exit 1) instead of a bad config (exit 2). The one exception,
    in resolve_options: an option whose default is infinite (a box bound) accepts it."""
    if not math.isfinite(f):
        raise ConfigError(path, "a finite number", value)
    return f


def check_keys(section: dict, allowed, path: str) -> None:
    """Unknown keys → error with the closest valid name."""
    for key in section:
        if key not in allowed:
            full = f"{path}.{key}" if path else str(key)
            hint = did_you_mean(key, allowed) or "valid keys: " + ", ".join(allowed)
            raise ConfigError(full, "a known key", None, hint) from None


def _infinite(value, default) -> float | None:
    """``value`` as ±inf when it is one and the option's default is infinite, else None."""
    if isinstance(default, float) and math.isinf(default) and not isinstance(value, bool) \
            and isinstance(value, (int, float, str)) and _NUMBER.match(str(value).strip()):
        f = float(value)
        return f if math.isinf(f) else None
    return None


def resolve_options(section: dict, fn, path: str, extra=()) -> dict:
    """Check ``section`` against ``fn``'s options; coerce; fill defaults; required present."""
    opts = options_of(fn)
    check_keys(section, list(opts) + list(extra), path)
    out = {}
    for name, opt in opts.items():
        if name in section:
            out[name] = _infinite(section[name], opt.default) \
                or coerce(section[name], opt.annotation, f"{path}.{name}")
        elif opt.required:
            raise ConfigError(f"{path}.{name}", describe_type(opt.annotation) + " (required)")
        else:  # tuples in signatures (immutable defaults) become YAML lists
            out[name] = list(opt.default) if isinstance(opt.default, tuple) else opt.default
    return out


def construct(cls, section: str, *args, **options):
    """``cls(*args, **options)``; an OptionError comes back on the path ``<section>.<option>``."""
    try:
        return cls(*args, **options)
    except OptionError as exc:
        raise exc.at(section) from None


def _check_optimizer(cls, options: dict) -> None:
    """Build the optimizer once on a one-element vector, so that its range checks run
    before any data is loaded and their errors name ``optimizer.<option>``."""
    import numpy as np

    construct(cls, "optimizer", np.zeros(1), **options)
