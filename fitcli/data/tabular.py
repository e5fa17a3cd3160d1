"""Tabular data (samples × features): built-in digits, spirals, moons; CSV and NPZ files.

The loader's keyword-only arguments are the ``data:`` section of an ``mlp``
config. Split: a held-out ``validation`` fraction, stratified per class for
classification, or a separate validation CSV. A CSV is read by
``csvfile.read_csv`` (string and numeric columns, missing cells), its rows
filtered by ``data.missing``, and its inputs encoded by ``encode.Encoder``
fitted on the training part only (imputation, one-hot vocabularies,
standardisation), whose description lands in ``Dataset.extras`` for ``predict``.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, InputError
from ..resources import regular_file
from .base import DataContext, Dataset, DatasetEntry, resolve_path
from .csvfile import MISSING_TOKENS, Column, Table, read_csv
from .encode import Encoder, take

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


# -- sources: the columns of a file or a built-in, before any row is dropped -------------
@dataclass
class _Part:
    """Input columns and the target column of one source (a file or a built-in)."""

    where: str                 # for messages: the file path or the dataset name
    cols: list[Column]
    y: Column
    table: Table | None = None  # CSV only: gives line numbers
    index: np.ndarray | None = None  # row i is row index[i] of the source (after drops)

    def rows(self, keep: np.ndarray) -> _Part:
        index = np.arange(len(self.y.values)) if self.index is None else self.index
        return _Part(self.where, [take(c, keep) for c in self.cols], take(self.y, keep),
                     self.table, index[keep])

    def cell(self, name: str, row: int) -> str:
        row = row if self.index is None else int(self.index[row])
        if self.table is not None:
            return f"column {name!r} on line {self.table.line_of(row)}"
        return f"column {name!r} in sample {row + 1}"


def _array_part(where: str, X: np.ndarray, y: np.ndarray) -> _Part:
    """A built-in or .npz (X, y): numeric columns x1..xD."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if y.dtype.kind in "USO":       # string labels in an .npz
        y = y.astype(str)
        return _Part(where, _array_part(where, X, np.zeros(len(y))).cols,
                     Column("target", "string", y, np.isin(np.char.lower(y), MISSING_TOKENS)))
    if X.ndim != 2 or len(X) != len(y) or len(y) < 2:
        raise InputError(f"data.dataset: expected X (N, D) and y (N,), got X {X.shape}, "
                         f"y {y.shape}")
    bad_y = ~np.isfinite(y.reshape(len(y), -1)).all(axis=1) if y.dtype.kind == "f" \
        else np.zeros(len(y), bool)
    cols = [Column(f"x{j + 1}", "number", X[:, j], ~np.isfinite(X[:, j]))
            for j in range(X.shape[1])]
    return _Part(where, cols, Column("target", "number", y, bad_y))


def _csv_part(table: Table, target: str, columns: list[str], kinds: dict | None = None,
              field: str = "data.dataset") -> _Part:
    """The named columns of a CSV table (``kinds`` fixes how each is read: the
    training file's kinds for a validation file)."""
    for name in [*columns, target]:
        table.need(name, field)
    kinds = kinds or {}
    cols = [table.column(n, kinds.get(n)) for n in columns]
    return _Part(str(table.path), cols, table.column(target, kinds.get(target)), table)


def _input_columns(table: Table, target: str, features, drop) -> list[str]:
    """data.features (default: every column but the target), minus data.drop."""
    table.need(target, "data.target")
    for key, names in (("features", features or []), ("drop", drop)):
        for i, name in enumerate(names):
            table.need(name, f"data.{key}[{i}]")
            if name == target and key == "features":
                raise ConfigError(f"data.features[{i}]", "an input column, not the target",
                                  name)
    chosen = list(features) if features else [h for h in table.header if h != target]
    used = [c for c in chosen if c not in set(drop)]
    if not used:
        raise ConfigError("data.features", "at least one input column left after data.drop")
    return used


