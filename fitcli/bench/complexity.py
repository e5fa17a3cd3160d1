"""The complexity of derivatives, measured: finite differences, forward and reverse mode.

``fitcli bench complexity`` (or ``python -m fitcli.bench.complexity [--quick] [--out DIR]``)
measures on this machine, medians over interleaved repetitions:

1. f: Rⁿ → R at n = 10 … 10⁴: the cost of its gradient relative to one
   evaluation, by finite differences (n + 1 evaluations), forward mode (n
   JVPs) and reverse mode (one sweep: a constant).
2. f: Rⁿ → Rᵐ: the full Jacobian by forward mode (n JVPs) against reverse
   mode (m VJPs) at fixed n and growing m — the two cross at m ≈ n.
3. A chain of R dense n×n Jacobians applied to a scalar output: the product
   accumulated from the input end (matrix–matrix, ~R·n³) against from the
   output end (vector–matrix, ~R·n²).
4. Optionally, a shipped config's objective: time(loss) vs time(loss + grad).

The tables are returned as lists of dicts and drawn in one figure.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import fitcli.engine as fe

from ._timing import interleaved


def _scalar_fn(n: int, rng: np.random.Generator) -> Callable:
    """A scalar function of n inputs whose cost is linear in n (elementwise chain + reductions)."""
    w = rng.standard_normal(n)
    c = rng.standard_normal(n)

    def f(x):
        h = fe.tanh(x * w + c)
        s = fe.softplus(h * x) + h * h
        return fe.sum(s * c) + fe.logsumexp(x)
    return f


def _best(f: Callable, reps: int) -> float:
    """Median seconds of ``reps`` calls (for the slow FD / forward sweeps, run fewer times)."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def gradient_costs(ns=(10, 100, 1000, 10000), rounds=9) -> list[dict]:
    """Cost of a full gradient / cost of f, by FD, forward mode and reverse mode."""
    rng = np.random.default_rng(0)
    rows = []
    for n in ns:
        f = _scalar_fn(n, rng)
        x = rng.standard_normal(n)
        vg = fe.value_and_grad(f)
        t = interleaved({"f": lambda: f(x), "reverse": lambda: vg(x)}, rounds=rounds)

        def fd():
            f0 = f(x).item()
            g = np.empty(n)
            for j in range(n):  # n + 1 evaluations: what finite differences cost
                xj = x.copy()
                xj[j] += 1e-7
                g[j] = (f(xj).item() - f0) / 1e-7
            return g

        def fwd():
            return fe.jacfwd(f)(x)

        reps = 3 if n >= 1000 else 5
        t_fd, t_fwd = _best(fd, reps), _best(fwd, reps)
        rows.append({"n": n, "f_seconds": t["f"], "fd": t_fd / t["f"],
                     "forward": t_fwd / t["f"], "reverse": t["reverse"] / t["f"]})
    return rows


