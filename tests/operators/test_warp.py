"""Warp primitives against scipy / scikit-image, their gradients, adjoints, and the pyramid."""

import numpy as np
import pytest
from scipy import ndimage

import fitcli.engine as fe
from fitcli.engine.gradcheck import check_grad
from fitcli.operators import pyramid as P
from fitcli.operators import warp as W


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _coords(rng, hw, out_shape, margin=3.0):
    return np.stack([rng.uniform(-margin, hw[0] - 1 + margin, out_shape),
                     rng.uniform(-margin, hw[1] - 1 + margin, out_shape)])


@pytest.mark.parametrize("hw", [(13, 17), (8, 8), (2, 5)])
def test_linear_matches_scipy_both_boundaries(rng, hw):
    img = rng.random(hw)
    c = _coords(rng, hw, (20, 9))
    border = W.warp_linear(img, c, "border").data
    np.testing.assert_allclose(border, ndimage.map_coordinates(img, c, order=1, mode="nearest"),
                               atol=1e-12)
    zeros = W.warp_linear(img, c, "zeros").data
    ref = ndimage.map_coordinates(img, c, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(zeros, ref, atol=1e-12)


def test_linear_matches_skimage_warp(rng):
    from skimage.transform import warp

    img = rng.random((16, 12))
    c = _coords(rng, img.shape, img.shape, margin=0.0)
    np.testing.assert_allclose(W.warp_linear(img, c).data, warp(img, c, order=1, mode="edge"),
                               atol=1e-12)


def test_cubic_matches_scipy_spline(rng):
    img = rng.random((11, 14))
    c = _coords(rng, img.shape, (30,))
    clamped = np.stack([np.clip(c[0], 0, 10), np.clip(c[1], 0, 13)])
    ours = W.warp_cubic(W.spline_coefficients(img), c, "border").data
    ref = ndimage.map_coordinates(img, clamped, order=3, mode="mirror")
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("boundary", W.BOUNDARIES)
def test_cubic_interpolates_the_pixels(rng, boundary):
    img = rng.random((6, 9))
    coef = W.spline_coefficients(img, boundary)
    np.testing.assert_allclose(W.warp_cubic(coef, W.identity_grid(img.shape), boundary).data,
                               img, atol=1e-12)


def test_warp_helper_identity_and_shift(rng):
    img = ndimage.gaussian_filter(rng.random((32, 32)), 2)
    zero = np.zeros((2, 32, 32))
    np.testing.assert_allclose(W.warp(img, zero, order=1), img, atol=1e-12)
    np.testing.assert_allclose(W.warp(img, zero, order=3), img, atol=1e-12)
    u = np.ones((2, 32, 32))  # x + (1, 1): an integer shift
    np.testing.assert_allclose(W.warp(img, u, order=3)[:-1, :-1], img[1:, 1:], atol=1e-12)


@pytest.mark.parametrize("case", W.gradcheck_cases(np.random.default_rng(1)),
                         ids=lambda c: f"{c.op}[{c.label}]")
def test_gradients(case):
    for r in check_grad(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()


@pytest.mark.parametrize("op", ["linear", "cubic"])
@pytest.mark.parametrize("boundary", W.BOUNDARIES)
def test_adjoint_in_the_image(rng, op, boundary):
    # for fixed coordinates the warp is linear in the image: <A x, y> = <x, A^T y>
    x = rng.standard_normal((9, 7))
    c = _coords(rng, x.shape, (5, 11))
    y = rng.standard_normal((5, 11))
    fn = W.warp_linear_op if op == "linear" else W.warp_cubic_op
    ax = fn.fwd(x, c, boundary=boundary)
    aty = fn.vjps[0](y, ax, x, c, boundary=boundary)
    lhs, rhs = np.vdot(ax, y), np.vdot(x, aty)
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1.0)


def test_float32_stays_float32(rng):
    img = rng.random((8, 8)).astype(np.float32)
    c = _coords(rng, img.shape, (8, 8)).astype(np.float32)
    for fn in (W.warp_linear, W.warp_cubic):
        t = fe.tensor(c, requires_grad=True)
        out = fn(img, t)
        assert out.dtype == np.float32
        fe.sum(out).backward()
        assert t.grad.dtype == np.float32


def test_bad_shapes_raise():
    with pytest.raises(fe.EngineError, match="coords must have shape"):
        W.warp_linear(np.zeros((4, 4)), np.zeros((3, 4, 4)))
    with pytest.raises(fe.EngineError, match="image must be 2-d"):
        W.warp_cubic(np.zeros((4, 4, 3)), np.zeros((2, 4)))
    with pytest.raises(fe.EngineError, match="boundary"):
        W.warp_linear(np.zeros((4, 4)), np.zeros((2, 4)), "wrap")


# -- pyramid ----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 48), (33, 17)])
def test_pyramid_shapes_and_constant(shape):
    img = np.full(shape, 0.7)
    levels = P.pyramid(img, 3)
    assert [lv.shape for lv in levels] == [shape, P.coarse_shape(shape),
                                          P.coarse_shape(P.coarse_shape(shape))]
    for lv in levels:
        np.testing.assert_allclose(lv, 0.7)
    np.testing.assert_allclose(P.upsample(levels[1], shape), 0.7)


def test_field_pyramid_keeps_an_affine_field_in_pixels():
    # u(x) = A x + t in fine pixels is u(2X + ½) / 2 in coarse pixels (x = 2X + ½)
    shape = (40, 36)
    grid = W.identity_grid(shape)
    a = np.array([[0.02, -0.01], [0.015, 0.01]])
    u = np.einsum("ij,jhw->ihw", a, grid) + np.array([1.5, -0.5]).reshape(2, 1, 1)
    coarse = P.downsample_field(u, sigma=0.0)
    cgrid = W.identity_grid(coarse.shape[1:])
    expected = (np.einsum("ij,jhw->ihw", a, 2 * cgrid + 0.5)
                + np.array([1.5, -0.5]).reshape(2, 1, 1)) / 2
    np.testing.assert_allclose(coarse[:, :-1, :-1], expected[:, :-1, :-1], atol=1e-12)
    back = P.upsample_field(coarse, shape)
    # cubic splines reproduce a linear field up to a boundary effect decaying as 0.27^distance
    np.testing.assert_allclose(back[:, 8:-8, 8:-8], u[:, 8:-8, 8:-8], atol=1e-4)