def _read_npz(path: Path):
    regular_file(path, "an .npz file with arrays X and y")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("X", "y") if k not in f]
            if missing:
                raise InputError(f"{path}: missing array(s) {', '.join(missing)} "
                                 f"(expected X (N, D) and y (N,))")
            X, y = f["X"], f["y"]
            for name, a, kinds in (("X", X, "biuf"), ("y", y, "biufUS")):
                if a.dtype.kind not in kinds:   # complex: float64 would drop the imaginary part
                    raise InputError(f"{path}: array {name} holds {a.dtype} values; expected "
                                     f"real numbers" + (" or labels" if name == "y" else ""))
            return np.asarray(X, dtype=np.float64), np.asarray(y)
    except (OSError, ValueError, EOFError, KeyError, AttributeError, zipfile.BadZipFile,
            zlib.error) as exc:    # truncated, CRC-damaged, a .npy renamed .npz
        raise InputError(f"{path}: not a readable .npz file ({type(exc).__name__}: "
                         f"{str(exc)[:100]})") from None


# -- missing values -----------------------------------------------------------------------
def _missing(part: _Part, policy: str, field: str) -> _Part:
    """Apply ``data.missing`` to the rows: error names the first missing cell; drop
    removes rows with one; mean/median keep them for the Encoder to fill. A missing
    target is never imputed: under drop, mean and median its row is dropped."""
    cols = [*part.cols, part.y]
    gaps = np.column_stack([c.missing.reshape(len(c.missing), -1).any(axis=1) for c in cols])
    if not gaps.any():
        return part
    if policy == "error":
        row = int(np.flatnonzero(gaps.any(axis=1))[0])
        col = cols[int(np.argmax(gaps[row]))]
        value = col.values[row]
        what = ("a non-finite value" if col.kind == "number" and np.any(~np.isnan(value))
                else "a missing value")
        raise InputError(f"{field}: {part.where}: {what} in {part.cell(col.name, row)} "
                         f"(set data.missing: drop, mean or median)")
    keep = ~gaps[:, -1] if policy != "drop" else ~gaps.any(axis=1)
    if not keep.any():
        raise InputError(f"{field}: {part.where}: no row is left without a missing value")
    return part.rows(keep)


# -- the loader -------------------------------------------------------------------------
def load_tabular(ctx: DataContext, /, *, dataset: str, validation: float | str = 0.2,
                 standardize: bool = True, target: str = "target",
                 task: Literal["auto", "classification", "regression"] = "auto",
                 features: list[str] | None = None, drop: list[str] = (),
                 missing: Literal["error", "drop", "mean", "median"] = "error",
                 standardize_target: bool = False,
                 samples: int | None = None, noise: float | None = None) -> Dataset:
    """Load a built-in name or a CSV/NPZ path, split it, and encode the inputs.

    Parameters
    ----------
    dataset : a name in ``DATASETS`` (digits, spirals, moons) or a path to a
        ``.csv`` (header row, a ``target`` column; see ``fitcli.data.csvfile``)
        or ``.npz`` (``X``, ``y``) relative to the config file.
    validation : held-out fraction in [0, 1), or a ``.csv`` file with the same
        columns (any order) used as the validation part (no split then).
    standardize : scale numeric inputs to zero mean, unit variance (training statistics).
    target : the CSV column holding the target.
    task : classification (integer or string labels), regression, or auto
        (string targets and integer targets with at most 50 distinct values are classes).
    features, drop : the CSV input columns (default: all but the target), minus ``drop``.
    missing : empty/NA/NaN cells: error (default), drop the row, or fill in with the
        training part's mean / median (a string column: its most frequent category).
    standardize_target : fit a regression target scaled to zero mean, unit variance
        (training statistics); predictions are written back in the target's units.
    samples, noise : size and noise of the generated datasets (spirals, moons).
    """
    _check_options(validation, samples, noise)
    part, kinds = _load_part(ctx, dataset, target, features, drop, samples, noise)
    part = _missing(part, missing, "data.dataset")
    task, y, classes = _task(task, part.y)
    if standardize_target and task != "regression":
        raise ConfigError("data.standardize_target", "false for a classification target", True,
                          "set data.task: regression for a numeric target")
    if isinstance(validation, str):
        vpart = _validation_file(ctx, validation, part, kinds, target, missing)
        y_val = _val_targets(vpart, task, classes)
        train_cols, val_cols, y_tr = part.cols, vpart.cols, y
    else:
        train, val = split(ctx.rng, y if task == "classification" else None, len(y), validation)
        if not len(train):
            raise ConfigError("data.validation", f"a fraction that leaves training samples "
                              f"(of {len(y)})", validation)
        train_cols, val_cols = [take(c, train) for c in part.cols], [take(c, val) for c in
                                                                       part.cols]
        y_tr, y_val = y[train], (y[val] if len(val) else None)
    enc = Encoder.fit(train_cols, missing=missing, standardize=standardize, source=part.where,
                      dtype=ctx.dtype)
    X_tr = enc.transform(train_cols, ctx.dtype)
    X_val = enc.transform(val_cols, ctx.dtype) if y_val is not None else None
    extras = {"classes": classes, "target": target, "missing": missing, **enc.to_extras()}
    if task == "classification":
        extras["labels"] = label_strings(classes)
    else:
        y_tr, y_val = _scale_target(y_tr, y_val, standardize_target, ctx.dtype, extras)
    return Dataset(str(dataset), task, X_tr, y_tr, X_val, y_val, len(classes), extras)


