"""The Python API: build a fitting problem from a config, ``fitcli.fit`` for notebooks,
the objective's gradient check, and the registry introspection behind ``fitcli list``
and ``fitcli schema``.

``build(cfg)`` turns a validated :class:`~fitcli.config.Config` into a
:class:`Problem`: the dataset, the model, its parameters in one flat buffer
(:class:`~fitcli.models.base.ParamVector`), the loss, the regularization terms
(smooth ones in the closure; non-smooth ones handed to a prox optimizer), the
optimizer on the flat vector, and the objective formula. Nothing here prints.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np

from . import config as C
from .data.base import DataContext, Dataset
from .engine import Tensor
from .errors import ConfigError
from .models.base import Model, ParamVector
from .regularizers import NonSmoothTerm

__all__ = ["FitResult", "Problem", "build", "check_objective", "describe_registry", "fit",
           "json_schema", "objective_formula"]


@dataclass
class Problem:
    """Everything the fit loop needs, built once (no per-iteration re-parsing)."""

    cfg: C.Config
    data: Dataset
    model: Model
    params: ParamVector
    loss: object
    smooth: list                       # [(column name, regularizer, weight)] in the closure
    nonsmooth: list                    # [(column name, NonSmoothTerm)] (prox or in the closure)
    optimizer: object
    formula: str
    term_names: list = field(default_factory=list)   # "data", then each regularizer
    prox_handles_nonsmooth: bool = False

    @property
    def dtype(self) -> np.dtype:
        return self.params.dtype


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per purpose, all derived from the config seed."""
    names = ("data", "init", "optimizer")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}


def _unique(name: str, taken: list[str]) -> str:
    k, out = 2, name
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    return out


def objective_formula(model: Model, loss, regs) -> str:
    """E.g. ``mean logistic(f(x; θ), y) + 0.0001·½‖θ‖²   [f: mlp 64-128-10, tanh]``;
    ``regs`` are (regularizer instance, weight) pairs (an instance may spell out its
    options, e.g. smooth_tv's ε)."""
    data = getattr(model, "data_formulas", {}).get(loss.name, loss.formula)
    parts = [data] + [f"{weight:g}·{reg.formula}" for reg, weight in regs]
    return " + ".join(parts) + f"   [f: {model.describe()}]"


def build(cfg: C.Config) -> Problem:
    """Construct data, model, parameters, loss, regularizers and optimizer from ``cfg``."""
    dtype = np.dtype(cfg.dtype)
    rngs = _rngs(cfg.seed)
    data = cfg.model_cls.load_data(DataContext(cfg.base_dir, rngs["data"], dtype), **cfg.data)
    model = cfg.model_cls(data, **cfg.model)
    loss = cfg.loss_cls(**cfg.loss)
    if hasattr(loss, "check_task"):
        loss.check_task(data.task)
    params = ParamVector(model.param_shapes(), dtype)
    model.init_params(params.views, rngs["init"])

    names = model.regularized()
    term_names = ["data"]
    smooth, nonsmooth, regs = [], [], []
    for name, reg_cls, weight, opts in cfg.regularization:
        reg = reg_cls(**opts)
        regs.append((reg, weight))
        col = _unique(name, term_names)
        term_names.append(col)
        if getattr(reg, "smooth", True):
            smooth.append((col, reg, weight))
        else:
            term = NonSmoothTerm(reg, weight, params.slices, params.shapes, names)
            nonsmooth.append((col, term))

    opt_cls = cfg.optimizer_cls
    n_samples = data.n_train if model.batchable and data.X_train is not None else None
    try:
        optimizer = opt_cls(params.flat, rng=rngs["optimizer"], n_samples=n_samples,
                            **cfg.optimizer)
    except TypeError as exc:  # an option the class does not take (validated earlier: a bug)
        raise ConfigError("optimizer", "options of " + opt_cls.name, str(exc)) from None
    handles = bool(getattr(opt_cls, "handles_nonsmooth", False))
    if handles and nonsmooth:
        optimizer.set_nonsmooth([t for _, t in nonsmooth])
    return Problem(cfg, data, model, params, loss, smooth, nonsmooth, optimizer,
                   objective_formula(model, loss, regs), term_names, handles)


@dataclass
class FitResult:
    """What ``fitcli.fit`` returns."""

    params: dict[str, np.ndarray]      # name -> array (copies of the fitted blocks)
    history: list[dict]                # one dict per metrics row (as in metrics.csv)
    summary: dict                      # as summary.json
    problem: Problem | None = None


