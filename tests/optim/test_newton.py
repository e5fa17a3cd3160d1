"""Newton-CG (Hessian-free) on problems with known answers."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.errors import ConfigError
from fitcli.optim.newton import NewtonCG
from fitcli.optim.quasi_newton import LBFGS


def engine_closure(f):
    """The optimizer protocol's closure for an engine function of a flat vector, with hvp."""
    vg = fe.value_and_grad(f)

    def closure(x, batch=None, need_grad=True):
        if not need_grad:
            return float(f(x).item()), None
        v, g = vg(x)
        return float(v), g

    closure.hvp = lambda x, v: fe.hvp(f)(x, v)
    return closure


def logistic_problem(seed=0, n=300, d=8, classes=3, l2=1e-3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, classes))
    y = np.argmax(X @ W + 0.5 * rng.standard_normal((n, classes)), axis=1)
    onehot = np.eye(classes)[y]

    def f(theta):
        Wt = fe.reshape(theta[: d * classes], (d, classes))
        z = X @ Wt + theta[d * classes:]
        data = fe.mean(fe.logsumexp(z, axis=1) - fe.sum(z * onehot, axis=1))
        return data + 0.5 * l2 * fe.sum(theta * theta)

    return f, d * classes + classes


def run(opt, closure, tol=1e-8, max_iter=500):
    for k in range(max_iter):
        info = opt.step(closure)
        if info.grad_norm < tol or info.stop:
            return k + 1, info
    return max_iter, info


def test_newton_cg_needs_fewer_iterations_than_lbfgs_on_logistic_regression():
    f, n = logistic_problem()
    closure = engine_closure(f)
    it_newton, info_n = run(NewtonCG(np.zeros(n)), closure)
    it_lbfgs, info_l = run(LBFGS(np.zeros(n)), closure)
    assert info_n.grad_norm < 1e-8 and info_l.grad_norm < 1e-8
    assert info_n.loss == pytest.approx(info_l.loss, rel=1e-10)
    assert it_newton < it_lbfgs


def test_newton_cg_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((6, 6))
    H = M @ M.T + np.eye(6)
    b = rng.standard_normal(6)
    f = lambda x: 0.5 * fe.sum(x * (H @ x)) - fe.sum(b * x)
    opt = NewtonCG(np.zeros(6), cg_iterations=6, cg_tol=1e-12 + 1e-6)
    opt.step(engine_closure(f))
    np.testing.assert_allclose(opt.x, np.linalg.solve(H, b), rtol=1e-6)


def test_newton_cg_rosenbrock_and_state_round_trip():
    f = lambda x: fe.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    closure = engine_closure(f)
    a = NewtonCG(np.array([-1.2, 1.0]))
    for _ in range(5):
        a.step(closure)
    b = NewtonCG(np.array(a.x))
    b.load_state_dict(a.state_dict())
    for _ in range(300):  # the indefinite valley near the start takes a while (N&W Alg. 7.1)
        ia, _ = a.step(closure), b.step(closure)
        assert np.array_equal(a.x, b.x)
        if ia.grad_norm < 1e-10 or ia.stop:
            break
    np.testing.assert_allclose(a.x, [1.0, 1.0], atol=1e-6)


def test_newton_cg_without_hvp_is_a_config_error():
    with pytest.raises(ConfigError, match="Hessian-vector"):
        NewtonCG(np.zeros(2)).step(lambda x, batch=None, need_grad=True: (0.0, np.zeros(2)))


def test_newton_cg_validates_options():
    with pytest.raises(ConfigError, match="cg_tol"):
        NewtonCG(np.zeros(2), cg_tol=2.0)
