"""The battery's cases at ties, square matmuls and asymmetric blur kernels, and the values
around them that a gradient check cannot see.

The cases themselves live in the battery (``gradcheck_cases`` of ops_elementwise,
ops_reduce, ops_linalg and operators/blur), so ``fitcli gradcheck --ops`` and
tests/engine/test_ops.py (VJPs), test_forward.py (JVPs) run them:

- max/min/maximum/minimum at ties. README "Values at kinks": ties split the gradient
  evenly. For a two-way tie central differences see the same ½ (one side moves the
  output, the other does not), so check_grad/check_jvp apply directly; for a k-way tie
  of a reduction the documented share is 1/k, tested here by value, and the JVP must be
  the same linear map (⟨u, J v⟩ = ⟨Jᵀu, v⟩).
- a square matmul: a transpose missing from a rule keeps the shapes right only there.
- the FFT blur path with a kernel that is not point-symmetric: the adjoint correlates
  with the conjugate spectrum, and for h(−x) = h(x) a dropped conj() changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.battery import all_cases
from fitcli.engine import Tensor
from fitcli.engine.gradcheck import check_grad, check_jvp
from fitcli.operators import Blur, blur, from_array
from fitcli.operators.blur import ASYMMETRIC


def assert_checks(f, args, name):
    for r in check_grad(f, args, name=name) + check_jvp(f, args, name=name):
        assert r.passed, r.failure_line()


def vjp(f, args, u):
    leaves = [Tensor(a, requires_grad=True) for a in args]
    out = f(*leaves)
    out.backward(u)
    return [leaf.grad for leaf in leaves]


def jvp(f, args, tangents):
    return fe.jvp(f, tuple(args), tuple(tangents))[1]


# -- the cases are in the battery -------------------------------------------------------------
@pytest.mark.parametrize("op, label", [
    ("maximum", "(4, 5) (4, 5) ties"), ("minimum", "(4, 5) (4, 5) ties"),
    ("maximum", "(2, 3) () ties with 0"), ("minimum", "(2, 3) () ties with 0"),
    *[(fn, f"(4, 5) axis={axis} ties") for fn in ("max", "min") for axis in (None, 0, 1)],
    *[("matmul", lab) for lab in ("(4, 4) (4, 4)", "(2, 3, 3) (3, 3)", "(3, 3) (2, 3, 3)",
                                  "(3, 3) (3,)", "(3,) (3, 3)")],
    *[("blur", f"{shape} asymmetric {method} {boundary}") for shape in ((7, 9), (6, 8, 2))
      for method in ("direct", "fft") for boundary in ("periodic", "symmetric")]])
def test_the_battery_holds_the_case(op, label):
    (case,) = [c for c in all_cases(0) if c.op == op and c.label == label]
    if "ties" in label:   # really at a tie: the stencil straddles the kink
        a = case.args
        assert np.any(a[0] == a[1]) if len(a) == 2 else len(np.unique(a[0])) < a[0].size
        assert any(r.kinks for r in check_grad(case.fn, case.args))
    assert_checks(case.fn, case.args, f"{op} {label}")


# -- ties ------------------------------------------------------------------------------------
def two_way_ties(rng, shape):
    """a and b equal in about half the elements (and nowhere within FD reach otherwise)."""
    a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    b = np.where(rng.random(shape) < 0.5, a, a + rng.choice([-0.5, 0.5], shape))
    assert np.any(a == b) and np.any(a != b)
    return a, b


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_elementwise_extreme_at_ties(fn):
    f = getattr(fe, fn)
    a, b = two_way_ties(np.random.default_rng(0), (4, 5))
    assert_checks(f, [a, b], f"{fn} ties")
    # the documented value: half the cotangent to each argument at a tie
    u = np.random.default_rng(1).standard_normal(a.shape)
    ga, gb = vjp(f, [a, b], u)
    tie = a == b
    np.testing.assert_array_equal(ga[tie], 0.5 * u[tie])
    np.testing.assert_array_equal(gb[tie], 0.5 * u[tie])
    # forward mode: the average of the two tangents at a tie
    ta, tb = np.random.default_rng(2).standard_normal((2,) + a.shape)
    np.testing.assert_allclose(jvp(f, [a, b], [ta, tb])[tie], 0.5 * (ta + tb)[tie])


@pytest.mark.parametrize("fn, pick", [("max", np.max), ("min", np.min)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_k_way_ties_share_evenly(fn, pick, keepdims):
    # three-way and four-way ties along axis 1: each tied entry gets 1/k of the cotangent
    x = np.array([[1.0, 3.0, 3.0, 3.0, -2.0], [0.5, 0.5, 0.5, 0.5, 0.1],
                  [-4.0, -4.0, -4.0, 2.0, 2.0]])
    f = lambda a: getattr(fe, fn)(a, axis=1, keepdims=keepdims)  # noqa: E731
    rng = np.random.default_rng(4)
    u = rng.standard_normal((3, 1) if keepdims else (3,))
    (g,) = vjp(f, [x], u)
    win = x == pick(x, axis=1, keepdims=True)
    share = win / win.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, share * u.reshape(3, 1), rtol=1e-15)
    # the JVP is the same linear map: the tangent averaged over the tied entries
    v = rng.standard_normal(x.shape)
    t = jvp(f, [x], [v])
    np.testing.assert_allclose(t.ravel(), np.sum(share * v, axis=1), rtol=1e-14)
    assert float(np.sum(u * t)) == pytest.approx(float(np.sum(g * v)), rel=1e-13)


# -- FFT blur with an asymmetric kernel ------------------------------------------------------
@pytest.mark.parametrize("boundary", ["periodic", "symmetric"])
@pytest.mark.parametrize("shape", [(7, 9), (6, 8, 2)])
def test_fft_blur_with_a_kernel_that_is_not_point_symmetric(boundary, shape):
    h = from_array(ASYMMETRIC, "asymmetric")
    assert not np.allclose(h.array, h.array[::-1, ::-1])
    op = Blur(h, boundary, "fft")
    x = np.random.default_rng(6).standard_normal(shape)
    assert_checks(lambda a: blur(a, op), [x], f"blur fft {boundary}")
    # and the FFT path is the same operator as the direct one (orientation of h included)
    np.testing.assert_allclose(op.forward(x), Blur(h, boundary, "direct").forward(x),
                               atol=1e-12)