def _merge(base: dict, extra: Mapping) -> dict:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def fit(config: str | Path | dict, overrides: Mapping | None = None, *,
        out: str | Path | None = None, callback=None, resume: str | Path | None = None,
        **sections) -> FitResult:
    """Fit a config from Python (a notebook): never prints.

    Parameters
    ----------
    config : path to a YAML file, or a config dict.
    overrides : dotted-key overrides, e.g. ``{"optimizer.iterations": 50}``.
    out : run folder to write (None: no run folder, results only).
    callback : called with a :class:`fitcli.fit.Progress` at every logged row.
    resume : a run folder to continue from its checkpoint.
    **sections : top-level sections merged into the config, e.g.
        ``seed=1, optimizer={"iterations": 50}``.

    Returns
    -------
    FitResult with ``params`` (dict of arrays), ``history`` (list of row dicts)
    and ``summary`` (dict).
    """
    from .fit import run

    raw = dict(config) if isinstance(config, Mapping) else C.read_config(config)
    raw = _merge(C.apply_overrides(raw, dict(overrides or {})), sections)
    base = Path.cwd() if isinstance(config, Mapping) else Path(config).resolve().parent
    name = "run" if isinstance(config, Mapping) else Path(config).stem
    cfg = C.resolve(raw, base, name)
    problem = build(cfg)
    summary, history = run(problem, Path(out) if out is not None else None,
                           callback=callback, resume=Path(resume) if resume else None)
    params = {k: np.array(v) for k, v in problem.params.views.items()}
    return FitResult(params, history, summary, problem)


def _block_sum(fn, leaves, names):
    """Σ over the regularized blocks of fn(block)."""
    total = None
    for k in names:
        v = fn(leaves[k])
        total = v if total is None else total + v
    return total


def leaves_objective(problem: Problem, leaves: Mapping[str, Tensor], inputs, targets,
                     include_nonsmooth: bool):
    """The objective (a scalar Tensor) at ``leaves`` on a batch, and its terms by column
    name (weighted Tensors): ``data`` then each regularizer."""
    model = problem.model
    names = model.regularized()
    terms = {"data": model.data_term(leaves, problem.loss, inputs, targets)}
    if names:
        for col, reg, weight in problem.smooth:
            terms[col] = _block_sum(reg, leaves, names) * weight
        if include_nonsmooth:
            for col, term in problem.nonsmooth:
                terms[col] = _block_sum(term.reg, leaves, names) * term.weight
    total = None
    for v in terms.values():
        total = v if total is None else total + v
    return total, terms


def load_tiny(config: str | Path, overrides: list[str] | None = None,
              extra: dict | None = None):
    """The resolved config at the model kind's ``tiny`` size (then ``extra`` overrides)."""
    raw = C.apply_overrides(C.read_config(config), overrides)
    base, name = Path(config).resolve().parent, Path(config).stem
    model_cls = C.resolve(raw, base, name).model_cls
    raw = C.apply_overrides(raw, {**model_cls.tiny, **(extra or {})})
    return C.resolve(raw, base, name)


def check_objective(config: str | Path, overrides: list[str] | None = None, seed: int = 0,
                    max_samples: int = 16, mode: str = "reverse"):
    """Gradcheck a config's whole objective per parameter block, on a tiny version of it.

    The model kind's ``tiny`` overrides and ``dtype: float64`` are applied,
    the parameters are the seeded initial point, and at most ``max_samples``
    training samples are used. ``mode``: ``reverse`` (the VJP against central
    differences), ``forward`` (forward-mode JVPs against central differences
    along random directions) or ``all`` (both: the three-way agreement).
    Returns (list of CheckResult, objective formula).
    """
    from .engine.gradcheck import check_grad, check_jvp

    if mode not in ("reverse", "forward", "all"):
        raise ConfigError("--mode", "one of reverse, forward, all", mode)

    problem = build(load_tiny(config, overrides, {"dtype": "float64"}))
    data = problem.data
    n = min(data.n_train, max_samples)
    X = data.X_train[:n] if data.X_train is not None else None
    y = data.y_train[:n] if problem.model.batchable else data.y_train
    names = list(problem.params.shapes)

    def objective(*tensors):
        return leaves_objective(problem, dict(zip(names, tensors, strict=True)), X, y, True)[0]

    point = [problem.params.views[k] for k in names]
    results = []
    if mode in ("reverse", "all"):
        results += check_grad(objective, point, name=problem.cfg.name, input_names=names,
                              rng=np.random.default_rng(seed))
    if mode in ("forward", "all"):
        results += check_jvp(objective, point, name=problem.cfg.name, input_names=names,
                             rng=np.random.default_rng(seed))
    for r in results:
        r.label = "x".join(map(str, r.shape))
    return results, problem.formula


# -- introspection: `fitcli list` and `fitcli schema` -------------------------------------
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
            "time_limit": {"anyOf": [num, {"type": "null"}]}}
    weight = {"weight": num}
    models = reg["models"]
    # the model kinds' own names too (a name that is also global keeps the global's schema)
    for kind in ("losses", "regularizers"):
        reg[kind] = {**{n: c for _, n, c in C.model_owned(kind, reg)}, **reg[kind]}
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
            "model": {"oneOf": [_typed(n, c, _doc(c)) for n, c in models.items()]},
            "loss": {"anyOf": [{"enum": list(reg["losses"])}]
                     + [_typed(n, c, _doc(c)) for n, c in reg["losses"].items()]},
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
                "plot": {"type": "boolean", "default": True}}},
        },
        "allOf": [{"if": {"properties": {"model": {"properties": {"type": {"const": n}}}}},
                   "then": {"properties": {"data": _props(c.load_data)}}}
                  for n, c in models.items()],
    }
