"""``fitcli evaluate``: a fitted run's metrics on a labelled file.

The metrics are those of the run's validation rows, computed the same way: ``loss`` (the
run's loss, as ``val_loss``; in standardised units under ``standardize_target``) and the
model's metrics (``accuracy``, ``r2``, ``mse``, ``bpc``, ``legal``, as ``val_<m>``), so a
file holding the run's validation rows reproduces them exactly. Classification (mlp)
adds per-class precision, recall, F1 and support and the confusion matrix (rows: true
label, columns: predicted); regression adds ``rmse`` and ``mae`` in the target's units.
Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data.tabular import label_strings
from .inference import Fitted, flat_targets, loss_value, model_inputs, outputs

__all__ = ["evaluate", "write_evaluation"]


def evaluate(fitted: Fitted, path: str | Path) -> dict:
    """The run's metrics on ``path`` (a dict, as evaluation.json)."""
    X, y, _ = model_inputs(fitted, path, labelled=True)
    pred, y = outputs(fitted, X), flat_targets(y)
    result = {"run": str(fitted.run_dir), "data": str(path), "model": fitted.kind,
              "iteration": fitted.iteration, "n": int(len(y) if pred.ndim == 2 else y.size),
              "metrics": {"loss": loss_value(fitted, pred, y),
                          **fitted.model.metrics(pred, y)}}
    if fitted.kind == "mlp" and fitted.task == "classification":
        result.update(_per_class(fitted, pred, y))
    elif fitted.kind == "mlp":
        ex = fitted.extras
        scale = ex.get("target_std", 1.0)
        r = (pred - y.reshape(pred.shape)) * scale   # residuals in the target's units
        result["metrics"].update(rmse=float(np.sqrt(np.mean(r * r))),
                                 mae=float(np.mean(np.abs(r))))
    if fitted.note:
        result["note"] = fitted.note
    return result


def _per_class(fitted: Fitted, pred: np.ndarray, y: np.ndarray) -> dict:
    ex = fitted.extras
    labels = ex.get("labels") or label_strings(np.asarray(ex["classes"]))
    c = len(labels)
    guess = (pred[:, 0] > 0).astype(np.int64) if pred.shape[1] == 1 else pred.argmax(axis=1)
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (y, guess), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = 2 * precision * recall / (precision + recall)
    per_class = [{"label": str(lab), "precision": _f(p), "recall": _f(r), "f1": _f(f),
                  "support": int(s)}
                 for lab, p, r, f, s in zip(labels, precision, recall, f1, support,
                                            strict=True)]
    return {"per_class": per_class,
            "confusion": {"labels": [str(lab) for lab in labels],
                          "matrix": confusion.tolist()}}


def _f(v) -> float | None:
    return float(v) if np.isfinite(v) else None      # JSON has no NaN: null (no sample)


def write_evaluation(result: dict, out_dir: Path) -> list[Path]:
    """evaluation.json and, for classification, confusion.png in ``out_dir``."""
    from .runfolder import write_json

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "evaluation.json"]
    write_json(written[0], result)
    if "confusion" in result:
        written.append(_confusion_figure(out_dir / "confusion.png", result))
    return written


def _confusion_figure(path: Path, result: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, m = result["confusion"]["labels"], np.asarray(result["confusion"]["matrix"])
    size = min(12.0, 2.5 + 0.45 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    if len(labels) <= 30:
        ticks = np.arange(len(labels))
        ax.set_xticks(ticks, labels, rotation=90 if len(labels) > 8 else 0)
        ax.set_yticks(ticks, labels)
        rows, cols = np.nonzero(m)
        for r, c in zip(rows, cols, strict=True):   # the non-zero cells only
            ax.text(c, r, str(m[r, c]), ha="center", va="center", fontsize=8,
                    color="white" if m[r, c] > m.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true",
           title=f"accuracy {result['metrics'].get('accuracy', float('nan')):.4f} "
                 f"on {Path(result['data']).name} (n = {result['n']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
