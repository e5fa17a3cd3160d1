"""L-BFGS / BFGS directions, the strong Wolfe curvature test and the projected gradient norm.

Pinned against formulas computed here, not against convergence:

- lbfgs's two-loop recursion must equal −H_k g with H_k built by the explicit BFGS
  inverse-Hessian update H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ applied to the stored
  pairs oldest → newest, from H₀ = γI, γ = sᵀy/yᵀy of the newest pair (Nocedal & Wright
  Alg. 7.4 and eq. 7.20), also after the ring buffer has wrapped;
- bfgs the same recursion over all pairs, H₀ = γI from the first pair (N&W 6.20);
- wolfe accepts only |φ'(t)| ≤ c2|φ'(0)| (strong), never a point meeting only the weak
  condition φ'(t) ≥ c2 φ'(0);
- bounded lbfgs reports ‖P(x − ∇E) − x‖, so ``tol`` can stop a run with active bounds.
"""

from __future__ import annotations

import numpy as np
import pytest

import fitcli
from fitcli.optim import OPTIMIZERS
from fitcli.optim import linesearch as ls

N = 6
rng0 = np.random.default_rng(11)
M = rng0.standard_normal((N, N))
A = M @ M.T / N + np.eye(N)              # SPD
C = rng0.standard_normal(N)


def f_and_g(x):
    """Strongly convex, not quadratic (so the pairs are not all from one matrix):
    E = ½ xᵀA x − cᵀx + ¼ Σ x⁴."""
    return 0.5 * x @ A @ x - C @ x + 0.25 * np.sum(x ** 4), A @ x - C + x ** 3


def closure(x, batch=None, need_grad=True):
    f, g = f_and_g(x)
    return float(f), (g if need_grad else None)


def bfgs_inverse(pairs, gamma):
    """H from H₀ = γI by the BFGS inverse update, pairs applied in the order given."""
    H = gamma * np.eye(N)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        V = np.eye(N) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def unit_step_trajectory(name, steps, **options):
    """Iterates of a quasi-Newton method with fixed step 1: x_{k+1} = x_k + d_k exactly
    (after the first step, whose length is scaled to ≤ 1)."""
    x = np.full(N, 0.5)
    opt = OPTIMIZERS[name](x, step=1.0, **options)
    xs = [x.copy()]
    for _ in range(steps):
        info = opt.step(closure)
        assert info.stop is None, info.stop
        xs.append(x.copy())
    return xs


def pairs_of(xs):
    out = []
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        s, y = b - a, f_and_g(b)[1] - f_and_g(a)[1]
        assert s @ y > 1e-10 * (y @ y)                  # every pair is kept
        out.append((s, y))
    return out


@pytest.mark.parametrize("history", [3, 20])      # 3: the ring buffer wraps twice
def test_lbfgs_two_loop_equals_dense_bfgs_on_the_newest_pairs(history):
    xs = unit_step_trajectory("lbfgs", 8, history=history)
    g0 = f_and_g(xs[0])[1]
    np.testing.assert_allclose(xs[1] - xs[0], -g0 * min(1.0, 1.0 / np.abs(g0).sum()),
                               rtol=1e-12)
    pairs = pairs_of(xs)
    for k in range(1, 8):
        window = pairs[max(0, k - history):k]        # the newest `history` pairs, oldest first
        s, y = window[-1]
        H = bfgs_inverse(window, (s @ y) / (y @ y))
        d = -H @ f_and_g(xs[k])[1]
        np.testing.assert_allclose(xs[k + 1] - xs[k], d, rtol=1e-9, atol=1e-12,
                                   err_msg=f"direction of step {k + 1}")


def test_bfgs_dense_update_from_first_pair_scaling():
    xs = unit_step_trajectory("bfgs", 6)
    pairs = pairs_of(xs)
    s0, y0 = pairs[0]
    for k in range(1, 6):
        H = bfgs_inverse(pairs[:k], (s0 @ y0) / (y0 @ y0))
        np.testing.assert_allclose(xs[k + 1] - xs[k], -H @ f_and_g(xs[k])[1], rtol=1e-9,
                                   atol=1e-12)


# -- strong Wolfe ----------------------------------------------------------------------------
def parabola(x, batch=None, need_grad=True):
    """φ(t) = (t − 1)² along d = 1 from 0: φ(0) = 1, φ'(0) = −2."""
    return float((x[0] - 1.0) ** 2), (2.0 * (x - 1.0) if need_grad else None)


