"""The test objectives: gradients and Hessian-vector products against central differences."""

import numpy as np
import pytest

from fitcli.optim.testfns import least_squares, logistic_regression, quadratic, rosenbrock


def objectives():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    return {
        "quadratic": quadratic(dim=5, condition=30.0),
        "rosenbrock": rosenbrock(dim=4),
        "least_squares": least_squares(rng.standard_normal((7, 5)), rng.standard_normal(7)),
        "logistic_binary": logistic_regression(X, rng.integers(0, 2, 40), l2=0.1),
        "logistic_softmax": logistic_regression(X, rng.integers(0, 4, 40), l2=0.1),
    }


@pytest.mark.parametrize("name", list(objectives()))
def test_gradient_and_hvp_match_central_differences(name):
    c = objectives()[name]
    rng = np.random.default_rng(1)
    x = c.start + 0.3 * rng.standard_normal(c.start.size)
    v = rng.standard_normal(x.size)
    h = 1e-6
    f, g = c(x)
    fd = (c(x + h * v)[0] - c(x - h * v)[0]) / (2 * h)
    assert abs(g @ v - fd) <= 1e-6 * max(1.0, abs(fd))
    fd_hv = (c(x + h * v)[1] - c(x - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(c.hvp(x, v), fd_hv, rtol=1e-5, atol=1e-6)
    assert c(x, need_grad=False) == (f, None)
    if hasattr(c, "values"):
        assert c.values(np.stack([x, x + v]))[0] == pytest.approx(f)


def test_known_minimisers_and_lipschitz_bounds():
    q = quadratic(dim=6, condition=100.0, seed=3)
    assert q(q.x_star)[0] == 0.0 and np.linalg.eigvalsh(q.hessian).max() == pytest.approx(100)
    r = rosenbrock(dim=3)
    assert r(r.x_star)[0] == 0.0 and not np.any(r(r.x_star)[1])
    c = objectives()["logistic_softmax"]
    rng = np.random.default_rng(2)
    for _ in range(3):                  # ‖∇²E v‖ ≤ L ‖v‖ at random points
        x, v = rng.standard_normal((2, c.start.size))
        assert np.linalg.norm(c.hvp(x, v)) <= c.lipschitz * np.linalg.norm(v) * (1 + 1e-12)


def test_minibatch_closures_average_to_the_full_objective():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 2)), rng.integers(0, 3, 30)
    c = logistic_regression(X, y, l2=0.0)
    x = rng.standard_normal(c.start.size)
    halves = [np.arange(15), np.arange(15, 30)]
    f = np.mean([c(x, batch=b)[0] for b in halves])
    g = np.mean([c(x, batch=b)[1] for b in halves], axis=0)
    assert f == pytest.approx(c(x)[0]) and np.allclose(g, c(x)[1])
