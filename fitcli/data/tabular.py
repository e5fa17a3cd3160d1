"""Tabular data (samples × features): built-in digits, spirals, moons; CSV and NPZ files.

The loader's keyword-only arguments are the ``data:`` section of an ``mlp``
config. Split: a held-out ``validation`` fraction, stratified per class for
classification; ``standardize`` uses the mean and standard deviation of the
training part only (applied to both parts).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, InputError
from .base import DataContext, Dataset, DatasetEntry, resolve_path

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
MAX_CLASSES = 50   # integer targets with at most this many values count as classes (task: auto)


# -- built-ins ------------------------------------------------------------------------
def _digits(ctx: DataContext, samples=None, noise=None):
    path = DATASETS_DIR / "digits.npz"
    if not path.exists():
        raise InputError(f"data.dataset: the shipped digits file is missing: {path}")
    with np.load(path) as f:
        return f["X"].astype(np.float64), f["y"].astype(np.int64)


def _spirals(ctx: DataContext, samples=None, noise=None):
    """Two interleaved spirals of 1.5 turns: r = t, angle = 3π t + kπ, t ∈ (0, 1]."""
    n = samples or 1000
    noise = 0.02 if noise is None else noise
    y = np.arange(n) % 2
    t = np.sqrt(ctx.rng.uniform(0.0025, 1.0, n))   # sqrt: even density along the arm
    angle = 3 * np.pi * t + np.pi * y
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return X + noise * ctx.rng.standard_normal(X.shape), y


def _moons(ctx: DataContext, samples=None, noise=None):
    """Two interleaving half circles (the classic 'moons')."""
    n = samples or 1000
    noise = 0.1 if noise is None else noise
    y = np.arange(n) % 2
    a = ctx.rng.uniform(0.0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(a), np.sin(a)], axis=1),
                 np.stack([1 - np.cos(a), 0.5 - np.sin(a)], axis=1))
    return X + noise * ctx.rng.standard_normal(X.shape), y


# the built-in tabular datasets by name (fitcli.data.DATASETS gathers every family's)
TABULAR: dict[str, DatasetEntry] = {e.name: e for e in (
    DatasetEntry("digits", "tabular", _digits,
                 "8x8 handwritten digits, 1797 samples, 10 classes (UCI, CC BY 4.0)"),
    DatasetEntry("spirals", "tabular", _spirals, "two interleaved spirals, 2 classes",
                 {"samples": 1000, "noise": 0.02}),
    DatasetEntry("moons", "tabular", _moons, "two interleaving half circles, 2 classes",
                 {"samples": 1000, "noise": 0.1}),
)}


# -- files ------------------------------------------------------------------------------
def _read_csv(path: Path, target: str):
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise InputError(f"{path}: empty CSV file (expected a header row)")
    header = [h.strip() for h in header]
    if target not in header:
        raise ConfigError("data.target", "a column of " + path.name + ": " + ", ".join(header),
                          target)
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"{path}: expected numeric CSV values after the header ({exc})") from None
    if table.shape[1] != len(header):
        raise InputError(f"{path}: {table.shape[1]} columns of values for {len(header)} names")
    j = header.index(target)
    return np.delete(table, j, axis=1), table[:, j]


def _read_npz(path: Path):
    try:
        with np.load(path) as f:
            missing = [k for k in ("X", "y") if k not in f]
            if missing:
                raise InputError(f"{path}: missing array(s) {', '.join(missing)} "
                                 f"(expected X (N, D) and y (N,))")
            return np.asarray(f["X"], dtype=np.float64), np.asarray(f["y"])
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None


# -- the loader -------------------------------------------------------------------------
def load_tabular(ctx: DataContext, /, *, dataset: str, validation: float = 0.2,
                 standardize: bool = True, target: str = "target",
                 task: Literal["auto", "classification", "regression"] = "auto",
                 samples: int | None = None, noise: float | None = None) -> Dataset:
    """Load a built-in name or a CSV/NPZ path and split it.

    Parameters
    ----------
    dataset : a name in ``TABULAR`` (digits, spirals, moons) or a path to a
        ``.csv`` (header row, a ``target`` column) or ``.npz`` (``X``, ``y``)
        relative to the config file.
    validation : held-out fraction in [0, 1).
    standardize : scale features to zero mean, unit variance (training statistics).
    target : the CSV column holding the target.
    task : classification (integer labels), regression, or auto (integer
        targets with at most 50 distinct values are classes).
    samples, noise : size and noise of the generated datasets (spirals, moons).
    """
    if not 0.0 <= validation < 1.0:
        raise ConfigError("data.validation", "a fraction in [0, 1)", validation)
    if samples is not None and samples < 4:
        raise ConfigError("data.samples", "an integer >= 4", samples)
    if noise is not None and noise < 0:
        raise ConfigError("data.noise", "a non-negative number", noise)
    X, y = _load_arrays(ctx, dataset, target, samples, noise)
    if X.ndim != 2 or len(X) != len(y) or len(y) < 2:
        raise InputError(f"data.dataset: expected X (N, D) and y (N,), got X {X.shape}, "
                         f"y {y.shape}")
    task, y, classes = _task(task, y)
    train, val = split(ctx.rng, y if task == "classification" else None, len(y), validation)
    X = X.astype(ctx.dtype)
    Xtr, Xva = X[train], X[val]
    extras = {"classes": classes}
    if standardize:
        mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
        std[std == 0] = 1.0   # constant features (digits' blank corners) stay 0
        Xtr, Xva = (Xtr - mean) / std, (Xva - mean) / std
        extras.update(mean=mean, std=std)
    y = y if task == "classification" else y.astype(ctx.dtype)
    return Dataset(str(dataset), task, Xtr, y[train], Xva if len(val) else None,
                   y[val] if len(val) else None, len(classes), extras)


def _load_arrays(ctx, dataset, target, samples, noise):
    entry = TABULAR.get(dataset)
    if entry is not None:
        if (samples is not None or noise is not None) and not entry.options:
            key = "samples" if samples is not None else "noise"
            raise ConfigError(f"data.{key}", "no such option for " + dataset, None,
                              "only generated datasets (spirals, moons) take it")
        return entry.make(ctx, samples=samples, noise=noise)
    suffix = Path(dataset).suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise ConfigError("data.dataset", "one of " + ", ".join(TABULAR) + " or a .csv/.npz path",
                          dataset)
    for key, value in (("samples", samples), ("noise", noise)):
        if value is not None:
            raise ConfigError(f"data.{key}", "no such option for a file", None,
                              "only generated datasets (spirals, moons) take it")
    path = resolve_path(dataset, ctx, "data.dataset")
    return _read_csv(path, target) if suffix == ".csv" else _read_npz(path)


def _task(task, y):
    """Decide the task; classification targets become labels 0..C-1 (classes kept)."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise InputError("data.dataset: the target has non-finite values")
    integral = y.dtype.kind in "iub" or (y.ndim == 1 and np.all(y == np.round(y)))
    if task == "auto":
        task = ("classification" if y.ndim == 1 and integral
                and len(np.unique(y)) <= MAX_CLASSES else "regression")
    if task == "classification":
        if y.ndim != 1 or not integral:
            raise ConfigError("data.task", "regression for a non-integer target", task)
        classes, labels = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise InputError("data.dataset: classification needs at least two classes")
        return task, labels.astype(np.int64), classes
    return task, y.astype(np.float64), np.array([])


def split(rng: np.random.Generator, labels: np.ndarray | None, n: int, fraction: float):
    """Index arrays (train, validation); stratified per class when ``labels`` is given."""
    perm = rng.permutation(n)
    if fraction == 0:
        return perm, perm[:0]
    if labels is None:
        n_val = max(1, int(round(fraction * n)))
        return perm[n_val:], perm[:n_val]
    val_mask = np.zeros(n, dtype=bool)
    shuffled = labels[perm]
    for c in np.unique(labels):          # a loop over classes, not samples
        members = perm[shuffled == c]
        val_mask[members[:int(round(fraction * len(members)))]] = True
    return perm[~val_mask[perm]], perm[val_mask[perm]]
