"""YAML config → validated, resolved settings.

Reading: a safe loader that rejects duplicate keys. Overrides: ``--set a.b=v``
(values parsed as YAML). Validation, before any compute: every key of every
section is checked against the schema of the component it configures — a
component's keyword-only constructor arguments ARE its YAML options, coerced
to their annotations (``1e-3`` becomes a float where a float is expected), so
components receive typed values and only check ranges. Errors name the dotted
field path, what was expected and what was found, and suggest the closest valid
name for an unknown key or component. A component raises
:class:`~fitcli.errors.OptionError` naming its bare option; :func:`construct`
re-raises it on the component's section (``step`` → ``optimizer.step``).
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from .errors import ConfigError, InputError, OptionError, did_you_mean

TOP_KEYS = ("name", "seed", "dtype", "data", "model", "loss", "regularization", "optimizer",
            "output", "sweep")
STOP_KEYS = {"iterations": 100, "tol": 0.0, "rtol": 0.0, "time_limit": None, "epochs": None}
OUTPUT_KEYS = {"dir": None, "every": 10, "checkpoint_every": 50, "plot": True,
               "early_stopping": None, "eval_batch": 256, "full_every": None}
EARLY_STOPPING_KEYS = {"metric": "val_loss", "patience": 20, "min_delta": 0.0, "mode": None}
# metrics where larger is better: the default mode of early stopping on them is max
HIGHER_IS_BETTER = ("accuracy", "r2", "legal", "psnr", "ssim")
SKIP_ARGS = {"self", "data", "x", "rng", "n_samples", "ctx"}
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$"
_NUMBER = re.compile(NUMBER_PATTERN, re.I)
_INTEGER = re.compile(r"^[+-]?\d+$")


# -- reading ----------------------------------------------------------------------------
class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# A config is a few kilobytes; these bound what a hostile or broken one can cost.
MAX_CONFIG_BYTES = 1 << 20
MAX_VALUES = 100_000        # values after alias expansion ("billion laughs")
MAX_DEPTH = 64              # nesting levels


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_expansion(root, source: str) -> None:
    """Count the values the node graph expands to (aliases share nodes) and its depth,
    without expanding it (iterative, memoized): refuse bombs, cycles and deep nesting."""
    size: dict[int, tuple[int, int]] = {}
    visiting: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = [size[id(k)] for k in _children(node)]
            total = 1 + sum(n for n, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            visiting.discard(key)
            size[key] = (total, depth)
            if total > MAX_VALUES:
                raise InputError(f"{source}: YAML aliases expand to more than {MAX_VALUES} "
                                 "values (a config is a few kilobytes)")
            if depth > MAX_DEPTH:
                raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        elif key in visiting:
            raise InputError(f"{source}: a YAML alias refers to itself (recursive value)")
        elif key not in size:
            visiting.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in _children(node) if id(k) not in size)


def parse_yaml(text: str, source: str = "<config>"):
    """Parse YAML text safely; a syntax error or duplicate key becomes one InputError line,
    and so do alias bombs, recursive aliases and deep nesting (checked on the node graph
    before anything is constructed)."""
    if len(text) > MAX_CONFIG_BYTES:
        raise InputError(f"{source}: {len(text)} characters; a config is at most "
                         f"{MAX_CONFIG_BYTES} (is this a config?)")
    try:
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{where}: invalid YAML: {problem[:200]}") from None
    except RecursionError:    # the composer recurses per level, before our depth check
        raise InputError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None


def read_text_file(path: Path, what: str, limit: int = MAX_CONFIG_BYTES) -> str:
    """A small UTF-8 text file (a config): a regular file (not /dev/zero, a FIFO), at most
    ``limit`` bytes, UTF-8 (a BOM is skipped) — else one InputError line."""
    p = Path(path)
    try:
        if not p.exists():
            raise InputError(f"{p}: {what} not found")
        if not p.is_file():
            raise InputError(f"{p}: expected a regular file for the {what} (a device, "
                             "folder or pipe is not one)")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > limit:
        raise InputError(f"{p}: larger than {limit} bytes; expected a {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        hint = " (it looks like UTF-16: save it as UTF-8)" if utf16 else ""
        raise InputError(f"{p}: the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                         f"at offset {exc.start}){hint}") from None


def read_config(path: str | Path) -> dict:
    """Read a config file into a dict (safe loader, duplicate keys rejected)."""
    p = Path(path)
    raw = parse_yaml(read_text_file(p, "config file"), str(p))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{p}: expected a YAML mapping at the top level, got {type(raw).__name__}")
    return raw


def apply_overrides(raw: dict, sets: list[str] | dict | None) -> dict:
    """A copy of ``raw`` with ``KEY.PATH=VALUE`` overrides applied (values parsed as YAML)."""
    out = copy.deepcopy(raw)
    items = sets.items() if isinstance(sets, dict) else [_split_set(s) for s in sets or []]
    for key, value in items:
        parts = str(key).split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = _child(node, part, ".".join(parts[:i + 1]), create=True)
            node = nxt
        _assign(node, parts[-1], value, str(key))
    return out


def _split_set(s: str):
    if "=" not in s:
        raise ConfigError("--set", "KEY.PATH=VALUE", s)
    key, text = s.split("=", 1)
    return key.strip(), parse_yaml(text, f"--set {key.strip()}")


def _child(node, part, path, create):
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(path, f"an index below {len(node)}", part)
        return node[int(part)]
    if not isinstance(node, dict):
        raise ConfigError(path, "a mapping to set a key in", node)
    if part not in node or node[part] is None:
        node[part] = {}
    return node[part]


def _assign(node, part, value, path):
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(path, f"an index below {len(node)}", part)
        node[int(part)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        raise ConfigError(path, "a mapping to set a key in", node)


# -- options from signatures ---------------------------------------------------------
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


def _component(value, registry: dict, path: str, default: str | None = None,
               user_dir: Path | None = None):
    """``type`` of a section (string or mapping) → (name, class, remaining options);
    with ``user_dir`` (the model section) also ``file.py:Class``, a user's own model
    (:mod:`fitcli.models.user`, the file relative to ``user_dir``)."""
    if value is None and default is not None:
        value = default
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise ConfigError(path, "a name or a mapping with a 'type'", value)
    if "type" not in value:
        raise ConfigError(f"{path}.type", "one of " + ", ".join(registry) + " (required)")
    name = value["type"]
    if user_dir is not None and isinstance(name, str) and ".py:" in name:
        from .models.user import load_user_model

        return name, load_user_model(name, user_dir, f"{path}.type"), {
            k: v for k, v in value.items() if k != "type"}
    if not isinstance(name, str) or name not in registry:
        raise ConfigError(f"{path}.type", "one of " + ", ".join(registry), name,
                          did_you_mean(name, registry))
    return name, registry[name], {k: v for k, v in value.items() if k != "type"}


def registries() -> dict[str, dict]:
    """Every global registry, imported here (and only here) so that config stays light to
    import. A model kind may add names of its own (``Model.losses``, ``Model.regularizers``),
    which :func:`own_registry` lays over these for that kind."""
    from .data import DATASETS
    from .losses import LOSSES
    from .models import MODELS
    from .optim import OPTIMIZERS
    from .regularizers import REGULARIZERS
    return {"models": MODELS, "losses": LOSSES, "optimizers": OPTIMIZERS,
            "datasets": DATASETS, "regularizers": REGULARIZERS}


def model_owned(kind: str, reg: dict | None = None) -> list[tuple[str, str, type]]:
    """``(model kind, name, class)`` for every name a model kind adds to ``kind``."""
    reg = registries() if reg is None else reg
    return [(m, name, cls) for m, model_cls in reg["models"].items()
            for name, cls in getattr(model_cls, kind, {}).items()]


def own_registry(kind: str, model_cls, reg: dict | None = None) -> dict:
    """The names a config of ``model_cls`` may use for ``kind`` (``losses`` or
    ``regularizers``): the global ones, with the model kind's own laid over them (a kind
    may give a name its own meaning: registration's ``tv`` acts on a displacement field)."""
    reg = registries() if reg is None else reg
    return {**reg[kind], **getattr(model_cls, kind, {})}


