"""Logistic regression against scipy's L-BFGS-B, the lasso against coordinate descent."""

from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

from fitcli.optim import OPTIMIZERS
from fitcli.optim.prox import L1
from fitcli.optim.testfns import least_squares, logistic_regression

DIGITS = Path(__file__).resolve().parents[2] / "datasets" / "digits.npz"


def digits_problem():
    """The 8×8 digits (10 classes) when shipped, else a seeded synthetic 10-class problem."""
    if DIGITS.exists():
        with np.load(DIGITS) as d:
            X, y = d["X"].astype(float), d["y"].astype(int)
    else:
        rng = np.random.default_rng(0)
        centers = rng.standard_normal((10, 64)) * 2
        y = rng.integers(0, 10, 1500)
        X = centers[y] + rng.standard_normal((1500, 64)) * 3
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return logistic_regression(X, y, l2=1e-2)


def minimize(name, closure, iters, **options):
    x = closure.start.copy()
    opt = OPTIMIZERS[name](x, **options)
    for _ in range(iters):
        info = opt.step(closure)
        if info.stop or info.grad_norm < 1e-9:
            break
    return x, info


def test_lbfgs_matches_scipy_lbfgsb_on_l2_logistic_regression_of_digits():
    c = digits_problem()
    ref = scipy.optimize.minimize(lambda w: c(w), c.start, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 5000, "gtol": 1e-10, "ftol": 0})
    x, info = minimize("lbfgs", c, 1000)
    f = c(x)[0]
    assert abs(f - ref.fun) <= 1e-6 * abs(ref.fun), (f, ref.fun, info)
    assert f <= ref.fun + 1e-12


def lasso(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((60, 120))
    x_true = np.zeros(120)
    x_true[:8] = rng.standard_normal(8) * 3
    b = A @ x_true + 0.1 * rng.standard_normal(60)
    return A, b, 4.0


def coordinate_descent(A, b, lam, sweeps=3000):
    """Reference: cyclic coordinate descent on ½‖Ax − b‖² + λ‖x‖₁ (loops over coordinates)."""
    x = np.zeros(A.shape[1])
    r = b - A @ x
    col = (A * A).sum(0)
    for _ in range(sweeps):
        x_old = x.copy()
        for j in range(A.shape[1]):
            rho = A[:, j] @ r + col[j] * x[j]
            new = np.sign(rho) * max(abs(rho) - lam, 0) / col[j]
            r += A[:, j] * (x[j] - new)
            x[j] = new
        if np.max(np.abs(x - x_old)) < 1e-14:
            break
    return x


@pytest.fixture(scope="module")
def lasso_reference():
    A, b, lam = lasso()
    return A, b, lam, coordinate_descent(A, b, lam)


@pytest.mark.parametrize("options", [{}, {"restart": False}, {"step": "backtracking"}])
def test_fista_matches_coordinate_descent_and_is_exactly_sparse(lasso_reference, options):
    A, b, lam, ref = lasso_reference
    c = least_squares(A, b)
    if options.get("step") == "backtracking":
        del c.lipschitz                    # force the estimate + backtracking path
    x = c.start.copy()
    opt = OPTIMIZERS["fista"](x, **options)
    opt.set_nonsmooth([L1(lam)])
    for _ in range(3000):
        info = opt.step(c)
        if info.grad_norm < 1e-11:
            break
    F = lambda z: c(z)[0] + lam * np.abs(z).sum()
    assert abs(F(x) - F(ref)) <= 1e-6 * F(ref)
    assert np.max(np.abs(x - ref)) <= 1e-6 * np.max(np.abs(ref))
    np.testing.assert_array_equal(x != 0, ref != 0)     # the same support, exact zeros
    assert 0 < np.count_nonzero(x) < x.size // 4


def test_ista_long_run_agrees_with_fista(lasso_reference):
    A, b, lam, ref = lasso_reference
    c = least_squares(A, b)
    x = c.start.copy()
    opt = OPTIMIZERS["ista"](x)
    opt.set_nonsmooth([L1(lam)])
    for _ in range(20000):
        info = opt.step(c)
        if info.grad_norm < 1e-10:
            break
    assert np.max(np.abs(x - ref)) <= 1e-6 * np.max(np.abs(ref))


def test_stochastic_methods_decrease_logistic_loss():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((600, 10))
    y = (X @ rng.standard_normal(10) > 0).astype(int)
    c = logistic_regression(X, y, l2=1e-2)
    f0 = c(c.start)[0]
    x_star, _ = minimize("lbfgs", c, 200)
    f_star = c(x_star)[0]
    for name, opts in [("sgd", {"step": 0.5, "momentum": 0.5}), ("adam", {"step": 0.05}),
                       ("svrg", {})]:
        x = c.start.copy()
        opt = OPTIMIZERS[name](x, rng=np.random.default_rng(0), n_samples=c.n_samples, **opts)
        for _ in range(600):
            assert opt.step(c).stop is None
        assert c(x)[0] - f_star < 0.05 * (f0 - f_star), name
    # variance reduction converges to the optimum itself
    assert c(x)[0] - f_star < 1e-8


def test_lbfgs_with_bounds_matches_scipy_lbfgsb():
    from fitcli.optim.testfns import quadratic

    q = quadratic(dim=30, condition=100.0, seed=4)     # the minimiser lies partly outside [0, 1]
    x0 = np.full(30, 0.5)
    ref = scipy.optimize.minimize(lambda z: q(z), x0, jac=True, method="L-BFGS-B",
                                  bounds=[(0, 1)] * 30,
                                  options={"gtol": 1e-12, "ftol": 0, "maxiter": 10000})
    x = x0.copy()
    opt = OPTIMIZERS["lbfgs"](x, bounds=[0, 1])
    for _ in range(300):
        info = opt.step(q)
        assert np.all((x >= 0) & (x <= 1))
        if info.stop or info.grad_norm < 1e-9:
            break
    assert abs(q(x)[0] - ref.fun) <= 1e-10 * ref.fun
    assert np.max(np.abs(x - ref.x)) < 1e-6
    assert np.count_nonzero((x == 0) | (x == 1)) > 5          # active bounds, exactly


@pytest.mark.parametrize("name,options", [("nesterov", {}), ("nesterov", {"step": "armijo"}),
                                          ("heavy_ball", {"step": "wolfe"}),
                                          ("heavy_ball", {"step": "lipschitz",
                                                          "momentum": 0.5}),
                                          ("fista", {"step": "backtracking"})])
def test_methods_without_a_known_lipschitz_constant_converge(name, options):
    from fitcli.optim.testfns import quadratic

    q = quadratic(dim=20, condition=50.0, seed=6)
    del q.lipschitz                              # estimate + backtracking paths
    x = q.start.copy()
    opt = OPTIMIZERS[name](x, **options)
    for _ in range(3000):
        info = opt.step(q)
        assert info.stop is None
        if np.linalg.norm(x - q.x_star) < 1e-7:
            break
    assert np.linalg.norm(x - q.x_star) < 1e-7, (name, options)
