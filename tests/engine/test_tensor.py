"""The engine's sweep, API and numerics: accumulation, long graphs, dtypes, errors, kinks."""

import dataclasses
import gc
import warnings
import weakref

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.engine import ops_elementwise
from fitcli.engine.gradcheck import check_grad


def seed_graph(t1, t2):
    # the lecture's example: l(θ1, θ2) = θ2·e^θ1·sqrt(θ1 + θ2·e^θ1)
    u = t2 * fe.exp(t1)
    return u * fe.sqrt(t1 + u)


@pytest.mark.parametrize("t1,t2", [(0.3, 1.2), (1.0, 0.5), (-0.7, 2.0), (2.0, 3.0)])
def test_seed_example_against_hand_formula(t1, t2):
    e = np.exp(t1)
    s = np.sqrt(t1 + t2 * e)
    # ∂l/∂θ1 = θ2 e s + θ2 e (1 + θ2 e) / (2 s);  ∂l/∂θ2 = e s + θ2 e·e / (2 s)
    d1 = t2 * e * s + t2 * e * (1 + t2 * e) / (2 * s)
    d2 = e * s + t2 * e * e / (2 * s)
    value, (g1, g2) = fe.value_and_grad(seed_graph, argnums=(0, 1))(t1, t2)
    assert value == pytest.approx(t2 * e * s, rel=1e-14)
    assert g1 == pytest.approx(d1, rel=1e-13)
    assert g2 == pytest.approx(d2, rel=1e-13)


def test_shared_parameter_gets_the_sum():
    # a parameter used at every step of a recurrence: gradient = sum of per-step terms
    w = 0.9
    steps = 5
    def f(w):
        h = fe.tensor(1.0)
        for _ in range(steps):
            h = h * w + 1.0
        return h
    g = fe.grad(f)(w)
    # h_T = Σ_{k=0}^{T} w^k  =>  dh/dw = Σ k w^(k-1)
    assert g == pytest.approx(sum(k * w ** (k - 1) for k in range(1, steps + 1)), rel=1e-13)


def test_diamond_graph():
    def f(x):
        a = fe.exp(x)
        return fe.sum(a * fe.sin(x) if hasattr(fe, "sin") else a * fe.tanh(x) + a * a)
    x = np.array([0.1, -0.4, 0.8])
    for r in check_grad(f, (x,), name="diamond"):
        assert r.passed, r.failure_line()


def test_node_used_twice_in_one_op():
    g = fe.grad(lambda x: fe.sum(x * x))(np.array([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, -4.0, 6.0])


def test_chain_of_100k_nodes_backpropagates():
    x = fe.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    fe.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_graph_is_released_during_backward():
    x = fe.tensor(np.ones(3), requires_grad=True)
    mid = fe.exp(x)
    ref = weakref.ref(mid)
    out = fe.sum(mid * 2.0)
    del mid
    out.backward()
    gc.collect()
    assert ref() is None, "intermediate node still referenced after backward"


def test_float32_end_to_end():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 5)).astype(np.float32)
    W = rng.standard_normal((5, 3)).astype(np.float32)
    b = np.zeros(3, np.float32)
    def loss(W, b):
        z = fe.tanh(X @ W + b) * 0.5
        return fe.mean(fe.logsumexp(z, axis=1) - z[:, 0]) + 1e-3 * fe.sum(W ** 2)
    v, (gW, gb) = fe.value_and_grad(loss, argnums=(0, 1))(W, b)
    assert v.dtype == np.float32 and gW.dtype == np.float32 and gb.dtype == np.float32


def test_every_case_keeps_float32_in_backward():
    for case in fe.gradcheck_cases(np.random.default_rng(1))[::5]:
        args = [fe.tensor(np.asarray(a, np.float32), requires_grad=True) for a in case.args]
        out = case.fn(*args)
        out.backward(np.ones_like(out.data))
        for a in args:
            assert a.grad.dtype == np.float32, case.op


def test_ndarray_on_the_left_reaches_the_tensor():
    X = np.ones((2, 3))
    W = fe.tensor(np.ones((3, 4)), requires_grad=True)
    for out in (X @ W, X + W[:, :1].T * 0 + 0, 2.0 * W, np.float64(2.0) - W):
        assert isinstance(out, fe.Tensor)
    fe.sum(X @ W).backward()
    np.testing.assert_array_equal(W.grad, np.full((3, 4), 2.0))


def test_comparisons_are_plain_boolean_arrays():
    t = fe.tensor([1.0, 2.0, 3.0])
    for r in (t > 2, t <= 2.0, t == np.array([1.0, 0, 3]), t != 1):
        assert isinstance(r, np.ndarray) and r.dtype == bool


