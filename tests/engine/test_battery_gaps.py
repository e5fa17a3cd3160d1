"""Gradient checks the op battery (fitcli/engine/cases.py, fitcli/operators/cases.py) misses.

- max/min/maximum/minimum at ties. README "Values at kinks": ties split the gradient
  evenly. For a two-way tie central differences see the same ½ (one side moves the
  output, the other does not), so check_grad/check_jvp apply directly; for a k-way tie
  of a reduction the documented share is 1/k, tested by value, and the JVP must be the
  same linear map (⟨u, J v⟩ = ⟨Jᵀu, v⟩).
- a square matmul: a transpose missing from a rule keeps the shapes right only there.
- the FFT blur path with a kernel that is not point-symmetric: the adjoint correlates
  with the conjugate spectrum, and for h(−x) = h(x) a dropped conj() changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.engine import Tensor
from fitcli.engine.gradcheck import check_grad, check_jvp
from fitcli.operators import Blur, blur, from_array


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


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_elementwise_extreme_tie_with_broadcast_scalar(fn):
    # relu-like use: maximum(x, 0) with x exactly 0 in places; the scalar side gets the rest
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    assert_checks(lambda a, b: getattr(fe, fn)(a, b), [x, np.zeros(())], f"{fn}(x, 0)")


def two_way_reduction_ties(rng, shape, axis):
    """Random entries, with the extreme of every slice along ``axis`` tied twice."""
    x = rng.standard_normal(shape)
    x = np.moveaxis(x, axis, -1).copy()
    top = np.argsort(x, axis=-1)
    hi, lo = top[..., -1:], top[..., :1]
    np.put_along_axis(x, top[..., -2:-1], np.take_along_axis(x, hi, -1), -1)  # max tied
    np.put_along_axis(x, top[..., 1:2], np.take_along_axis(x, lo, -1), -1)    # min tied
    return np.moveaxis(x, -1, axis)


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_reduction_two_way_ties(fn, axis):
    rng = np.random.default_rng(3)
    x = two_way_reduction_ties(rng, (4, 5), 0 if axis is None else axis)
    if axis is None:
        x = np.sort(x.ravel())
        x[-2], x[1] = x[-1], x[0]
        x = rng.permutation(x).reshape(4, 5)
    assert_checks(lambda a: getattr(fe, fn)(a, axis=axis), [x], f"{fn} axis={axis} ties")


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


# -- square matmul ---------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((4, 4), (4, 4)), ((2, 3, 3), (3, 3)), ((3, 3), (2, 3, 3)),
                                    ((3, 3), (3,)), ((3,), (3, 3))])
def test_square_matmul(sa, sb):
    rng = np.random.default_rng(5)
    assert_checks(fe.matmul, [rng.standard_normal(sa), rng.standard_normal(sb)],
                  f"matmul {sa}@{sb}")


# -- FFT blur with an asymmetric kernel ------------------------------------------------------
ASYMMETRIC = np.array([[0.0, 0.1, 0.0, 0.0, 0.05],
                       [0.3, 0.0, 0.2, 0.0, 0.0],
                       [0.0, 0.0, 0.6, 0.1, 0.0]])


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
