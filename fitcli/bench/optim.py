"""Optimizer benchmark: ``python -m fitcli.bench.optim [--quick]``.

1. Iterations and seconds (inside ``step``) to a target loss for each optimizer on the
   l2-regularised softmax regression of the 8×8 digits and on a small tanh MLP of the
   digits: configs run by ``fitcli.compare``, i.e. every optimizer through the one loop.
2. The cost of the L-BFGS machinery: on a 512×512 Tikhonov deblurring objective
   (n = 262 144, FFT convolution), the time of one lbfgs iteration beyond its
   function/gradient evaluations, as a fraction of one evaluation (target < 10 %), and in
   nanoseconds per variable (PyTorch's L-BFGS: about 20, scipy's L-BFGS-B about 120).

BLAS threads: with several busy processes on 2 cores, OpenBLAS's spinning threads made a
262 144-long dot product 100× slower here (20 ms instead of 0.07 ms), so this benchmark
defaults to ``OPENBLAS_NUM_THREADS=1`` (set it in the environment to override).
"""

from __future__ import annotations

import os

# before numpy loads (``python -m fitcli.bench.optim`` imports nothing heavy before this)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

from ..compare import _short, compare  # noqa: E402
from ..optim import OPTIMIZERS  # noqa: E402

DIGITS = Path(__file__).resolve().parents[2] / "datasets" / "digits.npz"


# the two objectives of section 1, as configs run by fitcli.compare (the one loop)
SOFTMAX = {"name": "softmax-digits", "seed": 0,
           "data": {"dataset": "digits", "validation": 0.0},
           "model": {"type": "testfn", "function": "logistic_regression"},
           "regularization": [{"type": "l2", "weight": 1e-2}],
           "optimizer": {"type": "lbfgs"}}
MLP = {"name": "mlp-digits", "seed": 0,
       "data": {"dataset": "digits", "validation": 0.0},
       "model": {"type": "mlp", "hidden": [32], "activation": "tanh"}, "loss": "logistic",
       "regularization": [{"type": "l2", "weight": 1e-4}],
       "optimizer": {"type": "lbfgs"}}


def _stochastic(spec: str) -> bool:
    return OPTIMIZERS[spec.split(":")[0]].stochastic


def time_to_target(title: str, raw: dict, specs: list[str], iterations: int, rel_gap: float):
    """Print iterations / seconds to F_ref + rel_gap·(F0 − F_ref) for each spec."""
    from .. import config as C

    cfg = C.resolve(raw, DIGITS.parents[1], raw["name"])
    ref = compare(cfg, ["lbfgs"], iterations=5 * iterations)
    f_ref = ref.runs[0].losses.min()
    f0 = ref.runs[0].losses[0]
    target = f_ref + rel_gap * (f0 - f_ref)
    result = compare(cfg, [s for s in specs if not _stochastic(s)], iterations=iterations,
                     target=target)
    # minibatch methods: 20× the steps (one step of batch 32 costs ~1/56 of a full pass)
    more = compare(cfg, [s for s in specs if _stochastic(s)], iterations=20 * iterations,
                   target=target)
    result.table += more.table
    print(f"\n{title}: target loss {target:.8g} (F_ref {f_ref:.8g} + {rel_gap:g}·gap)")
    print(f"{'optimizer':28s} {'iters':>7s} {'seconds':>9s} {'evals':>7s} {'final loss':>13s}"
          "  status   (iters, seconds: to the target; evals: calls in the whole run)")
    for row in result.table:
        it, sec = row["iters_to_target"], row["seconds_to_target"]
        print(f"{row['optimizer']:28s} {it if it is not None else '—':>7} "
              f"{(f'{sec:.4f}' if sec is not None else '—'):>9s} {row['evaluations']:7d} "
              f"{row['final_loss']:13.8g}  {_short(row['status'])}")