def test_logsumexp_stable_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = fe.logsumexp(np.array([1000.0, 1000.0])).item()
        assert v == pytest.approx(1000 + np.log(2), abs=1e-12)
        g = fe.grad(lambda x: fe.logsumexp(x))(np.array([1000.0, 1000.0, -1000.0]))
        np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
        ls = fe.log_softmax(np.array([[-800.0, 0.0, 800.0]]), axis=1).data
        assert np.all(np.isfinite(ls))
        assert fe.softplus(np.array([-1000.0, 1000.0])).data.tolist() == [0.0, 1000.0]


@pytest.mark.parametrize("f,x,expected", [
    (fe.abs, 0.0, 0.0),
    (fe.relu, 0.0, 0.0),
    (lambda x: fe.norm(x), np.zeros(3), np.zeros(3)),
    (lambda x: fe.maximum(x, 0.0), 0.0, 0.5),
    (lambda x: fe.max(x), np.array([1.0, 3.0, 3.0]), np.array([0.0, 0.5, 0.5])),
    (lambda x: fe.min(x, axis=0), np.array([2.0, 2.0]), np.array([0.5, 0.5])),
    (lambda x: fe.clip(x, 0.0, 1.0), 1.0, 1.0),
])
def test_values_at_kinks(f, x, expected):
    g = fe.grad(lambda x: fe.sum(f(x)))(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, expected)


def test_repeated_integer_index_accumulates():
    g = fe.grad(lambda x: fe.sum(x[[0, 0, 2, 0]]))(np.zeros(4))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0, 0.0])


def test_boolean_mask_and_newaxis_indexing():
    x = np.arange(6.0).reshape(2, 3)
    mask = x > 2
    g = fe.grad(lambda t: fe.sum(t[mask] ** 2))(x)
    np.testing.assert_array_equal(g, np.where(mask, 2 * x, 0))
    assert fe.tensor(x)[None, ..., 1].shape == (1, 2)


def test_matmul_error_names_op_and_shapes():
    with pytest.raises(fe.EngineError, match=r"matmul.*\(3, 4\).*\(5, 2\)"):
        fe.tensor(np.ones((3, 4))) @ np.ones((5, 2))


def test_non_scalar_backward_needs_a_seed():
    y = fe.tensor(np.ones(3), requires_grad=True) * 2
    with pytest.raises(fe.EngineError, match="not a scalar"):
        y.backward()
    with pytest.raises(fe.EngineError, match="scalar output"):
        fe.grad(lambda x: x * 2)(np.ones(3))


def test_grad_argnums_tuple_and_unused_argument():
    f = lambda a, b, c: fe.sum(a * b)
    ga, gc_ = fe.grad(f, argnums=(0, 2))(np.ones(2), np.array([3.0, 4.0]), np.ones(5))
    np.testing.assert_array_equal(ga, [3.0, 4.0])
    np.testing.assert_array_equal(gc_, np.zeros(5))
    assert fe.grad(f, argnums=1)(np.ones(2), np.ones(2), 0).shape == (2,)


def test_gradient_of_a_mean_and_var_composites():
    x = np.random.default_rng(3).standard_normal((4, 3))
    for f in (lambda t: fe.var(t, axis=0), lambda t: fe.softmax(t, axis=1),
              lambda t: fe.mean(t, axis=(0, 1), keepdims=True)):
        for r in check_grad(f, (x,), name="composite"):
            assert r.passed, r.failure_line()


def test_no_grad_records_nothing():
    x = fe.tensor(np.ones(2), requires_grad=True)
    with fe.no_grad():
        y = fe.exp(x)
    assert not y.requires_grad and y.parents == ()


def test_a_wrong_vjp_is_caught_with_op_input_and_element(monkeypatch):
    bad = dataclasses.replace(ops_elementwise.tanh_op, vjps=(lambda g, out, a: g * (1 - out),))
    monkeypatch.setattr(ops_elementwise, "tanh_op", bad)
    x = np.array([[0.3, -0.2], [0.5, 0.9]])
    results = check_grad(fe.tanh, (x,), name="tanh")
    assert not results[0].passed
    line = results[0].failure_line()
    assert "tanh" in line and "input 0" in line and "element (" in line
    assert "numerical" in line and "analytical" in line


def test_large_inputs_are_checked_by_projection():
    A = np.random.default_rng(0).standard_normal((50, 600))
    res = check_grad(lambda x: fe.sum(fe.tanh(A @ x)), (np.zeros(600) + 0.01,), name="proj")
    assert res[0].method == "projection" and res[0].passed
