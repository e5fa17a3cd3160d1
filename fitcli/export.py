"""model.npz (and best.npz): a fitted model as plain named arrays, loadable without pickle.

Layout (every entry a numpy array; strings are unicode arrays, structured values JSON):

=====================  ======================================================================
key                    what
=====================  ======================================================================
``format``             ``"fitcli.model/1"``
``kind``               the model kind (``mlp``, ``rnn``, ``registration``, ...)
``config``             the resolved config (JSON text, as config.yaml)
``meta``               JSON: iteration, task, n_classes, dtype, the shapes of one input and
                       one target sample, the parameter order, JSON-able preprocessing
                       (categories, impute, missing, target, kind, readout, ...)
``param.<name>``       each parameter block under the model's own name (mlp: ``W1`` (D, H),
                       ``b1``, ... ; rnn: ``W0``, ``U0``, ``b0``, ``Wy``, ``by``)
``extra.<key>``        array-valued preprocessing: ``mean``, ``std`` (per encoded input),
                       ``target_mean``/``target_std``, ``classes``, ``labels``, ``columns``,
                       ``features`` (tabular); ``vocab`` (text, reber)
``result.<key>``       what a kind exports besides its parameters (registration:
                       ``displacement`` (2, H, W))
=====================  ======================================================================

Written atomically by the fit loop at the end of a run (``model.npz``) and, with
``output.early_stopping``, whenever the monitored metric improves (``best.npz``).
:func:`read_model` reads it back; :func:`build_model` rebuilds the model object from it
without the training data. Nothing here prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config as C
from .data.base import Dataset
from .errors import InputError

__all__ = ["FORMAT", "SavedModel", "build_model", "model_arrays", "read_model", "save_model"]

FORMAT = "fitcli.model/1"


def _shape_of(a) -> tuple[list[int] | None, str | None]:
    """Shape and dtype of one sample of ``a`` (first axis: samples)."""
    if a is None:
        return None, None
    a = np.asarray(a)
    return list(a.shape[1:]), a.dtype.str


def _split_extras(extras: Mapping, keys) -> tuple[dict, dict, list]:
    """The extras ``keys`` as (arrays, JSON-able values, names of string lists)."""
    arrays, plain, lists = {}, {}, []
    for k in keys:
        if k not in extras:
            continue
        v = extras[k]
        if isinstance(v, np.ndarray) and v.dtype.kind in "biufU":
            arrays[k] = v
        elif isinstance(v, (list, tuple)) and v and all(isinstance(s, str) for s in v):
            arrays[k], lists = np.asarray(v, dtype=str), [*lists, k]
        else:
            plain[k] = v.item() if isinstance(v, np.generic) else v
    return arrays, plain, lists


def model_arrays(problem, views: Mapping[str, np.ndarray], iteration: int,
                 info: Mapping | None = None) -> dict[str, np.ndarray]:
    """The arrays of model.npz for ``problem``'s model at parameters ``views``."""
    model, data, cfg = problem.model, problem.data, problem.cfg
    arrays, plain, lists = _split_extras(data.extras or {}, model.export_keys)
    x_shape, x_dtype = _shape_of(data.X_train)
    y_shape, y_dtype = _shape_of(data.y_train)
    meta = {"iteration": int(iteration), "task": data.task, "n_classes": int(data.n_classes),
            "dtype": cfg.dtype, "dataset": data.name, "x_shape": x_shape, "x_dtype": x_dtype,
            "y_shape": y_shape, "y_dtype": y_dtype, "params": list(views),
            "base_dir": str(cfg.base_dir), "extras": plain, "string_lists": lists,
            **(info or {})}
    out = {"format": np.array(FORMAT), "kind": np.array(model.name),
           "config": np.array(json.dumps(cfg.resolved, ensure_ascii=False)),
           "meta": np.array(json.dumps(meta, ensure_ascii=False, default=_plain))}
    out.update({f"param.{k}": np.array(v) for k, v in views.items()})
    out.update({f"extra.{k}": v for k, v in arrays.items()})
    out.update({f"result.{k}": np.asarray(v) for k, v in model.export_arrays(views).items()})
    return out


def _plain(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def save_model(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (from :func:`model_arrays`) to ``path`` atomically: a temporary file
    beside it, flushed, then renamed (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    with tmp.open("wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


@dataclass
class SavedModel:
    """What :func:`read_model` found in a model.npz."""

    path: Path
    kind: str
    config: dict                      # the resolved config (raw dict)
    meta: dict
    params: dict[str, np.ndarray]     # in the model's order
    extras: dict                      # the dataset extras predict needs
    results: dict = field(default_factory=dict)

    @property
    def iteration(self) -> int:
        return int(self.meta.get("iteration", -1))


def read_model(path: Path) -> SavedModel:
    """Read model.npz / best.npz (no pickle); a missing or foreign file is one InputError."""
    if not path.exists():
        raise InputError(f"RUN_DIR: no {path.name} in {path.parent}")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: unreadable model file ({exc})") from None
    if str(data.get("format", "")) != FORMAT:
        raise InputError(f"{path}: not a fitcli model file (expected format {FORMAT})")
    meta = json.loads(str(data["meta"]))
    extras = dict(meta.get("extras", {}))
    for k, v in data.items():
        if k.startswith("extra."):
            name = k[len("extra."):]
            extras[name] = [str(s) for s in v] if name in meta.get("string_lists", []) else v
    params = {k: data[f"param.{k}"] for k in meta["params"]}
    results = {k[len("result."):]: v for k, v in data.items() if k.startswith("result.")}
    return SavedModel(path, str(data["kind"]), json.loads(str(data["config"])), meta, params,
                      extras, results)


def _zeros(shape, dtype) -> np.ndarray | None:
    return None if shape is None else np.zeros((1, *shape), dtype=np.dtype(dtype))


def build_model(saved: SavedModel, base_dir: Path | None = None):
    """(config, model) rebuilt from a saved model alone: the model is built on a one-sample
    stand-in Dataset with the saved shapes, task and extras (no training data is read)."""
    meta = saved.meta
    base = base_dir or Path(meta.get("base_dir") or saved.path.parent)
    cfg = C.resolve(saved.config, base, saved.config.get("name", "run"))
    stand_in = Dataset(meta.get("dataset", "saved"), meta["task"],
                       _zeros(meta["x_shape"], meta["x_dtype"]),
                       _zeros(meta["y_shape"], meta["y_dtype"]),
                       n_classes=int(meta.get("n_classes", 0)), extras=dict(saved.extras))
    return cfg, cfg.model_cls(stand_in, **cfg.model)
