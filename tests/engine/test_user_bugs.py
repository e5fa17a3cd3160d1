"""The four bugs found by using the engine as a user would (issue 12)."""

import numpy as np
import pytest

import fitcli.engine as fe


def test_gradients_of_several_arguments_are_separate_arrays():
    ga, gb = fe.grad(lambda a, b: fe.sum(a + b), argnums=(0, 1))(np.ones(3), np.ones(3))
    ga *= 10
    np.testing.assert_array_equal(gb, np.ones(3))


@pytest.mark.parametrize("y", [1.5, 2.0, 2.5, 3.0])
def test_power_at_zero_has_a_finite_gradient(y):
    x = np.array([0.0, 0.5])
    want = y * x ** (y - 1)
    g = fe.grad(lambda x: fe.sum(x ** y))(x)
    np.testing.assert_allclose(g, want)
    gx, gy = fe.grad(lambda x, y: fe.sum(x ** y), argnums=(0, 1))(x, np.array(y))
    np.testing.assert_allclose(gx, want)
    assert np.isfinite(gy)
    _, t = fe.jvp(lambda x, y: x ** y, (x, np.array(y)), (np.ones(2), np.ones(())))
    assert np.all(np.isfinite(t))


def test_mean_of_an_empty_array_is_a_clear_engine_error():
    with pytest.raises(fe.EngineError, match="mean: no elements"):
        fe.mean(np.zeros(0))
    with pytest.raises(fe.EngineError, match="var: no elements"):
        fe.var(np.zeros((0, 3)), axis=0)


def test_numpy_functions_on_tensors_run_the_engine_functions():
    x = np.array([1.0, -2.0, 3.0])
    g = fe.grad(lambda t: np.sum(np.sin(t.data) * 0 + t * t))(x)
    np.testing.assert_allclose(g, 2 * x)
    t = fe.tensor(x)
    assert isinstance(np.sum(t), fe.Tensor) and np.sum(t).item() == 2.0
    np.testing.assert_allclose(np.stack([t, t], axis=1).data, np.stack([x, x], axis=1))
    assert np.shape(t) == (3,) and np.argmax(t) == 2


def test_numpy_function_without_an_engine_version_names_the_engine():
    with pytest.raises(fe.EngineError, match="fe.sum"):
        np.linalg.slogdet(fe.tensor(np.eye(2)))
    with pytest.raises(fe.EngineError, match="out= is not supported"):
        np.sum(fe.tensor([1.0]), out=np.zeros(()))


def test_mod_operator_and_numpy_pad_signature():
    x = np.array([-3.5, 2.0, 7.25])
    np.testing.assert_allclose((fe.tensor(x) % 2.0).data, x % 2.0)
    np.testing.assert_allclose((5.0 % fe.tensor([2.0, 3.0])).data, [1.0, 2.0])
    for mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
        np.testing.assert_allclose(fe.pad(x, (2, 1), mode=mode).data, np.pad(x, (2, 1), mode))
    assert fe.dot(np.array(2.0), np.array(3.0)).item() == 6.0
