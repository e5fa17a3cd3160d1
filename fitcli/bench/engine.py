"""Engine benchmark: cheap-gradient ratio, overhead against hand-written numpy, FD vs reverse.

Run ``python -m fitcli.bench.engine [--quick]``. Every figure is a median over
interleaved repetitions (see ``_timing.interleaved``).

1. time(value_and_grad) / time(forward) for an MLP loss and for
   f(x) = Σ log(1 + exp(A x)) at n = 100, 1000, 3000 (target ≤ 3).
2. One full-batch gradient of an MLP through ``fe.value_and_grad`` against the
   same step written by hand in numpy (target engine / hand ≤ 1.10).
3. Finite differences vs reverse mode at n = 10, 100, 1000.
"""

from __future__ import annotations

import sys

import numpy as np

import fitcli.engine as fe

from ._timing import interleaved


# -- the MLP, through the engine and by hand ---------------------------------------------
def make_mlp(sizes, n, dtype, rng):
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        params += [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype),
                   np.zeros(b, dtype)]
    return X, y, params


def mlp_loss(act):
    def loss(params, X, y):
        h = X
        n_layers = len(params) // 2
        for i in range(n_layers):
            z = h @ params[2 * i] + params[2 * i + 1]
            h = act(z) if i < n_layers - 1 else z
        return fe.mean(fe.logsumexp(h, axis=1) - h[np.arange(len(y)), y])
    return loss


def engine_step(loss, params, X, y):
    f = lambda *p: loss(list(p), X, y)
    return fe.value_and_grad(f, argnums=tuple(range(len(params))))(*params)


def hand_step(params, X, y, act):
    """The same step written as carefully as we can in numpy: biases added in place, the
    activation computed in place over z (relu's mask from h > 0, tanh's derivative from
    h), the softmax built in the logits' buffer, one row-index array; so the engine's
    ratio is measured against the best hand-written code, not a convenient one.
    Backward: M = ρ'(A x + b) ⊙ g, gA = xᵀM, gb = ΣM."""
    n_layers, n = len(params) // 2, len(y)
    rows = np.arange(n)
    hs = [X]
    for i in range(n_layers):
        z = hs[-1] @ params[2 * i]
        z += params[2 * i + 1]
        if i < n_layers - 1:
            hs.append(np.maximum(z, 0, out=z) if act == "relu" else np.tanh(z, out=z))
    m = z.max(axis=1, keepdims=True)
    picked = z[rows, y] - m[:, 0]
    z -= m
    e = np.exp(z, out=z)
    s = e.sum(axis=1)
    loss = float(np.mean(np.log(s) - picked))
    g = e
    g *= (1.0 / (n * s))[:, None]                  # softmax / n
    g[rows, y] -= 1.0 / n
    grads = [None] * len(params)
    for i in reversed(range(n_layers)):
        grads[2 * i] = hs[i].T @ g
        grads[2 * i + 1] = g.sum(axis=0)
        if i:
            g = g @ params[2 * i].T
            h = hs[i]
            if act == "relu":
                g *= h > 0
            else:
                d = h * h
                np.subtract(1.0, d, out=d)
                g *= d
    return loss, grads


def bench_mlp(sizes, n, dtype, act, rng, rounds):
    X, y, params = make_mlp(sizes, n, dtype, rng)
    loss = mlp_loss(fe.relu if act == "relu" else fe.tanh)
    # same numbers from both
    v1, g1 = engine_step(loss, params, X, y)
    v2, g2 = hand_step(params, X, y, act)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    err = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-30))
              for a, b in zip(g1, g2, strict=True))
    if err > tol or abs(v1 - v2) > tol * abs(v2):
        raise RuntimeError(f"engine and hand-written gradients differ (rel {err:.2e})")
    t = interleaved({
        "forward": lambda: loss(params, X, y),
        "engine": lambda: engine_step(loss, params, X, y),
        "hand": lambda: hand_step(params, X, y, act),
    }, rounds=rounds)
    return t


# -- f(x) = Σ log(1 + exp(A x)) ------------------------------------------------------------
def softplus_sum(A):
    return lambda x: fe.sum(fe.softplus(A @ x))


def bench_cheap_gradient(ns, rng, rounds):
    rows = []
    for n in ns:
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        x = rng.standard_normal(n)
        f = softplus_sum(A)
        vg = fe.value_and_grad(f)
        t = interleaved({"f": lambda: f(x), "vg": lambda: vg(x)}, rounds=rounds)
        rows.append((n, t["f"], t["vg"], t["vg"] / t["f"]))
    return rows


def bench_fd_vs_reverse(ns, rng, rounds):
    rows = []
    for n in ns:
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        x = rng.standard_normal(n)
        f = softplus_sum(A)
        vg = fe.value_and_grad(f)

        def fd():
            g = np.empty(n)
            for j in range(n):  # n+1 evaluations with a one-sided difference: the point of FD
                e = np.zeros(n)
                e[j] = 1e-7
                g[j] = (f(x + e).item() - f0) / 1e-7
            return g
        f0 = f(x).item()
        r = max(3, rounds // 3) if n >= 1000 else rounds
        t = interleaved({"f": lambda: f(x), "fd": fd, "reverse": lambda: vg(x)}, rounds=r,
                        warmup=1)
        rows.append((n, t["fd"] / t["f"], t["reverse"] / t["f"]))
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    rounds = 5 if quick else 15
    rng = np.random.default_rng(0)
    print("1. cheap-gradient ratio  time(value_and_grad) / time(f)   [target <= 3]")
    print(f"{'function':<38}{'f (ms)':>10}{'f+grad (ms)':>13}{'ratio':>8}")
    for n, tf, tvg, ratio in bench_cheap_gradient([100, 1000, 3000], rng, rounds):
        print(f"{'sum log(1+exp(Ax)), n=' + str(n):<38}{tf * 1e3:>10.3f}{tvg * 1e3:>13.3f}"
              f"{ratio:>8.2f}")
    print()
    print("2. MLP gradient step: engine vs hand-written numpy   [target engine/hand <= 1.10]")
    print(f"{'network':<38}{'forward':>10}{'engine':>10}{'hand':>10}{'eng/hand':>10}"
          f"{'grad/fwd':>10}")
    configs = [((784, 512, 512, 10), 4096, np.float64, "relu"),
               ((784, 512, 512, 10), 4096, np.float32, "relu"),
               ((64, 256, 256, 10), 1797, np.float64, "tanh")]
    for sizes, n, dtype, act in configs:
        t = bench_mlp(sizes, n, dtype, act, rng, rounds)
        name = f"{'-'.join(map(str, sizes))} {act} N={n} {np.dtype(dtype).name}"
        print(f"{name:<38}{t['forward'] * 1e3:>8.1f}ms{t['engine'] * 1e3:>8.1f}ms"
              f"{t['hand'] * 1e3:>8.1f}ms{t['engine'] / t['hand']:>10.3f}"
              f"{t['engine'] / t['forward']:>10.2f}")
    print()
    print("3. finite differences vs reverse mode, cost / cost(f) for f = sum log(1+exp(Ax))")
    print(f"{'n':>8}{'FD (n+1 evals)':>18}{'reverse':>10}")
    for n, fd, rev in bench_fd_vs_reverse([10, 100, 1000], rng, rounds):
        print(f"{n:>8}{fd:>18.1f}{rev:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
