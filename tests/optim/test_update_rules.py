"""Each first-order optimizer's documented update rule, step by step, against the formula.

The other optimizer tests check end results (a known minimum, a rate over hundreds of
iterations); a wrong constant in a rule often still converges and passes them. Here the
first few iterates on a tiny problem are recomputed by hand from the rule each class
documents, so an off-by-one schedule, a wrong momentum sequence or a dropped bias
correction fails at once. Rules are quoted from the module docstrings in fitcli/optim.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitcli.optim import OPTIMIZERS
from fitcli.optim.prox import L1, soft_threshold

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])   # SPD, not diagonal
B = np.array([1.0, -2.0, 0.5])
X0 = np.array([0.3, -0.7, 1.1])
L_A = float(np.linalg.eigvalsh(A).max())


def grad(x):
    return A @ x - B


def energy(x):
    return 0.5 * float(x @ A @ x) - float(B @ x)


def quad_closure(lipschitz: float | None = None):
    """E(x) = ½ xᵀA x − bᵀx; records every point it is evaluated at."""
    def closure(x, batch=None, need_grad=True):
        closure.points.append(np.array(x, copy=True))
        return energy(x), (grad(x) if need_grad else None)
    closure.points = []
    if lipschitz is not None:
        closure.lipschitz = lipschitz
    return closure


def iterates(name, closure, steps, x0=X0, **options):
    """The optimizer's iterates x_0 … x_steps and StepInfos (x is updated in place)."""
    x = np.array(x0, dtype=float)
    opt = OPTIMIZERS[name](x, **options)
    xs, infos = [x.copy()], []
    for _ in range(steps):
        info = opt.step(closure)
        assert info.stop is None, info.stop
        xs.append(x.copy())
        infos.append(info)
    return xs, infos, opt


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# -- gd ------------------------------------------------------------------------------------
def test_gd_fixed_step_is_x_minus_tau_grad():
    # gd: x ← x − τ ∇E(x)
    tau = 0.2
    xs, infos, _ = iterates("gd", quad_closure(), 3, step=tau)
    for k in range(3):
        close(xs[k + 1], xs[k] - tau * grad(xs[k]))
        assert infos[k].step == tau
        assert infos[k].loss == pytest.approx(energy(xs[k + 1]), rel=1e-14)
        assert infos[k].grad_norm == pytest.approx(np.linalg.norm(grad(xs[k + 1])), rel=1e-14)


def test_gd_bb_second_step_is_barzilai_borwein():
    # bb: τ_k = sᵀs / sᵀy with s = x_k − x_{k−1}, y = ∇E_k − ∇E_{k−1}; on a convex
    # quadratic the non-monotone Armijo safeguard (reference max of recent losses) accepts it
    xs, infos, _ = iterates("gd", quad_closure(), 3, step="bb")
    for k in (1, 2):
        s, y = xs[k] - xs[k - 1], grad(xs[k]) - grad(xs[k - 1])
        tau = (s @ s) / (s @ y)
        assert infos[k].step == pytest.approx(tau, rel=1e-12)
        close(xs[k + 1], xs[k] - tau * grad(xs[k]))


# -- heavy ball and nesterov -----------------------------------------------------------------
def test_heavy_ball_fixed_step():
    # heavy_ball: v ← β v − ∇E(x), x ← x + τ v (v starts at 0), i.e.
    # x_{k+1} = x_k − τ∇E(x_k) + β(x_k − x_{k−1})
    tau, beta = 0.15, 0.6
    xs, infos, _ = iterates("heavy_ball", quad_closure(), 4, step=tau, momentum=beta)
    close(xs[1], xs[0] - tau * grad(xs[0]))
    for k in range(1, 4):
        close(xs[k + 1], xs[k] - tau * grad(xs[k]) + beta * (xs[k] - xs[k - 1]))
        assert infos[k].step == tau


def test_heavy_ball_lipschitz_step_is_one_over_L():
    xs, infos, _ = iterates("heavy_ball", quad_closure(L_A), 2, step="lipschitz", momentum=0.5)
    close(xs[1], xs[0] - grad(xs[0]) / L_A)
    close(xs[2], xs[1] - grad(xs[1]) / L_A + 0.5 * (xs[1] - xs[0]))
    assert infos[1].step == pytest.approx(1 / L_A, rel=1e-15)


def test_nesterov_first_betas_are_k_over_k_plus_3():
    # nesterov: y = x_k + β_k (x_k − x_{k−1}), x_{k+1} = y − ∇E(y)/L, β_k = k/(k+3) with k
    # counted from 0 at the first step: β = 0, 1/4, 2/5, 3/6, 4/7
    closure = quad_closure(L_A)
    xs, infos, _ = iterates("nesterov", closure, 5, restart=False)
    x_prev, x = xs[0], xs[0]
    for k, beta in enumerate([0.0, 1 / 4, 2 / 5, 3 / 6, 4 / 7]):
        y = x + beta * (x - x_prev)
        x_prev, x = x, y - grad(y) / L_A
        close(xs[k + 1], x)
        close(closure.points[k], y)                 # evaluated at the extrapolated point
        # reported: the loss and gradient norm at y; the step 1/L
        assert infos[k].loss == pytest.approx(energy(y), rel=1e-13)
        assert infos[k].grad_norm == pytest.approx(np.linalg.norm(grad(y)), rel=1e-13)
        assert infos[k].step == pytest.approx(1 / L_A, rel=1e-15)