@pytest.mark.parametrize("t0", [1.92, 1.95, 1.99])
def test_wolfe_rejects_a_first_trial_meeting_only_the_weak_condition(t0):
    # at t0 ∈ (1.9, 2): φ(t0) < φ(0) + c1 t0 φ'(0) and φ'(t0) = 2(t0 − 1) > 1.8 = c2|φ'(0)|:
    # weak Wolfe (φ'(t) ≥ c2 φ'(0) = −1.8) holds, the strong |φ'(t)| ≤ 1.8 does not
    x = np.zeros(1)
    f0, g0 = parabola(x)
    assert f0 - (t0 - 1) ** 2 > 1e-4 * t0 * 2 and 2 * (t0 - 1) > 0.9 * 2
    res = ls.wolfe(parabola, x, f0, g0, -2.0, np.ones(1), t0)
    assert res.ok and res.message == ""
    assert res.t != t0
    assert abs(2 * (res.t - 1)) <= 0.9 * 2
    assert res.f <= f0 - 1e-4 * 2 * res.t


def bumpy(x, batch=None, need_grad=True):
    """φ(t) = (t − 1)² + 0.3 sin(5t): several weak-only stretches of positive slope."""
    t = x[0]
    return float((t - 1) ** 2 + 0.3 * np.sin(5 * t)), (
        np.array([2 * (t - 1) + 1.5 * np.cos(5 * t)]) if need_grad else None)


@pytest.mark.parametrize("fun", [parabola, bumpy])
def test_every_wolfe_acceptance_is_strong(fun):
    # a sweep of first trials, some accepted at once, some bracketed and zoomed: whenever
    # the search reports success without the fallback note, the strong conditions hold
    x = np.zeros(1)
    f0, g0 = fun(x)
    dphi0 = float(g0[0])
    assert dphi0 < 0
    weak_only = 0
    for t0 in np.linspace(0.05, 4.0, 80):
        res = ls.wolfe(fun, x, f0, g0, dphi0, np.ones(1), float(t0))
        assert res.ok
        if res.message:
            continue
        dphi = float(res.g[0])
        assert res.f <= f0 + 1e-4 * res.t * dphi0
        assert abs(dphi) <= 0.9 * abs(dphi0) + 1e-15, (t0, res.t, dphi)
        # count the trials where a weak-only point was on offer at t0 itself
        ft, gt = fun(np.array([t0]))
        if ft <= f0 + 1e-4 * t0 * dphi0 and gt[0] > 0.9 * abs(dphi0):
            weak_only += 1
    assert weak_only > 0


# -- bounded lbfgs: the projected gradient norm ------------------------------------------------
def test_bounded_lbfgs_reports_the_projected_gradient_norm():
    # E = ½‖x − c‖², c outside [0, 1] in two coordinates: the solution P(c) has active
    # bounds where ∇E ≠ 0, and the reported norm is ‖P(x − ∇E) − x‖, 0 at the solution
    c = np.array([2.0, -1.0, 0.5, 0.25])

    def box_closure(x, batch=None, need_grad=True):
        return 0.5 * float((x - c) @ (x - c)), ((x - c) if need_grad else None)

    x = np.full(4, 0.5)
    opt = OPTIMIZERS["lbfgs"](x, bounds=[0.0, 1.0])
    for _ in range(6):
        info = opt.step(box_closure)
        if info.stop:
            break
        g = x - c
        assert info.grad_norm == pytest.approx(np.linalg.norm(np.clip(x - g, 0, 1) - x),
                                               rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(x, np.clip(c, 0, 1), atol=1e-12)
    assert np.linalg.norm(x - c) > 1.0 and info.grad_norm <= 1e-12


def test_tol_stops_a_bounded_lbfgs_fit_at_an_active_bound(tmp_path):
    # the quadratic's minimiser x* has negative entries; with bounds [0, ∞) the solution
    # sits on the bound with a non-zero raw gradient, yet `tol` must end the run
    cfg = {"name": "box", "seed": 0,
           "model": {"type": "testfn", "function": "quadratic", "dim": 6, "condition": 10},
           "optimizer": {"type": "lbfgs", "bounds": [0.0, None], "iterations": 200,
                         "tol": 1e-7},
           "output": {"every": 1}}
    r = fitcli.fit(cfg)
    assert r.summary["stop_reason"].startswith("tol: gradient norm"), r.summary["stop_reason"]
    assert r.summary["iterations"] < 200
    assert np.any(r.params["x"] == 0.0)
