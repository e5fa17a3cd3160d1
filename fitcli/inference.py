"""Use a fitted run on new data: ``fitcli predict`` / ``fitcli evaluate`` (and the API's).

A run is read from its ``model.npz`` (:mod:`fitcli.export`): the model is rebuilt on a
stand-in dataset and the run's own preprocessing (tabular encoder, label vocabulary,
character vocabulary) comes from the file; the training data is not read again.

What ``--data`` is, per kind:

- ``mlp``: a CSV with the training columns (by name, any order, extra columns ignored;
  missing cells per the run's ``data.missing``), or an ``.npz`` with ``X`` (N, D) for a
  run on an array dataset (digits, spirals, an .npz); ``evaluate`` needs the target too.
- ``rnn``: an ``.npz`` with ``X`` in the run's own layout ((N, T, D) values or (N, T)
  symbol codes; ``y`` for evaluate); for a ``text`` run also a plain ``.txt`` file, cut
  into consecutive windows of ``data.length`` characters, each read from a zero state as
  in training, every character predicting the next.
- ``registration``: another image of the fixed image's size, warped with the fitted
  displacement.
- ``superres`` (and test functions): nothing to predict (one line says so).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data.csvfile import Column
from .data.encode import Encoder
from .data.tabular import encode_csv, encode_labelled_csv
from .engine import Tensor, no_grad
from .errors import InputError
from .export import build_model, read_model
from .inference_tables import Predictions, probabilities, registration_image, table

__all__ = ["Fitted", "Predictions", "from_problem", "load_fitted", "model_inputs", "predict",
           "probabilities", "write"]


@dataclass
class Fitted:
    """A fitted run, ready to apply: its config, model, parameters and preprocessing."""

    run_dir: Path
    cfg: object
    model: object
    params: dict
    extras: dict
    task: str
    iteration: int = -1
    results: dict = field(default_factory=dict)   # model.npz's result.* (registration)
    note: str | None = None                        # how it was loaded, when not model.npz

    @property
    def kind(self) -> str:
        return self.cfg.model_cls.name

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.cfg.dtype)


NOTHING = {"superres": "the fitted parameter is the recovered image itself, recovered.png; "
                       "to recover another image: fitcli solve CONFIG --input LOW.png",
           "testfn": "a test function has no inputs"}


def load_fitted(run_dir: str | Path, name: str = "model.npz") -> Fitted:
    """The run's ``model.npz`` (or ``best.npz``) as a :class:`Fitted`. Raises InputError when
    the file is missing."""
    run_dir = Path(run_dir)
    saved = read_model(run_dir / name)
    if saved.kind == "registration":   # the displacement is all predict needs
        from . import config as C

        cfg = C.resolve(saved.config, Path(saved.meta.get("base_dir") or run_dir),
                        saved.config.get("name", "run"))
        model = None
    elif saved.kind in NOTHING:
        raise InputError(f"RUN_DIR: {run_dir} is a {saved.kind} run: nothing to predict: "
                         f"{NOTHING[saved.kind]}")
    else:
        cfg, model = build_model(saved)
    return Fitted(run_dir, cfg, model, saved.params, saved.extras, saved.meta["task"],
                  saved.iteration, saved.results)


def from_problem(run_dir: Path, problem, iteration: int, note: str) -> Fitted:
    """A :class:`Fitted` from a Problem rebuilt from config.yaml + checkpoint.npz (a run
    folder from before model.npz: its training data is read again)."""
    model, views = problem.model, {k: np.array(v) for k, v in problem.params.views.items()}
    if model.name in NOTHING:
        raise InputError(f"RUN_DIR: {run_dir} is a {model.name} run: nothing to predict: "
                         f"{NOTHING[model.name]}")
    return Fitted(run_dir, problem.cfg, model, views, dict(problem.data.extras or {}),
                  problem.data.task, iteration, model.export_arrays(views), note)


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise InputError(f"--data: {path}: no array {missing[0]!r} (has "
                                 f"{', '.join(f.files) or 'none'})")
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"--data: {path}: not a readable .npz file ({exc})") from None


def _check_suffix(path: Path, allowed: tuple[str, ...], kind: str) -> str:
    if not path.exists():
        raise InputError(f"--data: file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InputError(f"--data: {path}: expected a {' or '.join(allowed)} file for a "
                         f"{kind} run")
    return suffix


# -- inputs (and targets) of a file, preprocessed as in training -----------------------------
def model_inputs(fitted: Fitted, path: str | Path, labelled: bool = False):
    """``(X, y or None, rows)`` of ``path`` for the run's model: inputs preprocessed as in
    training, targets (``labelled``) in the training encoding, and which rows of the file
    (or positions of a text) the inputs are."""
    path = Path(path)
    if fitted.kind == "mlp":
        return _tabular_inputs(fitted, path, labelled)
    if fitted.kind == "rnn":
        return _sequence_inputs(fitted, path, labelled)
    raise InputError(f"RUN_DIR: {fitted.run_dir} is a {fitted.kind} run: it has no "
                     "labelled samples to evaluate")


def _tabular_inputs(fitted: Fitted, path: Path, labelled: bool):
    ex, dtype = fitted.extras, fitted.dtype
    if _check_suffix(path, (".csv", ".npz"), "mlp") == ".csv":
        if labelled:
            X, y = encode_labelled_csv(path, ex, fitted.task, dtype)
            rows = None
        else:
            (X, rows), y = encode_csv(path, ex, dtype), None
    else:
        X, y, rows = _tabular_npz(fitted, path, labelled)
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        r, j = bad[0]
        where = f"data row {int(rows[r]) + 1}" if rows is not None else f"sample {r + 1}"
        raise InputError(f"--data: {path}: a missing value in input {ex['features'][j]!r} of "
                         f"{where}, and the run has no fill value for it (its training part "
                         "had none there): fill it in or drop the row")
    return X, y, rows


def _tabular_npz(fitted: Fitted, path: Path, labelled: bool):
    """``X`` (N, D) (and ``y``) of an array dataset, through the run's Encoder."""
    ex = fitted.extras
    if ex.get("categories"):
        raise InputError(f"--data: {path}: this run was trained on a CSV with categorical "
                         "columns: give a .csv file")
    arrays = _read_npz(path, ("X", "y") if labelled else ("X",))
    if arrays["X"].dtype.kind not in "biuf":   # complex: float64 drops the imaginary part
        raise InputError(f"--data: {path}: array X holds {arrays['X'].dtype} values; expected "
                         "real numbers")
    X = np.asarray(arrays["X"], dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(ex["columns"]):
        raise InputError(f"--data: {path}: expected X of shape (N, {len(ex['columns'])}), got "
                         f"{X.shape}")
    cols = [Column(n, "number", X[:, j], ~np.isfinite(X[:, j]))
            for j, n in enumerate(ex["columns"])]
    X = Encoder.from_extras(ex).transform(cols, fitted.dtype)
    if not labelled:
        return X, None, np.arange(len(X))
    return X, _npz_targets(fitted, path, arrays["y"], len(X)), None


def _npz_targets(fitted: Fitted, path: Path, y: np.ndarray, n: int) -> np.ndarray:
    ex = fitted.extras
    if len(y) != n:
        raise InputError(f"--data: {path}: y has {len(y)} rows, X has {n}")
    if fitted.task != "classification":
        y = y.astype(fitted.dtype)
        if "target_std" in ex:
            y = (y - ex["target_mean"]) / ex["target_std"]
        return y
    classes = np.asarray(ex["classes"])
    idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    unknown = np.flatnonzero(classes[idx] != y)
    if len(unknown):
        raise InputError(f"--data: {path}: label {y[unknown[0]]!r} of sample "
                         f"{unknown[0] + 1} is not a training label")
    return idx.astype(np.int64)


def _sequence_inputs(fitted: Fitted, path: Path, labelled: bool):
    ex = fitted.extras
    allowed = (".npz", ".txt") if ex.get("kind") == "text" else (".npz",)
    if _check_suffix(path, allowed, f"rnn ({ex.get('kind')})") == ".txt":
        return _text_inputs(fitted, path, labelled)
    arrays = _read_npz(path, ("X", "y") if labelled else ("X",))
    X = np.asarray(arrays["X"])
    symbolic, n_in = fitted.model.symbolic, fitted.model.n_inputs
    if symbolic:
        if X.ndim != 2 or X.dtype.kind not in "iu" or X.size and not (
                X.min() >= 0 and X.max() < n_in):
            raise InputError(f"--data: {path}: expected X of integer symbol codes 0..{n_in - 1}"
                             f" of shape (N, T), got {X.dtype} {X.shape}")
        X = X.astype(np.int64)
    elif X.ndim != 3 or X.shape[2] != n_in:
        raise InputError(f"--data: {path}: expected X of shape (N, T, {n_in}), got {X.shape}")
    else:
        X = X.astype(fitted.dtype)
    y = None
    if labelled:
        y = np.asarray(arrays["y"])
        y = y.astype(np.int64) if symbolic else y.astype(fitted.dtype)
        if len(y) != len(X):
            raise InputError(f"--data: {path}: y has {len(y)} sequences, X has {len(X)}")
    return X, y, None


def _text_inputs(fitted: Fitted, path: Path, labelled: bool):
    """Character codes of a text file as consecutive windows of the run's length; returns
    (list of code arrays (n, L) — full windows and the rest —, targets alike or None)."""
    from .data.sequences import read_text

    try:
        text = read_text(path)
    except InputError as exc:
        raise InputError(str(exc).replace("data.path", "--data")) from None
    vocab = list(fitted.extras["vocab"])
    unknown = sorted(set(text) - set(vocab))
    if unknown:
        raise InputError(f"--data: {path}: characters {''.join(unknown)!r} are not in the "
                         f"run's vocabulary of {len(vocab)} characters")
    lookup = {c: i for i, c in enumerate(vocab)}
    codes = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    if labelled and len(codes) < 2:
        raise InputError(f"--data: {path}: at least two characters are needed to evaluate")
    inputs, targets = (codes[:-1], codes[1:]) if labelled else (codes, None)
    L = int(fitted.cfg.data["length"])
    return _windows(inputs, L), (None if targets is None else _windows(targets, L)), \
        np.arange(len(inputs))


def _windows(codes: np.ndarray, L: int) -> list[np.ndarray]:
    full = len(codes) // L
    parts = [codes[:full * L].reshape(full, L)] if full else []
    if len(codes) % L:
        parts.append(codes[full * L:][None])
    return parts


def outputs(fitted: Fitted, X) -> np.ndarray:
    """The model's raw outputs on preprocessed inputs (text windows: flattened to one
    sequence (1, P, V), every position in order)."""
    if isinstance(X, list):
        return np.concatenate([fitted.model.predict(fitted.params, x).reshape(
            1, -1, fitted.model.n_outputs) for x in X], axis=1)
    return fitted.model.predict(fitted.params, X)


def flat_targets(y):
    return np.concatenate([t.reshape(1, -1) for t in y], axis=1) if isinstance(y, list) else y


def loss_value(fitted: Fitted, pred: np.ndarray, y: np.ndarray) -> float:
    """The run's loss on (pred, y), computed as the fit loop computes val_loss."""
    loss = fitted.cfg.loss_cls(**fitted.cfg.loss)
    with no_grad():
        return float(loss(Tensor(pred), y).data)


# -- predict ---------------------------------------------------------------------------------
def predict(fitted: Fitted, path: str | Path) -> Predictions:
    """Apply the fitted run to the file ``path`` (see the module docstring)."""
    if fitted.kind == "registration":
        return Predictions(image=registration_image(fitted, Path(path)))
    X, _, rows = model_inputs(fitted, path)
    out = outputs(fitted, X)
    return table(fitted, X, out, rows)


def write(pred: Predictions, out: Path) -> Path:
    """Write predictions: an image (registration; .png/.tif/.npy) or a CSV table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if pred.image is not None:
        from .data.images import save_image

        return save_image(out, pred.image)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(pred.header)
        w.writerows(pred.rows)
    return out
