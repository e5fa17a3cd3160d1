"""Losses and the basic regularizers: values against numpy, stability, gradients, prox."""

from __future__ import annotations

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.engine.gradcheck import check_grad
from fitcli.losses import LOSSES
from fitcli.regularizers import REGULARIZERS, NonSmoothTerm

rng = np.random.default_rng(0)


def value(loss, pred, y):
    return float(loss(fe.tensor(pred), y).data)


def test_logistic_multiclass_matches_numpy():
    z, y = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    lse = np.log(np.exp(z).sum(1))
    assert value(LOSSES["logistic"](), z, y) == pytest.approx(np.mean(lse - z[np.arange(7), y]))


def test_logistic_binary_is_the_two_class_softmax():
    z, y = rng.standard_normal((9, 1)), rng.integers(0, 2, 9)
    binary = value(LOSSES["logistic"](), z, y)
    two = value(LOSSES["logistic"](), np.hstack([np.zeros_like(z), z]), y)
    assert binary == pytest.approx(two)


def test_logistic_is_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-800.0, 900.0, 0.0]])
    assert value(LOSSES["logistic"](), z, np.array([0, 1])) == pytest.approx(0.0, abs=1e-12)
    assert value(LOSSES["logistic"](), z, np.array([1, 0])) == pytest.approx(1850.0)
    zb = np.array([[800.0], [-800.0]])
    assert value(LOSSES["logistic"](), zb, np.array([0, 1])) == pytest.approx(800.0)


def test_regression_losses_match_numpy():
    p, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    r = p - y
    assert value(LOSSES["mse"](), p, y) == pytest.approx(np.mean(r ** 2))
    assert value(LOSSES["l1"](), p, y) == pytest.approx(np.mean(np.abs(r)))
    d = 0.5
    hub = np.where(np.abs(r) <= d, 0.5 * r ** 2, d * (np.abs(r) - 0.5 * d))
    assert value(LOSSES["huber"](delta=d), p, y) == pytest.approx(np.mean(hub))
    # targets of shape (N,) against predictions (N, 1)
    assert value(LOSSES["mse"](), p[:, :1], y[:, 0]) == pytest.approx(np.mean(r[:, 0] ** 2))


@pytest.mark.parametrize("name, target", [
    ("logistic", rng.integers(0, 3, 5)), ("mse", rng.standard_normal((5, 3))),
    ("l1", rng.standard_normal((5, 3))), ("huber", rng.standard_normal((5, 3)))])
def test_loss_gradients_match_finite_differences(name, target):
    loss = LOSSES[name]()
    pred = rng.standard_normal((5, 3))
    results = check_grad(lambda p: loss(p, target), [pred], name=name)
    assert all(r.passed for r in results), [r.failure_line() for r in results]


def test_float32_stays_float32():
    pred = fe.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    out = LOSSES["logistic"]()(pred, np.array([0, 1, 2, 0]))
    out.backward()
    assert out.dtype == np.float32 and pred.grad.dtype == np.float32


def test_huber_rejects_bad_delta():
    with pytest.raises(Exception, match="loss.delta"):
        LOSSES["huber"](delta=0)


def test_regularizers_values_and_prox():
    th = np.array([-2.0, -0.1, 0.0, 0.3, 1.5])
    l2, l1 = REGULARIZERS["l2"](), REGULARIZERS["l1"]()
    assert float(l2(fe.tensor(th)).data) == pytest.approx(0.5 * np.sum(th ** 2))
    assert float(l1(fe.tensor(th)).data) == pytest.approx(np.sum(np.abs(th)))
    assert l1.smooth is False and l2.smooth is True
    np.testing.assert_allclose(l1.prox(th, 0.2), [-1.8, 0.0, 0.0, 0.1, 1.3])
    np.testing.assert_allclose(l2.prox(th, 1.0), th / 2)
    # the prox minimises ½‖z − θ‖² + t‖z‖₁: no random perturbation does better
    t, z = 0.2, l1.prox(th, 0.2)
    obj = lambda v: 0.5 * np.sum((v - th) ** 2) + t * np.sum(np.abs(v))  # noqa: E731
    assert all(obj(z) <= obj(z + 1e-3 * rng.standard_normal(5)) for _ in range(50))


def test_nonsmooth_term_acts_on_its_blocks_of_the_flat_vector():
    x = np.arange(-3.0, 3.0)          # blocks a = x[0:2], b = x[2:6]
    slices, shapes = {"a": slice(0, 2), "b": slice(2, 6)}, {"a": (2,), "b": (2, 2)}
    term = NonSmoothTerm(REGULARIZERS["l1"](), 0.5, slices, shapes, ["b"])
    assert term.value(x) == pytest.approx(0.5 * np.sum(np.abs(x[2:])))
    out = term.prox(x, 2.0)            # threshold 0.5 · 2 = 1 on b only
    np.testing.assert_allclose(out, [-3, -2, 0, 0, 0, 1])
    assert out is not x
