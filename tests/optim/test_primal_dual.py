"""pdhg (Condat–Vũ primal–dual) against problems with known solutions."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.errors import ConfigError
from fitcli.optim.primal_dual import PDHG
from fitcli.optim.prox import tv_prox
from fitcli.regularizers import REGULARIZERS, NonSmoothTerm


def engine_closure(f):
    vg = fe.value_and_grad(f)

    def closure(x, batch=None, need_grad=True):
        v, g = vg(x)
        return float(v), (g if need_grad else None)

    closure.hvp = lambda x, v: fe.hvp(f)(x, v)
    return closure


def term(name, weight, shape):
    n = int(np.prod(shape))
    return NonSmoothTerm(REGULARIZERS[name](), weight, {"x": slice(0, n)}, {"x": shape}, ["x"])


def test_pdhg_solves_tv_denoising_as_the_prox():
    rng = np.random.default_rng(0)
    clean = np.zeros((20, 24))
    clean[5:15, 6:18] = 1.0
    v = (clean + 0.2 * rng.standard_normal(clean.shape)).ravel()
    w = 0.15
    ref = tv_prox(v, 1.0, shape=clean.shape, weight=w, iterations=5000, tol=1e-12)
    opt = PDHG(np.zeros_like(v))
    opt.set_nonsmooth([term("tv", w, clean.shape)])
    closure = engine_closure(lambda x: 0.5 * fe.sum((x - v) ** 2))
    for _ in range(3000):
        opt.step(closure)
    assert np.max(np.abs(opt.x - ref)) < 2e-3


def test_pdhg_solves_the_lasso_with_box_bounds_and_resumes_bitwise():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 12))
    b = A @ np.where(rng.random(12) < 0.3, 1.0, 0.0) + 0.01 * rng.standard_normal(30)
    closure = engine_closure(lambda x: 0.5 * fe.sum((A @ x - b) ** 2))
    a = PDHG(np.zeros(12), bounds=[0.0, None])
    a.set_nonsmooth([term("l1", 0.5, (12,))])
    for _ in range(50):
        a.step(closure)
    c = PDHG(np.array(a.x), bounds=[0.0, None])
    c.set_nonsmooth([term("l1", 0.5, (12,))])
    c.load_state_dict(a.state_dict())
    for _ in range(4000):
        a.step(closure)
        c.step(closure)
    assert np.array_equal(a.x, c.x)
    # KKT of min ½‖Ax − b‖² + 0.5‖x‖₁, x ≥ 0: g_i = -0.5 where x_i > 0, g_i ≥ -0.5 at 0
    g = A.T @ (A @ a.x - b)
    pos = a.x > 1e-8
    assert pos.any() and not pos.all()
    np.testing.assert_allclose(g[pos], -0.5, atol=1e-5)
    assert np.all(g[~pos] >= -0.5 - 1e-5) and np.all(a.x >= 0)


def test_pdhg_refuses_other_nonsmooth_terms():
    class Other:
        name = "box"
    t = NonSmoothTerm.__new__(NonSmoothTerm)
    t.reg, t.weight, t.blocks = Other(), 1.0, [(slice(0, 2), (2,))]
    with pytest.raises(ConfigError, match="pdhg"):
        PDHG(np.zeros(2)).set_nonsmooth([t])
