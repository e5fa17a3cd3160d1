"""Forward mode and second order: JVP rules, jacfwd vs jacrev, Hessian-vector products."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.battery import all_cases, missing_jvp_rules
from fitcli.engine.gradcheck import check_jvp

CASES = all_cases(seed=0)


def test_every_op_has_a_jvp_rule():
    # linear one-input primitives (blur, subsample, ...) map the tangent through themselves
    assert not missing_jvp_rules()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}[{c.label}]" for c in CASES])
def test_jvp_against_finite_differences(case):
    for r in check_jvp(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()


SMOOTH = [c for c in CASES if not c.kink][::3]   # at a kink there is no Hessian to compare


@pytest.mark.parametrize("case", SMOOTH, ids=[f"{c.op}[{c.label}]" for c in SMOOTH])
def test_hvp_against_differences_of_the_gradient(case):
    # φ(x) = ⟨u, f(x, ...)⟩ in the case's first input: H v vs (∇φ(x+εv) − ∇φ(x−εv)) / 2ε
    rng = np.random.default_rng(1)
    x0, rest = case.args[0], case.args[1:]
    u = rng.standard_normal(np.shape(case.fn(*case.args).data))
    v = rng.standard_normal(np.shape(x0))
    phi = lambda x: fe.sum(case.fn(x, *rest) * u)
    hv = fe.hvp(phi)(x0, v)
    g = fe.grad(phi)
    eps = 1e-5
    fd = (g(x0 + eps * v) - g(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-6)


def _random_function(rng, n, m):
    A = rng.standard_normal((m, n))
    B = rng.standard_normal((n, n))
    def f(x):
        h = fe.tanh(B @ x) + fe.softplus(x) * x[0]
        z = A @ h
        return fe.concatenate([fe.log_softmax(z[: m // 2 + 1]), fe.sqrt(z * z + 1.0)[m // 2 + 1:]])
    return f


@pytest.mark.parametrize("n,m", [(1, 1), (3, 5), (6, 2), (4, 4)])
def test_jacfwd_equals_jacrev(n, m):
    rng = np.random.default_rng(n * 10 + m)
    f = _random_function(rng, n, m)
    x = rng.standard_normal(n)
    Jf, Jr = fe.jacfwd(f)(x), fe.jacrev(f)(x)
    assert Jf.shape == (m, n)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-12)


def test_jvp_preserves_float32():
    x = np.ones(3, np.float32)
    out, t = fe.jvp(lambda x: fe.exp(x) * 2.0, (x,), (np.ones(3, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32


def test_hessian_of_a_quadratic_is_exact():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    H = M @ M.T
    f = lambda x: 0.5 * fe.sum(x * (H @ x))
    v = rng.standard_normal(5)
    np.testing.assert_allclose(fe.hvp(f)(rng.standard_normal(5), v), H @ v, rtol=1e-12)


def test_wrong_jvp_is_reported():
    import dataclasses

    bad = dataclasses.replace(fe.OPS["exp"], jvp=lambda t, out, a: t[0] * 2.0)
    f = lambda a: fe.apply(bad, a)
    r = check_jvp(f, (np.array([0.1, 0.7]),), name="exp")[0]
    assert not r.passed and "forward mode" in r.failure_line()