def jacobian_crossover(n=100, ms=(10, 30, 100, 300, 1000), rounds=5) -> list[dict]:
    """Seconds for a full m×n Jacobian by forward (n JVPs) and reverse (m VJPs) mode."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    rows = []
    for m in ms:
        B = rng.standard_normal((m, n)) / np.sqrt(n)
        f = lambda x, B=B: fe.tanh(B @ fe.tanh(A @ x))
        x = rng.standard_normal(n)
        t = interleaved({"forward": lambda: fe.jacfwd(f)(x), "reverse": lambda: fe.jacrev(f)(x)},
                        rounds=rounds, warmup=1)
        rows.append({"n": n, "m": m, "forward_seconds": t["forward"],
                     "reverse_seconds": t["reverse"]})
    return rows


def chain_products(ns=(50, 100, 200, 400, 800), R=10, rounds=5) -> list[dict]:
    """∂g = u A_R ⋯ A_1 A_0 for a scalar output: multiplied from the input or the output end."""
    rng = np.random.default_rng(2)
    rows = []
    for n in ns:
        As = [rng.standard_normal((n, n)) / np.sqrt(n) for _ in range(R)]
        u = rng.standard_normal(n)

        def from_input():  # J = A_R ⋯ A_0 as matrices first (forward order), then uᵀJ
            J = As[0]
            for A in As[1:]:
                J = A @ J
            return u @ J

        def from_output():  # uᵀ A_R, then (uᵀ A_R) A_{R-1}, ...: vector–matrix products only
            v = u
            for A in reversed(As):
                v = v @ A
            return v

        np.testing.assert_allclose(from_input(), from_output(), rtol=1e-8, atol=1e-8)
        t = interleaved({"input_end": from_input, "output_end": from_output}, rounds=rounds)
        rows.append({"n": n, "R": R, "input_end_seconds": t["input_end"],
                     "output_end_seconds": t["output_end"]})
    return rows


def objective_ratio(value: Callable[[], object], value_and_grad: Callable[[], object],
                    rounds: int = 9) -> dict:
    """time(loss + gradient) / time(loss) for one objective (e.g. a shipped config's)."""
    t = interleaved({"loss": value, "loss_and_grad": value_and_grad}, rounds=rounds)
    return {"loss_seconds": t["loss"], "loss_and_grad_seconds": t["loss_and_grad"],
            "ratio": t["loss_and_grad"] / t["loss"]}


def figure(grad_rows, jac_rows, chain_rows, path: Path) -> Path:
    """Three panels: gradient cost ratios, the Jacobian crossover, the chain-product orders."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    ns = [r["n"] for r in grad_rows]
    for key, style, label in (("fd", "o-", "finite differences (n+1 evals)"),
                              ("forward", "s-", "forward mode (n JVPs)"),
                              ("reverse", "^-", "reverse mode (1 sweep)")):
        ax[0].loglog(ns, [r[key] for r in grad_rows], style, label=label)
    ax[0].loglog(ns, [n + 1 for n in ns], "k:", lw=1, label="n + 1")
    ax[0].set(xlabel="inputs n", ylabel="cost of the gradient / cost of f",
              title="Gradient of f: Rⁿ → R")
    ax[0].legend(fontsize=8)
    ms = [r["m"] for r in jac_rows]
    ax[1].loglog(ms, [r["forward_seconds"] for r in jac_rows], "s-",
                 label=f"forward: n = {jac_rows[0]['n']} JVPs")
    ax[1].loglog(ms, [r["reverse_seconds"] for r in jac_rows], "^-", label="reverse: m VJPs")
    ax[1].axvline(jac_rows[0]["n"], color="k", ls=":", lw=1, label="m = n")
    ax[1].set(xlabel="outputs m", ylabel="seconds for the full Jacobian",
              title="Jacobian of f: Rⁿ → Rᵐ")
    ax[1].legend(fontsize=8)
    cn = [r["n"] for r in chain_rows]
    ax[2].loglog(cn, [r["input_end_seconds"] for r in chain_rows], "s-",
                 label="from the input end (~R·n³)")
    ax[2].loglog(cn, [r["output_end_seconds"] for r in chain_rows], "^-",
                 label="from the output end (~R·n²)")
    ax[2].set(xlabel="n", ylabel="seconds",
              title=f"uᵀ A_R ⋯ A_1 A_0, R = {chain_rows[0]['R']}")
    ax[2].legend(fontsize=8)
    for a in ax:
        a.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(quick: bool = False) -> dict:
    """All three measurements (``quick``: smaller sizes, for tests and a first look)."""
    if quick:
        return {"gradient": gradient_costs(ns=(10, 100, 1000), rounds=3),
                "jacobian": jacobian_crossover(n=30, ms=(5, 30, 120), rounds=2),
                "chain": chain_products(ns=(20, 80, 160), R=5, rounds=2)}
    return {"gradient": gradient_costs(), "jacobian": jacobian_crossover(),
            "chain": chain_products()}


def format_tables(res: dict) -> str:
    lines = ["1. gradient of f: Rⁿ → R, cost / cost(f)",
             f"{'n':>8}{'f (ms)':>10}{'FD':>10}{'forward':>10}{'reverse':>10}"]
    for r in res["gradient"]:
        lines.append(f"{r['n']:>8}{r['f_seconds'] * 1e3:>10.3f}{r['fd']:>10.1f}"
                     f"{r['forward']:>10.1f}{r['reverse']:>10.2f}")
    lines += ["", "2. full Jacobian of f: Rⁿ → Rᵐ, seconds",
              f"{'n':>8}{'m':>8}{'forward':>12}{'reverse':>12}"]
    for r in res["jacobian"]:
        lines.append(f"{r['n']:>8}{r['m']:>8}{r['forward_seconds']:>12.4f}"
                     f"{r['reverse_seconds']:>12.4f}")
    lines += ["", "3. chain of R dense Jacobians times a scalar output's row, seconds",
              f"{'n':>8}{'R':>4}{'input end':>14}{'output end':>14}{'ratio':>8}"]
    for r in res["chain"]:
        lines.append(f"{r['n']:>8}{r['R']:>4}{r['input_end_seconds']:>14.5f}"
                     f"{r['output_end_seconds']:>14.5f}"
                     f"{r['input_end_seconds'] / r['output_end_seconds']:>8.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("runs/bench")
    res = run(quick)
    print(format_tables(res))
    print("figure:", figure(res["gradient"], res["jacobian"], res["chain"],
                            out / "complexity.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