# -- the resolved config ---------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """A validated config: names resolved to classes, options coerced, defaults filled."""

    name: str
    seed: int
    dtype: str
    base_dir: Path                      # relative data paths resolve here
    model_cls: type
    model: dict                         # the model's options (without type)
    data: dict                          # the data loader's options
    loss_cls: type
    loss: dict
    regularization: list               # [(name, class, weight, options)]
    optimizer_cls: type
    optimizer: dict                     # the optimizer's own options (without stop keys)
    stop: dict                          # iterations (None: epochs), tol, rtol, time_limit, epochs
    output: dict                        # dir, every, checkpoint_every, plot
    resolved: dict = field(repr=False)  # the full resolved config, as written to config.yaml
    sweep: dict = field(default_factory=dict, repr=False)  # `fitcli sweep`'s search (not
    # in resolved: a trial's config.yaml is one fit)


def resolve(raw: dict, base_dir: str | Path = ".", default_name: str = "run") -> Config:
    """Validate a raw config dict (overrides already applied) into a :class:`Config`."""
    if not isinstance(raw, dict):
        raise ConfigError("config", "a mapping", raw)
    reg = registries()
    check_keys(raw, TOP_KEYS, "")
    name = coerce(raw.get("name", default_name), str, "name")
    # a folder name, never a path: '.' and '..' would put the run outside runs/
    if not re.fullmatch(r"[\w.\-]{1,100}", name) or name.strip(".") == "":
        raise ConfigError("name", "letters, digits, '.', '-' or '_' (it names the run "
                          "folder: at most 100 of them, not '.' or '..')", name)
    seed = coerce(raw.get("seed", 0), int, "seed")
    if seed < 0:
        raise ConfigError("seed", "a non-negative integer", seed)
    dtype = coerce(raw.get("dtype", "float64"), Literal["float64", "float32"], "dtype")

    model_name, model_cls, model_raw = _component(raw.get("model"), reg["models"], "model",
                                                    user_dir=Path(base_dir))
    model = resolve_options(model_raw, model_cls, "model")
    data_raw = _section(raw, "data")
    data = resolve_options(data_raw, model_cls.load_data, "data")

    loss_name, loss_cls, loss_raw = _component(raw.get("loss"),
                                               own_registry("losses", model_cls, reg), "loss",
                                               default=model_cls.default_loss)
    loss = resolve_options(loss_raw, loss_cls, "loss")

    regs = _regularization(raw.get("regularization"),
                           own_registry("regularizers", model_cls, reg))
    _check_applies(regs, model_cls, own_registry("regularizers", model_cls, reg))

    opt_name, opt_cls, opt_rest = _optimizer(raw.get("optimizer"), model_name, model_cls,
                                             reg["optimizers"])
    stop_raw = {k: opt_rest.pop(k) for k in list(opt_rest) if k in STOP_KEYS}
    optimizer = resolve_options(opt_rest, opt_cls, "optimizer", extra=STOP_KEYS)
    _check_optimizer(opt_cls, optimizer)
    stop = _stop(stop_raw)
    shown_stop = dict(stop)
    if stop["epochs"] is not None:
        if not getattr(opt_cls, "stochastic", False):
            raise ConfigError("optimizer.epochs", "a stochastic optimizer (sgd, adam, svrg): "
                              f"an epoch is a pass of minibatches, {opt_name} has none",
                              stop["epochs"])
        if "iterations" not in stop_raw:     # the epochs are the budget
            stop["iterations"] = None
            del shown_stop["iterations"]
    per_stage = getattr(model_cls, "per_stage_iterations", None)
    if per_stage and model.get(per_stage) is not None:   # one place for the iterations
        if "iterations" in stop_raw:
            raise ConfigError("optimizer.iterations", f"no value when model.{per_stage} gives "
                              "the iterations per level (keep one of the two)",
                              stop_raw["iterations"])
        del shown_stop["iterations"]
    output = _output(_section(raw, "output"))
    from .sweep.space import check_section  # the section's shape; `fitcli sweep` reads it

    sweep = check_section(raw.get("sweep"))

    resolved = {
        "name": name, "seed": seed, "dtype": dtype, "data": data,
        "model": {"type": model_name, **model},
        "loss": {"type": loss_name, **loss},
        "regularization": [{"type": n, "weight": w, **o} for n, _, w, o in regs],
        "optimizer": {"type": opt_name, **shown_stop, **optimizer},
        "output": output,
    }
    return Config(name, seed, dtype, Path(base_dir), model_cls, model, data, loss_cls, loss,
                  regs, opt_cls, optimizer, stop, output, resolved, sweep)


