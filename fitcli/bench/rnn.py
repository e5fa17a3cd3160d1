"""RNN benchmark: one BPTT gradient step through the engine against numpy by hand, and memory.

Run ``python -m fitcli.bench.rnn [--quick] [--cells]`` (``--cells``: table 3 alone).

1. Time of one loss+gradient evaluation of an Elman RNN (hidden 128, input 16,
   batch 32, T = 100, readout at every step, MSE, float64) through the engine
   (``RNN.data_term`` + backward + gather into the flat gradient) against the
   same computation written by hand in numpy (input projection fused over all
   steps, BPTT loop). Medians over interleaved repetitions; target ≤ 1.3×.
2. Peak traced memory (tracemalloc) of the engine's forward+backward at
   T = 250, 500, 1000 against the bare activations BPTT must keep (the T
   hidden states, N·H·T numbers) and against the numpy-by-hand step (which
   keeps states, their cotangents and the pre-activation gradients) — it
   should grow linearly in T.
3. Per cell (elman, gru, lstm; hidden 128, batch 32, one layer) on two settings —
   ``char``: a character model (64 one-hot symbols, T = 64, readout at every step,
   softmax cross-entropy) and ``adding``: the adding problem at T = 200 (readout
   last, MSE) — the engine's ms per loss+gradient (≈ one update) and per loss
   alone (CPU time: steadier on a shared machine; one BLAS thread assumed), their
   ratio, and the hand-written numpy of :mod:`.rnn_hand` (input
   projection and weight gradients in one matmul each, gates kept) as yardstick.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

import fitcli.engine as fe

from ..data.base import Dataset
from ..losses import Logistic
from ..models.base import ParamVector
from ..models.rnn import RNN
from ._timing import interleaved
from .rnn_hand import hand_grad, hand_loss

__all__ = ["SETTINGS", "cell_problem", "cell_timing", "engine_grad", "make_problem",
           "memory_profile", "numpy_grad", "timing"]


def _mse(pred, y):
    r = pred - y
    return fe.mean(r * r)


def make_problem(T=100, N=32, D=16, H=128, O=1, cell="elman", seed=0, dtype=np.float64):
    """A sequence-regression model, its flat parameters and one batch (X (N, T, D), y)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, T, D)).astype(dtype)
    y = rng.standard_normal((N, T, O)).astype(dtype)
    data = Dataset("bench", "sequence", X, y, extras={"kind": "sine", "n_inputs": D,
                                                      "n_outputs": O, "readout": "all"})
    model = RNN(data, cell=cell, hidden=H)
    pv = ParamVector(model.param_shapes(), dtype=dtype)
    model.init_params(pv.views, rng)
    return model, pv, X, y


# name: (symbols V or input width D, T, readout, targets)
SETTINGS = {"char": (64, 64, "all", "symbols"), "adding": (2, 200, "last", "values")}


def cell_problem(setting, cell, N=32, H=128, seed=0):
    """A one-layer ``cell`` model of one of :data:`SETTINGS`, its parameters and a batch."""
    width, T, readout, targets = SETTINGS[setting]
    rng = np.random.default_rng(seed)
    if targets == "symbols":
        X = rng.integers(0, width, (N, T))
        y = rng.integers(0, width, (N, T))
        extras = {"kind": "text", "n_inputs": width, "n_outputs": width, "readout": readout}
        data = Dataset("bench", "classification", X, y, n_classes=width, extras=extras)
    else:
        X = rng.standard_normal((N, T, width))
        y = rng.standard_normal((N, 1))
        extras = {"kind": "adding", "n_inputs": width, "n_outputs": 1, "readout": readout}
        data = Dataset("bench", "regression", X, y, extras=extras)
    model = RNN(data, cell=cell, hidden=H)
    pv = ParamVector(model.param_shapes())
    model.init_params(pv.views, rng)
    return model, pv, X, y


def _loss_of(y):
    return Logistic() if np.issubdtype(np.asarray(y).dtype, np.integer) else _mse


def engine_loss(model, pv, X, y):
    """The loss alone through the engine (no graph recorded)."""
    with fe.no_grad():
        return float(model.data_term(pv.leaves(pv.flat), _loss_of(y), X, y).data)


def cell_timing(setting, cell, rounds=9):
    """Median ms of loss+gradient and of loss alone, engine and by hand, and the
    max |difference| of the two gradients."""
    model, pv, X, y = cell_problem(setting, cell)
    readout = SETTINGS[setting][2]
    ge, gh = np.empty(pv.size), np.empty(pv.size)
    le, lh = engine_grad(model, pv, X, y, ge), hand_grad(cell, pv, X, y, readout, gh)
    diff = max(abs(le - lh), float(np.max(np.abs(ge - gh))))
    med = interleaved({
        "grad": lambda: engine_grad(model, pv, X, y, ge),
        "loss": lambda: engine_loss(model, pv, X, y),
        "hand_grad": lambda: hand_grad(cell, pv, X, y, readout, gh),
        "hand_loss": lambda: hand_loss(cell, pv, X, y, readout)}, rounds=rounds, warmup=1,
        clock=time.process_time)
    return {k: v * 1e3 for k, v in med.items()}, diff


def engine_grad(model, pv, X, y, out):
    """Loss and flat gradient (written into ``out``) through the engine."""
    leaves = pv.leaves(pv.flat)
    loss = model.data_term(leaves, _loss_of(y), X, y)
    loss.backward()
    pv.gather_grad(leaves, out)
    return float(loss.data)


