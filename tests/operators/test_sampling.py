"""Subsampling and its adjoints: the grid kept, dot-product tests, area averaging."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.operators import (
    area_adjoint,
    area_array,
    centre_adjoint,
    centre_array,
    subsample,
    subsample_array,
    upsample_zero,
)


@pytest.mark.parametrize("shape", [(12, 9), (8, 8, 3), (1, 5), (7, 7)])
@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_subsample_adjoint(shape, factor):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    y = rng.standard_normal(subsample_array(x, factor).shape)
    lhs = np.vdot(subsample_array(x, factor), y)
    rhs = np.vdot(x, upsample_zero(y, factor, shape))
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1e-300)


def test_keeps_pixels_0_f_2f():
    x = np.arange(100.0).reshape(10, 10)
    y = subsample_array(x, 4)
    assert y.shape == (3, 3)
    np.testing.assert_array_equal(y, x[[0, 4, 8]][:, [0, 4, 8]])


@pytest.mark.parametrize("shape,factor", [((12, 9), 3), ((8, 8, 3), 2), ((4, 4), 4)])
def test_area_adjoint_and_mean(shape, factor):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    a = area_array(x, factor)
    np.testing.assert_allclose(a[0, 0], x[:factor, :factor].mean(axis=(0, 1)))
    y = rng.standard_normal(a.shape)
    lhs, rhs = np.vdot(a, y), np.vdot(x, area_adjoint(y, factor, shape))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_area_needs_multiple():
    with pytest.raises(fe.EngineError, match="multiple"):
        subsample(fe.tensor(np.zeros((7, 8))), 2, mode="area")


def test_float32_and_bad_factor():
    x = fe.tensor(np.ones((6, 6), np.float32), requires_grad=True)
    out = fe.sum(subsample(x, 2))
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(fe.EngineError, match="factor"):
        subsample(fe.tensor(np.zeros((6, 6))), 0)


@pytest.mark.parametrize("shape,factor", [((12, 9), 3), ((8, 8, 3), 2), ((8, 12), 4), ((5, 5), 1)])
def test_centre_adjoint_and_grid(shape, factor):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    y = rng.standard_normal(centre_array(x, factor).shape)
    lhs, rhs = np.vdot(centre_array(x, factor), y), np.vdot(x, centre_adjoint(y, factor, shape))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)
    # a ramp is read at the block centres k·f + (f − 1)/2 (resize's grid), on both axes
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    c = (np.arange(shape[0] // factor) * factor + (factor - 1) / 2)
    np.testing.assert_allclose(centre_array(rows.astype(float), factor)[:, 0], c)
    c = (np.arange(shape[1] // factor) * factor + (factor - 1) / 2)
    np.testing.assert_allclose(centre_array(cols.astype(float), factor)[0], c)
    t = fe.tensor(x, requires_grad=True)
    fe.sum(subsample(t, factor, mode="centre") * y).backward()
    np.testing.assert_allclose(t.grad, centre_adjoint(y, factor, shape))