def _check_options(validation, samples, noise):
    if isinstance(validation, str):
        if Path(validation).suffix.lower() != ".csv":
            raise ConfigError("data.validation", "a fraction in [0, 1) or a .csv file",
                              validation)
    elif not 0.0 <= validation < 1.0:
        raise ConfigError("data.validation", "a fraction in [0, 1) or a .csv file", validation)
    if samples is not None and samples < 4:
        raise ConfigError("data.samples", "an integer >= 4", samples)
    if noise is not None and noise < 0:
        raise ConfigError("data.noise", "a non-negative number", noise)


def _load_part(ctx, dataset, target, features, drop, samples, noise):
    """The source's columns and, for a CSV, the kind of each (a validation file is read
    with the same kinds)."""
    entry = TABULAR.get(dataset)
    suffix = Path(dataset).suffix.lower()
    if entry is None and suffix not in (".csv", ".npz"):
        raise ConfigError("data.dataset", "one of " + ", ".join(TABULAR)
                          + " or a .csv/.npz path", dataset)
    for key, value in (("samples", samples), ("noise", noise)):
        if value is not None and (entry is None or not entry.options):
            raise ConfigError(f"data.{key}", "no such option for " + dataset, None,
                              "only generated datasets (spirals, moons) take it")
    if suffix != ".csv":
        for key, value in (("features", features), ("drop", drop)):
            if value:
                raise ConfigError(f"data.{key}", "only with a .csv dataset", None,
                                  f"{dataset} has no named columns")
    if entry is not None and entry.family == "tabular":
        return _array_part(dataset, *entry.make(ctx, samples=samples, noise=noise)), None
    path = resolve_path(dataset, ctx, "data.dataset")
    if suffix == ".npz":
        return _array_part(str(path), *_read_npz(path)), None
    table = read_csv(path)
    part = _csv_part(table, target, _input_columns(table, target, features, drop))
    return part, {c.name: c.kind for c in [*part.cols, part.y]}


def _validation_file(ctx, value, part, kinds, target, missing) -> _Part:
    if kinds is None:
        raise ConfigError("data.validation", "a fraction for a dataset that is not a .csv "
                          "file", value)
    table = read_csv(resolve_path(value, ctx, "data.validation"))
    vpart = _csv_part(table, target, [c.name for c in part.cols], kinds, "data.validation")
    return _missing(vpart, missing, "data.validation")


