"""Finite differences: Neumann boundary, exact adjoint −div, constants in the kernel."""

import numpy as np
import pytest

from fitcli.operators import divergence_array, gradient_adjoint, gradient_array


@pytest.mark.parametrize("shape", [(9, 7), (6, 5, 3), (1, 4), (2, 2)])
def test_adjoint(shape):
    rng = np.random.default_rng(0)
    x, p = rng.standard_normal(shape), rng.standard_normal((2,) + shape)
    lhs, rhs = np.vdot(gradient_array(x), p), np.vdot(x, gradient_adjoint(p))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)
    np.testing.assert_allclose(divergence_array(p), -gradient_adjoint(p))


def test_values_and_boundary():
    x = np.add.outer(np.arange(4.0) ** 2, 3 * np.arange(5.0))
    d = gradient_array(x)
    assert d.shape == (2, 4, 5)
    np.testing.assert_array_equal(d[0, :-1], np.diff(x, axis=0))
    np.testing.assert_array_equal(d[0, -1], 0)
    np.testing.assert_array_equal(d[1, :, :-1], 3)
    np.testing.assert_array_equal(d[1, :, -1], 0)
    assert not gradient_array(np.full((5, 5), 2.0)).any()
    assert gradient_array(x.astype(np.float32)).dtype == np.float32


def test_magnitude_values_and_zero_gradient():
    import fitcli.engine as fe
    from fitcli.operators import magnitude, magnitude_array

    p = np.zeros((2, 3, 4))
    p[0, 0, 0], p[1, 0, 0] = 3.0, 4.0
    m = magnitude_array(p, 0.0)
    assert m[0, 0] == 5.0 and not m[1:].any()
    np.testing.assert_allclose(magnitude_array(p, 2.0)[1, 1], 2.0)
    t = fe.tensor(p, requires_grad=True)
    fe.sum(magnitude(t)).backward()          # zero vectors: gradient 0, not NaN
    assert np.all(np.isfinite(t.grad))
    np.testing.assert_allclose(t.grad[:, 0, 0], [0.6, 0.8])
    assert not t.grad[:, 1:].any()
