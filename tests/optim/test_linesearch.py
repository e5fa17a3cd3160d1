"""Line searches: the conditions they promise, backing off from non-finite values, failing."""

import numpy as np
import pytest

from fitcli.optim import OPTIMIZERS
from fitcli.optim import linesearch as ls
from fitcli.optim.testfns import quadratic, rosenbrock


def setup(closure, x):
    f, g = closure(x)
    return f, g, -g, -float(g @ g)


@pytest.mark.parametrize("t0", [1e-4, 1e-2, 1.0, 100.0])
def test_armijo_sufficient_decrease(t0):
    r = rosenbrock()
    x = r.start
    f, g, d, dphi = setup(r, x)
    res = ls.armijo(r, x, f, dphi, d, t0)
    assert res.ok
    assert res.f <= f + 1e-4 * res.t * dphi
    np.testing.assert_array_equal(res.x, x + res.t * d)


@pytest.mark.parametrize("t0", [1e-4, 1e-2, 1.0, 100.0])
def test_wolfe_strong_conditions(t0):
    r = rosenbrock(dim=4)
    x = r.start
    f, g, d, dphi = setup(r, x)
    res = ls.wolfe(r, x, f, g, dphi, d, t0)
    assert res.ok and res.message == ""
    assert res.f <= f + 1e-4 * res.t * dphi
    assert abs(res.g @ d) <= 0.9 * abs(dphi)
    assert res.nfev <= 25


def nonfinite_beyond(closure, radius):
    """The closure, but inf (or nan) outside a ball: a line search must back off."""
    def c(x, batch=None, need_grad=True):
        if np.linalg.norm(x) > radius:
            return float("nan"), np.full_like(x, np.nan)
        return closure(x, batch, need_grad)
    return c


def test_searches_back_off_from_non_finite_values():
    q = quadratic(dim=5, condition=10.0, seed=0)
    c = nonfinite_beyond(q, 3.0)
    x = np.zeros(5)
    f, g, d, dphi = setup(c, x)
    for res in (ls.armijo(c, x, f, dphi, d, 1e6), ls.wolfe(c, x, f, g, dphi, d, 1e6)):
        assert res.ok and np.isfinite(res.f) and res.f < f


def test_a_failing_search_says_so():
    q = quadratic(dim=3, condition=10.0)
    x = np.zeros(3)
    f, g, _, _ = setup(q, x)
    uphill = g.copy()
    res = ls.armijo(q, x, f, float(g @ uphill), uphill, 1.0)
    assert not res.ok and "not a descent direction" in res.message
    flat_nan = lambda x, batch=None, need_grad=True: (float("nan"), np.full_like(x, np.nan))
    res = ls.armijo(flat_nan, x, f, -float(g @ g), -g, 1.0)
    assert not res.ok and "armijo line search failed" in res.message
    res = ls.wolfe(flat_nan, x, f, g, -float(g @ g), -g, 1.0)
    assert not res.ok and "wolfe line search failed" in res.message


def test_optimizer_stops_with_the_line_search_message():
    q = quadratic(dim=3, condition=10.0)
    c = nonfinite_beyond(q, 1e-30)               # every point but the start is nan
    x = np.zeros(3) + 1e-31
    opt = OPTIMIZERS["gd"](x, step="armijo")
    f0 = c(x)[0]
    info = opt.step(c)
    assert info.stop and "line search failed" in info.stop
    np.testing.assert_array_equal(x, np.zeros(3) + 1e-31)      # the last good state is kept
    assert info.loss == f0


def test_fixed_step_divergence_is_reported_not_converged():
    q = quadratic(dim=3, condition=10.0)
    x = q.start.copy()
    opt = OPTIMIZERS["gd"](x, step=1e200)
    with np.errstate(over="ignore", invalid="ignore"):
        info = opt.step(q)
    assert info.stop and "non-finite" in info.stop
    np.testing.assert_array_equal(x, q.start)


def test_lbfgs_restarts_after_a_non_finite_value():
    r = rosenbrock()
    c = nonfinite_beyond(r, 1.8)
    x = r.start.copy()
    opt = OPTIMIZERS["lbfgs"](x, step=1.0)          # fixed steps can hit the nan region
    for _ in range(300):
        info = opt.step(c)
        if info.stop or info.grad_norm < 1e-8:
            break
    assert np.all(np.isfinite(x)) and np.linalg.norm(x) <= 1.8


def test_cubic_min_recovers_a_cubic_minimiser():
    p = lambda t: (t - 0.3) ** 2 * (t + 2.0)        # local min at 0.3
    dp = lambda t: 2 * (t - 0.3) * (t + 2.0) + (t - 0.3) ** 2
    assert ls.cubic_min(0.0, p(0.0), dp(0.0), 1.0, p(1.0), dp(1.0)) == pytest.approx(0.3)
