"""The tables ``fitcli predict`` writes, per model kind, and registration's warped image.

- mlp, classification: ``row`` (the file's data row, 1 = the first line after the header),
  ``prediction`` (a label as written in the training data), ``p_<label>`` per class;
- mlp, regression: ``row``, ``prediction`` (``prediction0``.. for several targets) in the
  target's own units (``standardize_target`` undone);
- rnn, one output per sequence (adding): ``sequence``, ``prediction``;
- rnn, one output per step of values (sine): ``sequence``, ``step``, ``prediction`` — the
  forecast of the value after step ``step``, having read the sequence up to it;
- rnn, symbols (reber, text .npz): ``sequence``, ``step``, ``input``, ``predicted_next``,
  ``p_predicted``; a text file: ``position`` (0-based character), ``character``,
  ``predicted_next``, ``p_predicted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data.tabular import label_strings
from .errors import InputError

__all__ = ["Predictions", "probabilities", "registration_image", "table"]


@dataclass
class Predictions:
    """What :func:`predict` returns: a table (``header``, ``rows`` of strings) for a CSV,
    or an ``image`` (registration), and the model's raw ``outputs``."""

    header: list[str] = field(default_factory=list)
    rows: list = field(default_factory=list)
    outputs: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    image: np.ndarray | None = None


def probabilities(scores: np.ndarray) -> np.ndarray:
    """Class probabilities of logits: softmax, or for one logit [1 − σ(z), σ(z)]."""
    z = np.asarray(scores, dtype=np.float64)
    if z.shape[-1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-z))
        return np.concatenate([1.0 - p1, p1], axis=-1)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _num(a: np.ndarray) -> np.ndarray:
    return np.char.mod("%.10g", np.asarray(a, dtype=np.float64))


def table(fitted, X, out: np.ndarray, rows) -> object:
    if fitted.kind == "mlp":
        header, cols, probs = _mlp_columns(fitted, out, rows)
    elif fitted.model.symbolic:
        probs = probabilities(out)
        header, cols = _symbol_columns(fitted, X, probs, rows)
    else:
        probs = None
        header, cols = _value_columns(fitted, out)
    return Predictions(header, np.column_stack(cols).tolist(), out, probs)


def _mlp_columns(fitted, out: np.ndarray, rows):
    ex, n = fitted.extras, len(out)
    first = [np.asarray(rows) + 1]
    if fitted.task == "classification":
        labels = np.asarray(ex.get("labels") or label_strings(np.asarray(ex["classes"])))
        probs = probabilities(out)
        header = ["row", "prediction", *(f"p_{lab}" for lab in labels)]
        cols = first + [labels[probs.argmax(axis=1)]] + list(
            np.char.mod("%.6g", probs).T)
        return header, cols, probs
    values = out.reshape(n, -1)
    if "target_std" in ex:
        values = values * ex["target_std"] + ex["target_mean"]
    k = values.shape[1]
    header = ["row", *(["prediction"] if k == 1 else [f"prediction{i}" for i in range(k)])]
    return header, first + list(_num(values).T), None


def _grid(n: int, t: int):
    return np.repeat(np.arange(n), t), np.tile(np.arange(t), n)


def _value_columns(fitted, out: np.ndarray):
    if out.ndim == 2:                       # one output per sequence
        k = out.shape[1]
        header = ["sequence", *(["prediction"] if k == 1 else
                                [f"prediction{i}" for i in range(k)])]
        return header, [np.arange(len(out))] + list(_num(out).T)
    n, t, k = out.shape
    seq, step = _grid(n, t)
    header = ["sequence", "step", *(["prediction"] if k == 1 else
                                    [f"prediction{i}" for i in range(k)])]
    return header, [seq, step] + list(_num(out.reshape(n * t, k)).T)


def _symbol_columns(fitted, X, probs: np.ndarray, rows):
    vocab = np.asarray(fitted.extras["vocab"])
    best = probs.argmax(axis=-1)
    p_best = np.take_along_axis(probs, best[..., None], axis=-1)[..., 0]
    tail = [vocab[best.reshape(-1)], np.char.mod("%.6g", p_best.reshape(-1))]
    if isinstance(X, list):                 # a text file: positions in order
        codes = np.concatenate([x.reshape(-1) for x in X])
        return (["position", "character", "predicted_next", "p_predicted"],
                [np.asarray(rows), vocab[codes], *tail])
    n, t = X.shape
    seq, step = _grid(n, t)
    return (["sequence", "step", "input", "predicted_next", "p_predicted"],
            [seq, step, vocab[X.reshape(-1)], *tail])


def registration_image(fitted, path: Path) -> np.ndarray:
    """Another image of the fixed image's size warped with the run's displacement
    (the run's interpolation and boundary)."""
    from .data.images import load_image
    from .operators.warp import warp

    u = fitted.results.get("displacement")
    if u is None:
        raise InputError(f"RUN_DIR: {fitted.run_dir}: model.npz has no displacement")
    try:
        img = load_image(str(path), gray=True, dtype=u.dtype)
    except InputError as exc:
        raise InputError(f"--data: {exc}") from None
    if img.shape != u.shape[1:]:
        raise InputError(f"--data: {path}: expected an image of {u.shape[1]}x{u.shape[2]} "
                         f"pixels (the run's fixed image), got {img.shape[0]}x{img.shape[1]}")
    opts = fitted.cfg.model
    return warp(img, u, order=3 if opts.get("interpolation", "cubic") == "cubic" else 1,
                boundary=opts.get("boundary", "border"))