def _optimizer(value, model_name: str, model_cls, registry: dict):
    """The optimizer section: a name or a mapping (its ``type`` may be left to the model's
    ``default_optimizer``); absent, the model's default or one line saying it is needed."""
    default = getattr(model_cls, "default_optimizer", None)
    if isinstance(value, dict) and "type" not in value and default is not None:
        value = {"type": default, **value}
    if value is None and default is None:
        raise ConfigError("optimizer", f"a name (one of {', '.join(registry)}) or a mapping "
                          f"with a 'type' (required for model {model_name})")
    return _component(value or None, registry, "optimizer", default=default)


def _section(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, "a mapping", value)
    return value


def _regularization(value, registry) -> list:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError("regularization", "a list of {type, weight} terms", value)
    out = []
    for i, term in enumerate(value):
        path = f"regularization[{i}]"
        name, cls, rest = _component(term, registry, path)
        if "weight" not in rest:
            raise ConfigError(f"{path}.weight", "a non-negative number (required)")
        weight = rest.pop("weight")
        if weight == "auto":    # chosen from the data at build (Model.auto_weights)
            out.append((name, cls, weight, resolve_options(rest, cls, path, extra=("weight",))))
            continue
        weight = coerce(weight, float, f"{path}.weight")
        if not weight >= 0 or weight == float("inf"):
            raise ConfigError(f"{path}.weight", "a non-negative number", weight)
        out.append((name, cls, weight, resolve_options(rest, cls, path, extra=("weight",))))
    return out


