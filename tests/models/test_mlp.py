"""The MLP model: shapes from data, seeded init, forward, gradients, float32, flat views."""

from __future__ import annotations

import numpy as np
import pytest

from fitcli.data.base import Dataset
from fitcli.engine.gradcheck import check_grad
from fitcli.errors import ConfigError
from fitcli.losses import LOSSES
from fitcli.models import MODELS, ParamVector
from fitcli.models.mlp import MLP


def data(n=12, d=5, classes=3, dtype=np.float64):
    rng = np.random.default_rng(0)
    return Dataset("t", "classification", rng.standard_normal((n, d)).astype(dtype),
                   np.arange(n) % classes, n_classes=classes)


def test_registered_and_sizes_from_data():
    assert MODELS["mlp"] is MLP
    m = MLP(data(), hidden=[7, 6])
    assert m.param_shapes() == {"W1": (5, 7), "b1": (7,), "W2": (7, 6), "b2": (6,),
                                "W3": (6, 3), "b3": (3,)}
    assert MLP(data(classes=2), hidden=[4]).param_shapes()["W2"] == (4, 1)


def test_bad_hidden_is_a_config_error():
    with pytest.raises(ConfigError, match=r"model.hidden\[1\]"):
        MLP(data(), hidden=[3, 0])


@pytest.mark.parametrize("init", ["xavier", "he"])
def test_init_is_seeded_and_scaled(init):
    m = MLP(data(n=4, d=400), hidden=[300], init=init)
    a, b = ParamVector(m.param_shapes()), ParamVector(m.param_shapes())
    m.init_params(a.views, np.random.default_rng(1))
    m.init_params(b.views, np.random.default_rng(1))
    np.testing.assert_array_equal(a.flat, b.flat)
    W = a.views["W1"]
    expected = np.sqrt(2 / 700) if init == "xavier" else np.sqrt(2 / 400)
    assert W.std() == pytest.approx(expected, rel=0.05)
    assert not a.views["b1"].any()


def test_param_vector_views_share_the_flat_buffer():
    pv = ParamVector({"W": (2, 3), "b": (3,)})
    pv.views["W"][1, 2] = 5.0
    assert pv.flat[5] == 5.0 and pv.size == 9
    x = np.arange(9.0)
    leaves = pv.leaves(x)
    assert np.shares_memory(leaves["b"].data, x)
    out = np.empty(9)
    leaves["W"].grad = np.ones((2, 3))
    pv.gather_grad(leaves, out)
    np.testing.assert_array_equal(out, [1] * 6 + [0] * 3)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "softplus"])
def test_objective_gradient_matches_finite_differences(activation):
    d = data()
    m = MLP(d, hidden=[4], activation=activation)
    pv = ParamVector(m.param_shapes())
    m.init_params(pv.views, np.random.default_rng(0))
    names = list(pv.shapes)
    loss = LOSSES["logistic"]()

    def f(*ts):
        return m.data_term(dict(zip(names, ts, strict=True)), loss, d.X_train, d.y_train)

    results = check_grad(f, [pv.views[k] for k in names], input_names=names, name=activation)
    assert all(r.passed for r in results), [r.failure_line() for r in results]


def test_forward_matches_hand_numpy_and_float32_stays_float32():
    d = data(dtype=np.float32)
    m = MLP(d, hidden=[4])
    pv = ParamVector(m.param_shapes(), np.float32)
    m.init_params(pv.views, np.random.default_rng(0))
    v = pv.views
    ref = np.tanh(d.X_train @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"]
    out = m.predict(v, d.X_train)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    leaves = pv.leaves(pv.flat)
    total = LOSSES["logistic"]()(m.forward(leaves, d.X_train), d.y_train)
    total.backward()
    assert all(t.grad.dtype == np.float32 for t in leaves.values())
    assert m.metrics(out, d.y_train)["accuracy"] == pytest.approx(
        np.mean(out.argmax(1) == d.y_train))


def test_regression_metric_is_r2():
    rng = np.random.default_rng(0)
    d = Dataset("r", "regression", rng.standard_normal((10, 2)), rng.standard_normal(10))
    m = MLP(d, hidden=[3])
    assert m.main_metric == "r2"
    y = d.y_train
    assert m.metrics(y[:, None], y)["r2"] == pytest.approx(1.0)
    assert m.metrics(np.full((10, 1), y.mean()), y)["r2"] == pytest.approx(0.0)