def deblur_objective(side: int = 512, lam: float = 1e-3, dtype=np.float64, seed: int = 0):
    """E(x) = ½‖k ∗ x − y‖² + (λ/2)‖∇x‖² (periodic), x an image of side² pixels, flat."""
    rng = np.random.default_rng(seed)
    r = np.fft.fftfreq(side)[:, None] ** 2 + np.fft.rfftfreq(side)[None, :] ** 2
    khat = np.exp(-2 * (np.pi * 2.0) ** 2 * r).astype(dtype)       # Gaussian blur, σ = 2 px
    truth = rng.random((side, side)).astype(dtype)
    y = scipy.fft.irfft2(khat * scipy.fft.rfft2(truth), s=(side, side)).astype(dtype)
    calls = {"n": 0, "seconds": 0.0}

    def closure(x, batch=None, need_grad=True):
        t0 = time.perf_counter()
        u = x.reshape(side, side)
        res = scipy.fft.irfft2(khat * scipy.fft.rfft2(u), s=u.shape) - y
        dr = np.roll(u, -1, 0) - u
        dc = np.roll(u, -1, 1) - u
        f = 0.5 * float(np.vdot(res, res)) + 0.5 * lam * float(np.vdot(dr, dr) + np.vdot(dc, dc))
        g = None
        if need_grad:
            g = scipy.fft.irfft2(khat * scipy.fft.rfft2(res), s=u.shape)
            g += lam * ((np.roll(dr, 1, 0) - dr) + (np.roll(dc, 1, 1) - dc))
            g = g.reshape(-1)
        calls["n"] += 1
        calls["seconds"] += time.perf_counter() - t0
        return f, g

    closure.calls = calls
    return closure, side * side


def lbfgs_overhead(history: int, dtype=np.float64, iterations: int = 30) -> dict:
    """Seconds of an lbfgs iteration outside the closure, per iteration and per evaluation."""
    closure, n = deblur_objective(dtype=dtype)
    x = np.zeros(n, dtype=dtype)
    opt = OPTIMIZERS["lbfgs"](x, history=history)
    for _ in range(history + 2):            # fill the history first: the steady state
        opt.step(closure)
    calls = closure.calls
    calls["n"], calls["seconds"] = 0, 0.0
    t0 = time.perf_counter()
    for _ in range(iterations):
        opt.step(closure)
    total = time.perf_counter() - t0
    per_eval = calls["seconds"] / calls["n"]
    over = (total - calls["seconds"]) / iterations
    return {"history": history, "dtype": np.dtype(dtype).name, "eval_ms": per_eval * 1e3,
            "evals_per_iter": calls["n"] / iterations, "overhead_ms": over * 1e3,
            "fraction": over / per_eval, "ns_per_var": over / n * 1e9}


def main(argv: list[str] | None = None) -> None:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    specs = ["gd", "gd:step=bb", "gd:step=wolfe", "heavy_ball", "nesterov", "lbfgs", "bfgs",
             "fista", "sgd:step=0.1:momentum=0.9", "adam:step=0.01", "svrg"]
    time_to_target("softmax regression, digits, l2 = 1e-2 (650 parameters)",
                   SOFTMAX, specs, 200 if quick else 2000, 1e-4)
    time_to_target("tanh MLP 64-32-10 through the engine, digits (2410 parameters)",
                   MLP, [s for s in specs if s != "bfgs"] + ["bfgs"],
                   100 if quick else 1000, 1e-2)
    print("\nL-BFGS machinery beyond evaluations, 512² Tikhonov deblurring (n = 262144)")
    print(f"{'history':>7s} {'dtype':>8s} {'eval ms':>8s} {'evals/it':>8s} {'overhead ms':>11s}"
          f" {'fraction':>9s} {'ns/var':>7s}")
    for h, dt in [(5, np.float64), (10, np.float64), (20, np.float64), (10, np.float32)]:
        r = lbfgs_overhead(h, dt, 10 if quick else 30)
        print(f"{r['history']:7d} {r['dtype']:>8s} {r['eval_ms']:8.2f} {r['evals_per_iter']:8.2f}"
              f" {r['overhead_ms']:11.2f} {r['fraction']:9.1%} {r['ns_per_var']:7.1f}")


if __name__ == "__main__":
    main()
