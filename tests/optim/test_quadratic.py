"""Known answers on a strongly convex quadratic with condition number κ = 100."""

import numpy as np
import pytest

from fitcli.errors import ConfigError
from fitcli.optim import OPTIMIZERS
from fitcli.optim.testfns import quadratic, rosenbrock

KAPPA = 100.0


def run(name, closure, iters, stop_err=1e-8, **options):
    """Iterations until ‖x − x*‖ ≤ stop_err (and the errors along the way)."""
    x = closure.start.copy()
    opt = OPTIMIZERS[name](x, **options)
    errs = [np.linalg.norm(x - closure.x_star)]
    for k in range(iters):
        info = opt.step(closure)
        assert info.stop is None, info.stop
        errs.append(np.linalg.norm(x - closure.x_star))
        if errs[-1] <= stop_err:
            return k + 1, np.array(errs)
    return iters, np.array(errs)


@pytest.fixture(scope="module")
def quad():
    return quadratic(dim=40, condition=KAPPA, seed=1)


def test_gd_one_over_L_contracts_at_the_theoretical_rate(quad):
    _, errs = run("gd", quad, 300, stop_err=0, step=1.0 / quad.lipschitz)
    rate = (KAPPA - 1) / (KAPPA + 1)
    # with τ = 1/L each step contracts the error by max|1 − λ/L| = 1 − 1/κ ≤ (κ−1)/(κ+1)·(1+ε)
    assert np.all(errs[1:] <= (1 - 1 / KAPPA) * errs[:-1] * (1 + 1e-12))
    # and over many steps no slower than the (κ−1)/(κ+1)-per-step bound of the optimal step
    assert errs[-1] <= errs[0] * (1 - 1 / KAPPA) ** 300 * (1 + 1e-9)
    assert errs[-1] <= errs[0] * rate ** 150


def test_gd_optimal_fixed_step_meets_kappa_bound(quad):
    tau = 2.0 / (quad.lipschitz + quad.mu)
    _, errs = run("gd", quad, 200, stop_err=0, step=tau)
    rate = (KAPPA - 1) / (KAPPA + 1)
    assert np.all(errs[1:] <= rate * errs[:-1] * (1 + 1e-10))


def test_nesterov_needs_markedly_fewer_iterations_than_gd(quad):
    k_gd, _ = run("gd", quad, 5000, step=1.0 / quad.lipschitz)
    k_nes, _ = run("nesterov", quad, 5000)
    assert k_nes < 0.3 * k_gd, (k_nes, k_gd)


def test_heavy_ball_with_polyak_parameters_beats_gd(quad):
    L, mu = quad.lipschitz, quad.mu
    tau = 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2
    beta = ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2
    k_gd, _ = run("gd", quad, 5000, step=1.0 / L)
    k_hb, _ = run("heavy_ball", quad, 5000, step=tau, momentum=beta)
    assert k_hb < 0.3 * k_gd, (k_hb, k_gd)


def test_lbfgs_and_exact_solve_small_quadratics_in_a_handful():
    # κ = 100 in 2-D: quasi-Newton needs a handful of iterations (scipy's L-BFGS-B: 5)
    q = quadratic(dim=2, condition=KAPPA, seed=2)
    k_lbfgs, _ = run("lbfgs", q, 50, stop_err=1e-8)
    k_bfgs, _ = run("bfgs", q, 50, stop_err=1e-8)
    assert k_lbfgs <= 6 and k_bfgs <= 6, (k_lbfgs, k_bfgs)
    # exact step along an eigenvector (1-D subspace): the minimiser in one step
    q1 = quadratic(dim=1, condition=KAPPA)
    k_exact, _ = run("gd", q1, 5, stop_err=1e-12, step="exact")
    assert k_exact == 1


def test_exact_step_is_the_line_minimiser_and_beats_kantorovich(quad):
    x = quad.start.copy()
    opt = OPTIMIZERS["gd"](x, step="exact")
    rate = ((KAPPA - 1) / (KAPPA + 1)) ** 2
    f_prev = quad(x)[0]
    for _ in range(30):
        g_before = quad(x)[1]
        info = opt.step(quad)
        _, g_after = quad(x)
        # exact line minimiser: the new gradient is orthogonal to the search direction
        assert abs(g_after @ g_before) <= 1e-9 * np.linalg.norm(g_before) ** 2
        assert info.loss <= rate * f_prev * (1 + 1e-9)
        f_prev = info.loss


def test_lbfgs_is_fast_on_the_kappa_100_quadratic(quad):
    k_gd, _ = run("gd", quad, 5000, step=1.0 / quad.lipschitz)
    k_lbfgs, _ = run("lbfgs", quad, 500)
    assert k_lbfgs < k_gd / 10


@pytest.mark.parametrize("options", [{"step": "bb"}, {"step": "armijo"}, {"step": "wolfe"}])
def test_step_rules_converge(quad, options):
    k, errs = run("gd", quad, 5000, **options)
    assert errs[-1] <= 1e-8, (options, k)


def test_exact_needs_a_quadratic_objective():
    r = rosenbrock()
    opt = OPTIMIZERS["gd"](r.start.copy(), step="exact")
    with pytest.raises(ConfigError, match="exact needs a quadratic objective"):
        opt.step(r)


@pytest.mark.parametrize("name", ["lbfgs", "bfgs"])
def test_rosenbrock_minimum_from_the_classic_start(name):
    r = rosenbrock()
    x = r.start.copy()
    opt = OPTIMIZERS[name](x)
    for _ in range(200):
        info = opt.step(r)
        if info.stop or info.grad_norm < 1e-10:
            break
    assert np.allclose(x, [1.0, 1.0], atol=1e-7), (x, info)
