"""Proximal operators: closed forms, adjointness of the TV differences, optimality of tv_prox."""

import numpy as np
import pytest
from skimage.restoration import denoise_tv_chambolle

from fitcli.errors import ConfigError
from fitcli.optim.prox import (
    L1,
    TV,
    Box,
    project_box,
    soft_threshold,
    tv_prox,
    tv_value,
)


def test_soft_threshold_is_the_l1_prox():
    v = np.array([-3.0, -0.5, 0.0, 0.2, 2.0])
    np.testing.assert_array_equal(soft_threshold(v, 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])
    # optimality by brute force on a grid, elementwise
    z = np.linspace(-4, 4, 80001)
    for vi in v:
        best = z[np.argmin(np.abs(z) * 1.0 + (z - vi) ** 2 / 2)]
        assert soft_threshold(np.array([vi]), 1.0)[0] == pytest.approx(best, abs=1e-4)
    assert L1(2.0).value(v) == 2.0 * np.abs(v).sum()


def test_box_projection():
    v = np.array([-1.0, 0.5, 3.0])
    np.testing.assert_array_equal(project_box(v, 0.0, 1.0), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(Box().prox(v, 10.0), [0.0, 0.5, 3.0])
    assert Box(0, 1).value(v) == np.inf and Box(-1, 3).value(v) == 0.0


def tv_objective(u, v, theta):
    return 0.5 * np.sum((u - v) ** 2) + theta * tv_value(u)


def test_tv_prox_solves_the_rof_problem():
    rng = np.random.default_rng(1)
    clean = np.zeros((32, 40))
    clean[8:24, 10:30] = 1.0
    v = clean + 0.2 * rng.standard_normal(clean.shape)
    theta = 0.15
    u = tv_prox(v.ravel(), 0.5, shape=v.shape, weight=2 * theta, iterations=2000,
                tol=1e-10).reshape(v.shape)
    ref = denoise_tv_chambolle(v, weight=theta, eps=1e-10, max_num_iter=20000)
    F, F_ref = tv_objective(u, v, theta), tv_objective(ref, v, theta)
    assert F <= F_ref + 1e-6 * F_ref
    assert np.max(np.abs(u - ref)) < 1e-2
    for _ in range(5):                       # no random perturbation does better
        assert F <= tv_objective(u + 1e-3 * rng.standard_normal(u.shape), v, theta)
    assert tv_value(u) < tv_value(v)


def test_tv_prop_term_and_shape_errors():
    v = np.random.default_rng(2).standard_normal(2 * 12 * 10)
    term = TV(0.3, (12, 10, 2))
    u = term.prox(v, 1.0)
    assert u.shape == v.shape
    assert term.value(u) < term.value(v)
    with pytest.raises(ConfigError, match="image shape"):
        tv_prox(v, 1.0, shape=(11, 10))