def _check_applies(regs, model_cls, registry) -> None:
    """A regularizer the kind's blocks cannot take (tv on an mlp's weight matrices) is a bad
    config: found by validate, before anything is built or written."""
    accepts = getattr(model_cls, "regularizer_kinds", ("any",))
    for i, (name, cls, _, _) in enumerate(regs):
        kind = getattr(cls, "applies_to", "any")
        if kind not in accepts:
            ok = [n for n, c in registry.items() if getattr(c, "applies_to", "any") in accepts]
            raise ConfigError(f"regularization[{i}].type", f"a regularizer of "
                              f"{model_cls.name} parameters ({', '.join(ok)})", name,
                              f"{name} acts on an {kind}")


def _positive(value, path, kind, allow_zero=False):
    bound = "non-negative" if allow_zero else "positive"
    expected = f"a {bound} {'integer' if kind is int else 'number'}"
    try:
        v = coerce(value, kind, path)
    except ConfigError:
        raise ConfigError(path, expected, value) from None
    if not (v >= 0 if allow_zero else v > 0) or v == float("inf"):
        raise ConfigError(path, expected, value)
    return v


def _stop(raw: dict) -> dict:
    stop = dict(STOP_KEYS)
    if "iterations" in raw:
        stop["iterations"] = _positive(raw["iterations"], "optimizer.iterations", int)
    for key in ("tol", "rtol"):
        if key in raw:
            stop[key] = _positive(raw[key], f"optimizer.{key}", float, allow_zero=True)
    if raw.get("time_limit") is not None:
        stop["time_limit"] = _positive(raw["time_limit"], "optimizer.time_limit", float)
    if raw.get("epochs") is not None:
        stop["epochs"] = _positive(raw["epochs"], "optimizer.epochs", int)
    return stop


def _output(raw: dict) -> dict:
    check_keys(raw, list(OUTPUT_KEYS), "output")
    out = dict(OUTPUT_KEYS)
    if raw.get("dir") is not None:
        out["dir"] = coerce(raw["dir"], str, "output.dir")
    for key in ("every", "checkpoint_every", "eval_batch"):
        if key in raw:
            out[key] = _positive(raw[key], f"output.{key}", int)
    if raw.get("full_every") is not None:
        out["full_every"] = _positive(raw["full_every"], "output.full_every", int)
    if "plot" in raw:
        out["plot"] = coerce(raw["plot"], bool, "output.plot")
    if raw.get("early_stopping") is not None:
        out["early_stopping"] = _early_stopping(raw["early_stopping"])
    return out


def _early_stopping(raw) -> dict:
    """output.early_stopping: the metric (any metrics-row key; checked by the loop at its
    first row), patience (logged rows), min_delta and mode (default: max for accuracy-like
    metrics, else min)."""
    path = "output.early_stopping"
    if not isinstance(raw, dict):
        raise ConfigError(path, "a mapping {metric, patience, min_delta, mode}", raw)
    check_keys(raw, list(EARLY_STOPPING_KEYS), path)
    metric = coerce(raw.get("metric", "val_loss"), str, f"{path}.metric")
    patience = _positive(raw.get("patience", 20), f"{path}.patience", int)
    min_delta = _positive(raw.get("min_delta", 0.0), f"{path}.min_delta", float, True)
    mode = raw.get("mode") or ("max" if metric.endswith(HIGHER_IS_BETTER) else "min")
    mode = coerce(mode, Literal["min", "max"], f"{path}.mode")
    return {"metric": metric, "patience": patience, "min_delta": min_delta, "mode": mode}


def load(path: str | Path | dict, overrides: list[str] | dict | None = None,
         seed: int | None = None) -> Config:
    """Read (a path or a dict), apply overrides (and ``seed``), validate."""
    if isinstance(path, dict):
        raw, base_dir, default_name = path, Path.cwd(), "run"
    else:
        raw = read_config(path)
        base_dir = Path(path).resolve().parent
        default_name = re.sub(r"[^\w.\-]", "-", Path(path).stem)
    raw = apply_overrides(raw, overrides)
    if seed is not None:
        raw["seed"] = seed
    return resolve(raw, base_dir, default_name)


def dump(cfg: Config) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(cfg.resolved, sort_keys=False, default_flow_style=False,
                          allow_unicode=True)