def test_nesterov_fixed_momentum_and_step():
    tau, beta = 0.1, 0.7
    xs, _, _ = iterates("nesterov", quad_closure(), 4, step=tau, momentum=beta, restart=False)
    close(xs[1], xs[0] - tau * grad(xs[0]))
    for k in range(1, 4):
        y = xs[k] + beta * (xs[k] - xs[k - 1])
        close(xs[k + 1], y - tau * grad(y))


def test_nesterov_adaptive_restart_resets_the_schedule():
    # restart (O'Donoghue & Candès): when ∇E(y)ᵀ(x_{k+1} − x_k) > 0 the momentum is reset,
    # the next step starts again from β = 0 (y = x_{k+1}), and β_k counts from there
    Q = np.diag([1.0, 100.0])
    def closure(x, batch=None, need_grad=True):
        return 0.5 * float(x @ Q @ x), (Q @ x if need_grad else None)
    closure.lipschitz = 100.0
    xs, _, _ = iterates("nesterov", closure, 80, x0=np.array([1.0, 0.01]), restart=True)
    x_prev, x, k, restarts = xs[0], xs[0], 0, 0
    for j in range(80):
        y = x + k / (k + 3) * (x - x_prev)
        g = Q @ y
        x_new = y - g / 100.0
        if j > 0 and g @ (x_new - x) > 0:
            x_prev, x, k, restarts = x_new, x_new, 0, restarts + 1
        else:
            x_prev, x, k = x, x_new, k + 1
        np.testing.assert_allclose(xs[j + 1], x, rtol=1e-9, atol=1e-15)
    assert restarts >= 2        # the rule was exercised, not only the plain schedule


# -- ista / fista ---------------------------------------------------------------------------
def fista_reference(closure_grad, x0, L, lam, steps):
    """Beck–Teboulle: x_k = prox(y_k − ∇E(y_k)/L), t_{k+1} = (1 + √(1 + 4t_k²))/2,
    y_{k+1} = x_k + (t_k − 1)/t_{k+1} (x_k − x_{k−1}); t_1 = 1, y_1 = x_0."""
    x_prev, y, t = x0, x0, 1.0
    xs, ts, ys = [x0], [t], []
    for _ in range(steps):
        ys.append(y)
        x = soft_threshold(y - closure_grad(y) / L, lam / L)
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x + (t - 1.0) / t_next * (x - x_prev)
        x_prev, t = x, t_next
        xs.append(x)
        ts.append(t)
    return xs, ts, ys


def test_fista_t_sequence_and_momentum():
    lam = 0.3
    closure = quad_closure(L_A)
    x = X0.copy()
    opt = OPTIMIZERS["fista"](x, restart=False)
    opt.set_nonsmooth([L1(lam)])
    ref_x, ref_t, ref_y = fista_reference(grad, X0, L_A, lam, 6)
    assert ref_t[1:4] == pytest.approx([(1 + math.sqrt(5)) / 2, 2.1935270, 2.7497913], rel=1e-7)
    for k in range(6):
        info = opt.step(closure)
        close(x, ref_x[k + 1])
        assert opt.state_dict()["t"] == pytest.approx(ref_t[k + 1], rel=1e-14)
        # reported: F = E + g at the new iterate and the prox-gradient mapping ‖y − x⁺‖·L
        assert info.loss == pytest.approx(energy(x) + lam * np.abs(x).sum(), rel=1e-13)
        assert info.grad_norm == pytest.approx(L_A * np.linalg.norm(ref_y[k] - x), rel=1e-10)
        assert info.step == pytest.approx(1 / L_A, rel=1e-15)


def test_ista_is_one_prox_gradient_step():
    # ista: x_{k+1} = prox_{τg}(x_k − τ∇E(x_k)), τ = 1/L
    lam = 0.3
    x = X0.copy()
    opt = OPTIMIZERS["ista"](x)
    opt.set_nonsmooth([L1(lam)])
    ref = X0.copy()
    for _ in range(4):
        opt.step(quad_closure(L_A))
        ref = soft_threshold(ref - grad(ref) / L_A, lam / L_A)
        close(x, ref)


