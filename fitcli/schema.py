"""Introspection of the registries: ``fitcli list`` (names, options, defaults) and
``fitcli schema`` (a JSON Schema of the config format, for editors). Read from the
code: a component's keyword-only constructor arguments are its options."""

from __future__ import annotations

import inspect
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from . import config as C

__all__ = ["describe_registry", "json_schema"]


def _doc(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def describe_registry(kind: str) -> list[dict]:
    """Names of one registry with a one-line doc and their options (name → default)."""
    entries = [("", name, obj) for name, obj in C.registries()[kind].items()]
    if kind in ("losses", "regularizers"):   # a model kind's own names, marked with the kind
        entries += [(f"[{m}] ", name, obj) for m, name, obj in C.model_owned(kind)]
    rows = []
    for tag, name, obj in entries:
        if kind == "datasets":
            rows.append({"name": name, "doc": f"[{obj.family}] {obj.doc}",
                         "options": dict(obj.options)})
            continue
        opts = {o.name: ("(required)" if o.required else o.default)
                for o in C.options_of(obj).values()}
        if kind == "models":
            data = {f"data.{o.name}": ("(required)" if o.required else o.default)
                    for o in C.options_of(obj.load_data).values()}
            opts.update(data)
        if kind == "regularizers":
            opts = {"weight": "(required)", **opts}
            if not getattr(obj, "smooth", True):
                opts["(non-smooth)"] = "prox"
        rows.append({"name": name, "doc": tag + _doc(obj), "options": opts})
    return rows


def _json_type(ann) -> dict:
    origin = get_origin(ann)
    if ann is None or ann is Any:
        return {}
    if origin is Literal:
        return {"enum": list(get_args(ann))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_json_type(a) for a in get_args(ann)]}
    if origin in (list, tuple) or ann in (list, tuple):
        args = get_args(ann)
        item = _json_type(args[0]) if args else {}
        return {"anyOf": [{"type": "array", "items": item}, item]} if item else {"type": "array"}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string",
              dict: "object", type(None): "null"}
    if ann is float:  # PyYAML reads 1e-3 as a string; fitcli accepts it
        return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": C.NUMBER_PATTERN}]}
    return {"type": simple[ann]} if ann in simple else {}


def _props(fn, extra: dict | None = None) -> dict:
    props, required = {}, []
    for o in C.options_of(fn).values():
        p = _json_type(o.annotation)
        if not o.required and o.default is not None:
            p["default"] = list(o.default) if isinstance(o.default, tuple) else o.default
        elif o.required:
            required.append(o.name)
        props[o.name] = p
    props.update(extra or {})
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _typed(name: str, fn, doc: str, extra: dict | None = None) -> dict:
    s = _props(fn, {"type": {"const": name}, **(extra or {})})
    s["required"] = ["type", *s.get("required", [])]
    s["description"] = doc
    return s


def json_schema() -> dict:
    """A JSON Schema (draft-07) of the config format, generated from the registries."""
    reg = C.registries()
    num = _json_type(float)
    stop = {"iterations": {"type": "integer", "minimum": 1, "default": C.STOP_KEYS["iterations"]},
            "tol": {**num, "default": 0.0}, "rtol": {**num, "default": 0.0},
            "time_limit": {"anyOf": [num, {"type": "null"}]},
            "epochs": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}}
    weight = {"weight": num}
    models = reg["models"]
    # the model kinds' own names too (a name that is also global keeps the global's schema)
    for kind in ("losses", "regularizers"):
        reg[kind] = {**{n: c for _, n, c in C.model_owned(kind, reg)}, **reg[kind]}
    losses = reg["losses"]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "fitcli config",
        "type": "object",
        "additionalProperties": False,
        "required": ["model", "optimizer"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[\w.\-]+$"},
            "seed": {"type": "integer", "minimum": 0, "default": 0},
            "dtype": {"enum": ["float64", "float32"], "default": "float64"},
            "data": {"type": "object"},
            "model": {"oneOf": [_typed(n, c, _doc(c)) for n, c in models.items()] + [
                {"type": "object", "required": ["type"], "description":
                 "Your own model: a Model subclass in a Python file (README 'Your own model'); "
                 "its options are its __init__'s keyword-only arguments",
                 "properties": {"type": {"type": "string", "pattern": r"^.+\.py:[A-Za-z_]\w*$"}}}]},
            "loss": {"anyOf": [{"enum": list(losses)}]
                     + [_typed(n, c, _doc(c)) for n, c in losses.items()]},
            "regularization": {"type": "array", "items": {"oneOf": [
                {**_typed(n, c, _doc(c), weight),
                 "required": ["type", "weight"]} for n, c in reg["regularizers"].items()]}},
            "optimizer": {"oneOf": [_typed(n, c, _doc(c), stop)
                                    for n, c in reg["optimizers"].items()]},
            "output": {"type": "object", "additionalProperties": False, "properties": {
                "dir": {"type": "string"},
                "every": {"type": "integer", "minimum": 1, "default": C.OUTPUT_KEYS["every"]},
                "checkpoint_every": {"type": "integer", "minimum": 1,
                                     "default": C.OUTPUT_KEYS["checkpoint_every"]},
                "plot": {"type": "boolean", "default": True},
                "eval_batch": {"type": "integer", "minimum": 1,
                               "default": C.OUTPUT_KEYS["eval_batch"]},
                "full_every": {"type": ["integer", "null"], "minimum": 1, "default": None},
                "early_stopping": {"type": ["object", "null"], "additionalProperties": False,
                                   "properties": {
                    "metric": {"type": "string", "default": "val_loss"},
                    "patience": {"type": "integer", "minimum": 1, "default": 20},
                    "min_delta": {"type": "number", "minimum": 0, "default": 0.0},
                    "mode": {"enum": ["min", "max"]}}}}},
            "sweep": {"type": "object", "description": "fitcli sweep's search (grid, zip, "
                      "sample, trials, seeds, search, metric, mode)"},
        },
        "allOf": [{"if": {"properties": {"model": {"properties": {"type": {"const": n}}}}},
                   "then": {"properties": {"data": _props(c.load_data)}}}
                  for n, c in models.items()],
    }