def numpy_grad(pv, X, y, out):
    """The same loss and gradient by hand: fused input projection, BPTT loop."""
    p = pv.unflatten(pv.flat)
    g = pv.unflatten(out)
    W, U, b, Wy, by = p["W0"], p["U0"], p["b0"], p["Wy"], p["by"]
    N, T, D = X.shape
    H = U.shape[0]
    Xt = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(T * N, D)
    hs = np.empty((T + 1, N, H))
    hs[0] = 0.0
    A = (Xt @ W).reshape(T, N, H)
    A += b
    for t in range(T):
        z = hs[t] @ U
        z += A[t]
        np.tanh(z, out=hs[t + 1])
    Hs = hs[1:].reshape(T * N, H)
    r = Hs @ Wy + by - np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(T * N, -1)
    loss = float(np.mean(r * r))
    dP = r * (2.0 / r.size)                       # ∂loss/∂pred
    g["Wy"][...] = Hs.T @ dP
    g["by"][...] = dP.sum(axis=0)
    dH = (dP @ Wy.T).reshape(T, N, H)
    dZ = np.empty((T, N, H))
    dh = np.zeros((N, H))
    gU = g["U0"]
    gU[...] = 0.0
    for t in range(T - 1, -1, -1):
        dh += dH[t]
        h = hs[t + 1]
        dz = dZ[t]
        np.multiply(dh, 1.0 - h * h, out=dz)     # tanh' = 1 − h²
        gU += hs[t].T @ dz
        dh = dz @ U.T
    dZf = dZ.reshape(T * N, H)
    g["W0"][...] = Xt.T @ dZf
    g["b0"][...] = dZf.sum(axis=0)
    return loss


def timing(rounds=21, T=100):
    """Median seconds per gradient: engine, numpy; and their max abs difference."""
    model, pv, X, y = make_problem(T=T)
    ge, gn = np.empty(pv.size), np.empty(pv.size)
    le, ln = engine_grad(model, pv, X, y, ge), numpy_grad(pv, X, y, gn)
    diff = max(abs(le - ln), float(np.max(np.abs(ge - gn))))
    fns = {"engine": lambda: engine_grad(model, pv, X, y, ge),
           "numpy": lambda: numpy_grad(pv, X, y, gn)}
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return med["engine"], med["numpy"], diff


def _traced_peak(fn) -> int:
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def memory_profile(lengths=(250, 500, 1000), N=32, D=16, H=128):
    """Per T: peak traced bytes of one engine forward+backward, of the numpy-by-hand
    step, and the bare activations (the T hidden states, N·H·T·8 bytes)."""
    rows = []
    for T in lengths:
        model, pv, X, y = make_problem(T=T, N=N, D=D, H=H)
        out = np.empty(pv.size)
        peak = _traced_peak(lambda: engine_grad(model, pv, X, y, out))
        hand = _traced_peak(lambda: numpy_grad(pv, X, y, out))
        rows.append((T, peak, hand, T * N * H * 8))
    return rows


def _print_cells(rounds: int) -> None:
    print("Per cell, hidden 128, batch 32, float64: CPU ms per loss+gradient (~ one update) "
          "and per loss; hand = numpy by hand (set OPENBLAS_NUM_THREADS=1)")
    print(f"  {'setting':8s} {'cell':6s} {'grad':>8s} {'loss':>8s} {'grad/loss':>9s} "
          f"{'hand':>8s} {'hand g/l':>8s} {'eng/hand':>8s}  max|diff|")
    for setting in SETTINGS:
        for cell in ("elman", "gru", "lstm"):
            ms, diff = cell_timing(setting, cell, rounds)
            print(f"  {setting:8s} {cell:6s} {ms['grad']:8.2f} {ms['loss']:8.2f} "
                  f"{ms['grad'] / ms['loss']:9.2f} {ms['hand_grad']:8.2f} "
                  f"{ms['hand_grad'] / ms['hand_loss']:8.2f} "
                  f"{ms['grad'] / ms['hand_grad']:8.2f}  {diff:.1e}")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    if "--cells" in argv:            # the per-cell table alone
        _print_cells(5 if quick else 9)
        return
    te, tn, diff = timing(rounds=5 if quick else 21)
    print("RNN benchmark (elman, hidden 128, input 16, batch 32, T=100, float64, readout all)")
    print(f"  engine gradient step : {te * 1e3:8.2f} ms (median)")
    print(f"  numpy by hand        : {tn * 1e3:8.2f} ms (median)")
    print(f"  ratio engine / numpy : {te / tn:8.3f}   (target <= 1.3)")
    print(f"  max |difference| of loss and gradient: {diff:.2e}")
    print("Peak traced memory of forward+backward (tracemalloc) vs bare hidden states N*H*T*8 B")
    for T, peak, hand, bare in memory_profile((100, 250) if quick else (250, 500, 1000)):
        print(f"  T={T:5d}  engine {peak / 2**20:7.1f} MiB ({peak / bare:4.2f}x bare, "
              f"{peak / T / 1024:6.1f} KiB/step)   numpy by hand {hand / 2**20:7.1f} MiB "
              f"({hand / bare:4.2f}x)   bare {bare / 2**20:6.1f} MiB")
    _print_cells(5 if quick else 9)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