# -- adam ------------------------------------------------------------------------------------
def test_adam_first_step_is_step_times_sign_of_gradient():
    # m̂₁ = g, v̂₁ = g² thanks to the bias corrections: x₁ = x₀ − τ g/(|g| + ε) ≈ x₀ − τ sign(g)
    tau, eps = 0.01, 1e-8
    xs, infos, _ = iterates("adam", quad_closure(), 1, step=tau, eps=eps)
    g = grad(X0)
    close(xs[1], X0 - tau * g / (np.abs(g) + eps))
    np.testing.assert_allclose(xs[1] - X0, -tau * np.sign(g), rtol=1e-6)
    assert infos[0].step == tau and infos[0].grad_norm == pytest.approx(np.linalg.norm(g))


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_three_steps_follow_the_bias_corrected_moments(weight_decay):
    # m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², x ← x − τ m̂/(√v̂ + ε) − τλx,
    # m̂ = m/(1−β₁ᵏ), v̂ = v/(1−β₂ᵏ); the decay is decoupled (AdamW): applied to x first
    tau, b1, b2, eps = 0.05, 0.8, 0.95, 1e-3
    xs, _, _ = iterates("adam", quad_closure(), 3, step=tau, beta1=b1, beta2=b2, eps=eps,
                        weight_decay=weight_decay)
    x, m, v = X0.copy(), np.zeros(3), np.zeros(3)
    for k in range(1, 4):
        g = grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** k), v / (1 - b2 ** k)
        x = x * (1 - tau * weight_decay) - tau * m_hat / (np.sqrt(v_hat) + eps)
        close(xs[k], x)


# -- sgd -------------------------------------------------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_pytorch_form(nesterov):
    # v ← μv + g (v₁ = g), x ← x − τ v; nesterov: x ← x − τ (g + μ v)
    tau, mu = 0.1, 0.8
    xs, _, _ = iterates("sgd", quad_closure(), 4, step=tau, momentum=mu, nesterov=nesterov)
    x, v = X0.copy(), None
    for k in range(1, 5):
        g = grad(x)
        v = g if v is None else mu * v + g
        x = x - tau * ((g + mu * v) if nesterov else v)
        close(xs[k], x)


def test_sgd_step_schedule_per_iteration():
    # step: τ_k = τ · decay^⌊k/decay_every⌋ with k = 0 at the first step
    tau = 0.1
    xs, infos, _ = iterates("sgd", quad_closure(), 7, step=tau, schedule="step", decay=0.5,
                            decay_every=3)
    expected = [tau * 0.5 ** (k // 3) for k in range(7)]
    assert [i.step for i in infos] == pytest.approx(expected, rel=1e-15)
    for k in range(7):
        close(xs[k + 1], xs[k] - expected[k] * grad(xs[k]))


def test_sgd_cosine_schedule_per_iteration():
    # cosine: τ_k = τ_min + ½(τ − τ_min)(1 + cos(π min(k, P)/P)), flat at τ_min after P
    tau, tmin, period = 0.1, 0.01, 4
    xs, infos, _ = iterates("sgd", quad_closure(), 7, step=tau, schedule="cosine",
                            period=period, min_step=tmin)
    expected = [tmin + 0.5 * (tau - tmin) * (1 + math.cos(math.pi * min(k, period) / period))
                for k in range(7)]
    assert expected[0] == pytest.approx(tau) and expected[4:] == pytest.approx([tmin] * 3)
    assert [i.step for i in infos] == pytest.approx(expected, rel=1e-14)
    for k in range(7):
        close(xs[k + 1], xs[k] - expected[k] * grad(xs[k]))


# -- svrg ------------------------------------------------------------------------------------
def test_svrg_variance_reduced_gradient_on_a_finite_sum():
    # E(x) = mean_i ½ a_i ‖x − c_i‖²; each step g = ∇E_B(x) − ∇E_B(x̃) + ∇E(x̃) with x̃ the
    # snapshot, refreshed (with the full gradient) every epoch_length steps
    rng = np.random.default_rng(5)
    a, c = rng.uniform(0.5, 3.0, 6), rng.standard_normal((6, 2))

    def g_of(x, idx):
        return np.mean(a[idx, None] * (x - c[idx]), axis=0)

    def closure(x, batch=None, need_grad=True):
        idx = np.arange(6) if batch is None else np.asarray(batch)
        closure.batches.append(None if batch is None else idx.copy())
        f = float(np.mean(0.5 * a[idx] * np.sum((x - c[idx]) ** 2, axis=1)))
        return f, (g_of(x, idx) if need_grad else None)
    closure.batches = []

    tau = 0.2
    x = np.array([1.0, -1.0])
    opt = OPTIMIZERS["svrg"](x, step=tau, batch_size=2, epoch_length=3,
                             rng=np.random.default_rng(0), n_samples=6)
    ref, full = x.copy(), np.arange(6)
    for k in range(7):
        n_before = len(closure.batches)
        info = opt.step(closure)
        calls = closure.batches[n_before:]
        if k % 3 == 0:                       # a new snapshot: one full evaluation first
            assert calls[0] is None and info.nfev == 3
            snap, calls = ref.copy(), calls[1:]
        assert len(calls) == 2 and np.array_equal(calls[0], calls[1])   # same B, two points
        idx = calls[0]
        g = g_of(ref, idx) - g_of(snap, idx) + g_of(snap, full)
        ref = ref - tau * g
        close(x, ref)
        assert info.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-12)
        if k % 3 == 0:
            close(g, g_of(snap, full))        # at the snapshot the estimate is exact