def _val_targets(vpart: _Part, task: str, classes: np.ndarray,
                 field: str = "data.validation") -> np.ndarray:
    """Validation targets: labels of the training vocabulary (an unknown label is an error)."""
    y = vpart.y.values
    if task != "classification":
        return y.astype(np.float64)
    idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    unknown = np.flatnonzero(classes[idx] != y)
    if len(unknown):
        row = int(unknown[0])
        label = label_strings(y[row:row + 1])[0]
        raise InputError(f"{field}: {vpart.where}: label {label!r} in "
                         f"{vpart.cell(vpart.y.name, row)} is not a training label "
                         f"({', '.join(label_strings(classes))})")
    return idx.astype(np.int64)


def _scale_target(y_tr, y_val, standardize_target, dtype, extras):
    y_tr = y_tr.astype(dtype)
    y_val = None if y_val is None else y_val.astype(dtype)
    if standardize_target:
        mean, std = y_tr.mean(axis=0), y_tr.std(axis=0)
        std = np.where(std == 0, 1.0, std).astype(dtype)
        extras.update(target_mean=mean, target_std=std)
        y_tr = (y_tr - mean) / std
        y_val = None if y_val is None else (y_val - mean) / std
    return y_tr, y_val


def _task(task, ycol: Column):
    """Decide the task; classification targets become labels 0..C-1 (classes kept: the
    sorted distinct values, strings or numbers)."""
    y = ycol.values
    if ycol.kind == "string":
        if task == "regression":
            raise ConfigError("data.task", "classification for a string target column", task)
        task = "classification"
        integral = True
    else:
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


def encode_csv(path: Path, extras: dict, dtype=np.float64,
               field: str = "--data") -> tuple[np.ndarray, np.ndarray]:
    """Inputs of new rows for a fitted run (``predict``): the run's columns read with their
    training kinds, its ``missing`` policy and its Encoder (``extras`` as the loader left
    them, e.g. read back from the run). Returns X and the file's data-row indices it covers
    (``missing: drop`` leaves rows out); a target column, if present, is ignored."""
    enc = Encoder.from_extras(extras)
    table = read_csv(path)
    for name in enc.columns:
        table.need(name, field)
    cols = [table.column(n, "string" if n in enc.categories else "number") for n in enc.columns]
    none = np.zeros(table.n_rows, dtype=bool)
    part = _missing(_Part(str(path), cols, Column("", "number", none, none), table),
                    extras.get("missing", "error"), field)
    rows = np.arange(table.n_rows) if part.index is None else part.index
    return enc.transform(part.cols, dtype), rows


def encode_labelled_csv(path: Path, extras: dict, task: str, dtype=np.float64,
                        field: str = "--data") -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a labelled file for a fitted run (``evaluate``), read exactly as
    the run read its validation file: training kinds, the run's ``missing`` policy and
    Encoder, labels among the training labels, ``standardize_target`` applied."""
    enc = Encoder.from_extras(extras)
    classes, target = np.asarray(extras["classes"]), extras.get("target", "target")
    kinds = {n: "string" if n in enc.categories else "number" for n in enc.columns}
    kinds[target] = "string" if classes.dtype.kind in "US" else "number"
    part = _missing(_csv_part(read_csv(path), target, enc.columns, kinds, field),
                    extras.get("missing", "error"), field)
    y = _val_targets(part, task, classes, field)
    if task != "classification":
        y = y.astype(dtype)
        if "target_std" in extras:
            y = (y - extras["target_mean"]) / extras["target_std"]
    return enc.transform(part.cols, dtype), y


def in_target_units(data: Dataset, values: np.ndarray) -> np.ndarray:
    """Regression outputs or targets back in the target's units (``standardize_target``)."""
    if "target_std" not in data.extras:
        return values
    return values * data.extras["target_std"] + data.extras["target_mean"]


def label_strings(classes: np.ndarray) -> list[str]:
    """Class labels as written in predictions.csv: strings as read, numbers as %.10g."""
    if classes.dtype.kind in "US":
        return [str(c) for c in classes]
    return [format(c, ".10g") for c in classes.tolist()]


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
