"""YAML config → validated, resolved settings.

Reading (``configfile.py``): a safe loader that rejects duplicate keys. Overrides:
``--set a.b=v`` (values parsed as YAML). Validation, before any compute: every key of every
section is checked against the schema of the component it configures — a
component's keyword-only constructor arguments ARE its YAML options, coerced
to their annotations (``1e-3`` becomes a float where a float is expected), so
components receive typed values and only check ranges. Errors name the dotted
field path, what was expected and what was found, and suggest the closest valid
name for an unknown key or component. A component raises
:class:`~fitcli.errors.OptionError` naming its bare option; :func:`construct`
re-raises it on the component's section (``step`` → ``optimizer.step``); the option
machinery is ``options.py``, re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from .configfile import MAX_CONFIG_BYTES, apply_overrides, parse_yaml, read_config, read_text_file
from .errors import ConfigError, did_you_mean
from .options import (
    NUMBER_PATTERN,
    Option,
    _check_optimizer,
    check_keys,
    coerce,
    construct,
    describe_type,
    options_of,
    resolve_options,
)

__all__ = [  # the reading and option machinery is re-exported: ``C.read_config``, ``C.coerce``
    "EARLY_STOPPING_KEYS", "HIGHER_IS_BETTER", "MAX_CONFIG_BYTES", "NUMBER_PATTERN",
    "OUTPUT_KEYS", "STOP_KEYS", "TOP_KEYS", "Config", "Option", "apply_overrides",
    "check_keys", "coerce", "construct", "describe_type", "dump", "load", "model_owned",
    "options_of", "own_registry", "parse_yaml", "read_config", "read_text_file",
    "registries", "resolve", "resolve_options"]

TOP_KEYS = ("name", "seed", "dtype", "data", "model", "loss", "regularization", "optimizer",
            "output", "sweep")
STOP_KEYS = {"iterations": 100, "tol": 0.0, "rtol": 0.0, "time_limit": None, "epochs": None}
OUTPUT_KEYS = {"dir": None, "every": 10, "checkpoint_every": 50, "plot": True,
               "early_stopping": None, "eval_batch": 256, "full_every": None}
EARLY_STOPPING_KEYS = {"metric": "val_loss", "patience": 20, "min_delta": 0.0, "mode": None}
# metrics where larger is better: the default mode of early stopping on them is max
HIGHER_IS_BETTER = ("accuracy", "r2", "legal", "psnr", "ssim")


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
