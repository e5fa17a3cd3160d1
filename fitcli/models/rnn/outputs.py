"""Task metrics and run-folder outputs of the ``rnn`` model (numpy only, no printing).

Metrics per dataset kind: ``mse`` for adding and sine; for reber ``legal``
(the fraction of steps whose most likely next symbol is one the grammar
allows) and ``accuracy``; for text ``bpc`` (cross-entropy in bits per
character) and ``accuracy``. Outputs: ``samples.txt`` (text), ``forecast.png``
(sine: free-running forecast against the truth).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...data.sequences import reber_legal_mask

__all__ = ["bits_per_char", "save_rnn_outputs", "sequence_metrics", "sine_forecast"]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def bits_per_char(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean −log₂ p(target) over every (sample, step): logits (N, T, V), targets (N, T)."""
    lp = _log_softmax(np.asarray(logits, dtype=np.float64))
    picked = np.take_along_axis(lp, np.asarray(targets)[..., None], axis=-1)
    return float(-picked.mean() / np.log(2.0))


def sequence_metrics(kind: str, pred: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """The metrics of one dataset kind on numpy predictions and targets."""
    if kind in ("reber", "text"):
        labels = np.argmax(pred, axis=-1)
        out = {"accuracy": float(np.mean(labels == targets))}
        if kind == "reber":
            mask = reber_legal_mask(targets)
            out["legal"] = float(np.mean(np.take_along_axis(mask, labels[..., None], -1)))
        else:
            out["bpc"] = bits_per_char(pred, targets)
        return out
    r = pred - np.asarray(targets).reshape(pred.shape)
    return {"mse": float(np.mean(r * r))}


def sine_forecast(model, params: Mapping[str, np.ndarray], series: np.ndarray,
                  warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """One-step predictions over ``series`` (N, L) and a free-running forecast.

    The model reads the observed values up to ``warmup`` (teacher forcing) and
    then feeds its own predictions back. Returns (one_step (N, L−1) predicting
    series[:, 1:], forecast (N, L − warmup − 1) predicting series[:, warmup + 1:]).
    """
    import fitcli.engine as fe

    with fe.no_grad():
        p = {k: fe.Tensor(v) for k, v in params.items()}
        outs, _ = model.run(p, series[:, :-1, None])
        one_step = model.readout_layer(p, outs).data[..., 0]
        outs, state = model.run(p, series[:, :warmup + 1, None])
        x = model.readout_layer(p, outs[-1:]).data[:, -1]            # (N, 1)
        forecast = [x[:, 0]]
        for _ in range(series.shape[1] - warmup - 2):
            outs, state = model.run(p, x[:, None, :], state)
            x = model.readout_layer(p, outs).data[:, -1]
            forecast.append(x[:, 0])
    return one_step, np.stack(forecast, axis=1)


def _save_forecast(model, run_dir: Path, params, data) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = data.X_val if data.X_val is not None else data.X_train
    y = data.y_val if data.y_val is not None else data.y_train
    clean = data.extras.get("clean_val") if data.X_val is not None else None
    series = np.concatenate([X[:3, :, 0], y[:3, -1:, 0]], axis=1)
    L = series.shape[1]
    warmup = L // 2
    one_step, forecast = sine_forecast(model, params, series, warmup)
    fig, axes = plt.subplots(len(series), 1, figsize=(9, 2.4 * len(series)), squeeze=False)
    t = np.arange(L)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, series[i], ".", color="0.6", ms=3, label="observed (noisy)")
        if clean is not None:
            ax.plot(t, clean[i], color="k", lw=1, label="truth (noise-free)")
        ax.plot(t[1:], one_step[i], color="C0", lw=1, label="one-step prediction")
        ax.plot(t[warmup + 1:], forecast[i], color="C3", lw=1.5, label="free-running forecast")
        ax.axvline(warmup + 0.5, color="0.8", ls="--")
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=2)
    axes[-1, 0].set_xlabel("time step")
    fig.suptitle("sine: forecast vs truth (validation series; forecast after the dashed line)")
    fig.tight_layout()
    fig.savefig(run_dir / "forecast.png", dpi=100)
    plt.close(fig)
    return ["forecast.png"]


def _save_samples(model, run_dir: Path, params, data) -> list[str]:
    from .text import sample_text

    rng = np.random.default_rng(data.extras.get("sample_seed", 0))
    vocab = data.extras["vocab"]
    prime_codes = (data.X_val if data.X_val is not None else data.X_train)[0, :20]
    prime = "".join(vocab[i] for i in prime_codes)
    parts = []
    for temperature in (0.5, 0.8, 1.0):
        text = sample_text(model, params, 300, temperature=temperature, prime=prime, rng=rng)
        parts.append(f"--- temperature {temperature}, prime {prime!r}\n{text}\n")
    (run_dir / "samples.txt").write_text("\n".join(parts), encoding="utf-8")
    return ["samples.txt"]


def save_rnn_outputs(model, run_dir: Path, params: Mapping[str, np.ndarray], data) -> list[str]:
    """The extra run-folder files of a sequence task; returns their names."""
    if model.kind == "text":
        return _save_samples(model, run_dir, params, data)
    if model.kind == "sine":
        return _save_forecast(model, run_dir, params, data)
    return []
