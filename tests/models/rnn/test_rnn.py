"""The rnn model: gradients of every cell, shared weights through time, truncated BPTT,
long sequences, memory, clipping, metrics, sampling and run-folder outputs."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.bench.rnn import engine_grad, make_problem, numpy_grad
from fitcli.data.base import DataContext
from fitcli.data.sequences import load_sequences
from fitcli.engine.gradcheck import check_grad, check_jvp
from fitcli.errors import ConfigError, InputError
from fitcli.losses import LOSSES
from fitcli.models import MODELS
from fitcli.models.base import ParamVector
from fitcli.models.rnn import RNN, cells, gru, lstm
from fitcli.models.rnn.outputs import bits_per_char, sequence_metrics
from fitcli.models.rnn.text import sample_text

MSE, LOGISTIC = LOSSES["mse"](), LOSSES["logistic"]()
CASES = (cells.gradcheck_cases(np.random.default_rng(0))
         + lstm.gradcheck_cases(np.random.default_rng(1))
         + gru.gradcheck_cases(np.random.default_rng(2)))


def data(kind, length=5, samples=6, seed=0, dtype=np.float64, **kw):
    ctx = DataContext(Path("."), np.random.default_rng(seed), np.dtype(dtype))
    return load_sequences(ctx, dataset=kind, length=length, samples=samples, validation=0.5,
                          **kw)


def build(d, seed=1, dtype=np.float64, **options):
    m = RNN(d, **options)
    pv = ParamVector(m.param_shapes(), dtype=dtype)
    m.init_params(pv.views, np.random.default_rng(seed))
    return m, pv


def objective(m, names, loss, X, y):
    return lambda *arrays: m.data_term(dict(zip(names, arrays, strict=True)), loss, X, y)


def grads(m, pv, loss, X, y):
    leaves = pv.leaves(pv.flat)
    value = m.data_term(leaves, loss, X, y)
    value.backward()
    return float(value.data), {k: t.grad for k, t in leaves.items()}


def test_registered():
    assert MODELS["rnn"] is RNN


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}[{c.label}]" for c in CASES])
def test_fused_primitives_against_finite_differences(case):
    for r in check_grad(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()
    for r in check_jvp(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind,readout", [("adding", "last"), ("sine", "all"), ("reber", "all")])
def test_gradcheck_every_cell(cell, layers, kind, readout):
    d = data(kind, length=4)
    m, pv = build(d, cell=cell, hidden=3, layers=layers, readout=readout)
    names = list(pv.shapes)
    loss = LOGISTIC if kind == "reber" else MSE
    res = check_grad(objective(m, names, loss, d.X_train, d.y_train),
                     [pv.views[k] for k in names], input_names=names)
    assert len(res) == len(names)
    for r in res:
        assert r.passed, r.failure_line()


def _unrolled(m, params, copies, name, X, loss, y):
    """The same network, unrolled by hand with its own copy of ``name`` at every step."""
    xs = m._step_inputs(X, np.float64)
    state = m.initial_state(len(xs[0]), np.float64)[0]
    outs = []
    for t, x in enumerate(xs):
        state, h = m.cell_step({**params, name: copies[t]}, 0, x, state)
        outs.append(h)
    return loss(m.readout_layer(params, outs), y)


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("name", ["U0", "W0", "b0"])
def test_shared_weight_gradient_is_the_sum_of_per_step_contributions(cell, name):
    d = data("sine", length=6, samples=8)
    m, pv = build(d, cell=cell, hidden=4)
    _, g = grads(m, pv, MSE, d.X_train, d.y_train)
    params = {k: fe.Tensor(v) for k, v in pv.views.items()}
    copies = [fe.Tensor(pv.views[name].copy(), requires_grad=True) for _ in range(6)]
    _unrolled(m, params, copies, name, d.X_train, MSE, d.y_train).backward()
    per_step = [c.grad for c in copies]
    # every step contributes (U multiplies the zero initial state at step 0)
    first = 1 if name == "U0" else 0
    assert all(np.abs(p).max() > 0 for p in per_step[first:])
    assert first == 0 or np.all(per_step[0] == 0)
    np.testing.assert_allclose(sum(per_step), g[name], rtol=1e-12, atol=1e-14)


def test_engine_bptt_matches_numpy_by_hand():
    m, pv, X, y = make_problem(T=7, N=3, D=2, H=5)
    ge, gn = np.empty(pv.size), np.empty(pv.size)
    le, ln = engine_grad(m, pv, X, y, ge), numpy_grad(pv, X, y, gn)
    assert le == pytest.approx(ln, rel=1e-13)
    np.testing.assert_allclose(ge, gn, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
def test_truncated_bptt_at_or_beyond_the_length_equals_full(cell):
    d = data("sine", length=7, samples=6)
    full_loss, full = grads(*build(d, cell=cell, hidden=4, layers=2), MSE, d.X_train, d.y_train)
    for bptt in (7, 12):
        loss, g = grads(*build(d, cell=cell, hidden=4, layers=2, bptt=bptt), MSE, d.X_train,
                        d.y_train)
        assert loss == full_loss
        for k in full:
            np.testing.assert_array_equal(g[k], full[k])
    loss, short = grads(*build(d, cell=cell, hidden=4, layers=2, bptt=2), MSE, d.X_train,
                        d.y_train)
    assert loss == pytest.approx(full_loss, rel=1e-14)        # values flow on
    assert not np.allclose(short["U0"], full["U0"])           # gradients are cut


def test_truncated_bptt_cuts_every_n_steps():
    # readout last, bptt 3 on T = 7: the state is detached before steps 3 and 6, so the
    # gradient is that of a network restarted at step 6 from the (constant) state
    d = data("adding", length=7, samples=6)
    m, pv = build(d, cell="elman", hidden=4, bptt=3)
    _, g = grads(m, pv, MSE, d.X_train, d.y_train)
    ref, pv_ref = build(d, cell="elman", hidden=4)
    params = {k: fe.Tensor(v) for k, v in pv_ref.views.items()}
    with fe.no_grad():
        _, state = ref.run(params, d.X_train[:, :6])
    leaves = pv_ref.leaves(pv_ref.flat)
    outs, _ = ref.run(leaves, d.X_train[:, 6:], [s.data for s in state])
    MSE(ref.readout_layer(leaves, outs), d.y_train).backward()
    for k in g:
        np.testing.assert_allclose(g[k], leaves[k].grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_length_1000_forward_and_backward(cell):
    d = data("sine", length=1000, samples=4)
    m, pv = build(d, cell=cell, hidden=8)
    loss, g = grads(m, pv, MSE, d.X_train, d.y_train)
    assert np.isfinite(loss) and all(np.all(np.isfinite(v)) for v in g.values())


def _peak(T):
    m, pv, X, y = make_problem(T=T, N=8, D=4, H=32)
    out = np.empty(pv.size)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    engine_grad(m, pv, X, y, out)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def test_memory_grows_linearly_in_the_length():
    p1, p2, p4 = _peak(200), _peak(400), _peak(800)
    assert 1.7 < p2 / p1 < 2.3 and 1.7 < p4 / p2 < 2.3
    assert p4 < 10 * 800 * 8 * 32 * 8          # a small multiple of the bare hidden states


def test_float32_end_to_end():
    d = data("reber", length=5, dtype=np.float32)
    m, pv = build(d, dtype=np.float32, cell="gru", hidden=4)
    loss, g = grads(m, pv, LOGISTIC, d.X_train, d.y_train)
    assert all(v.dtype == np.float32 for v in g.values())
    assert m.predict(pv.views, d.X_val).dtype == np.float32


def test_clip_rescales_the_gradient_norm():
    d = data("adding")
    m, _ = build(d, clip=2.0)
    g = np.array([3.0, 4.0])
    assert m.clip_grad(g) is g and np.linalg.norm(g) == pytest.approx(2.0)
    np.testing.assert_allclose(g, [1.2, 1.6])
    small = np.array([0.3, 0.4])
    np.testing.assert_array_equal(m.clip_grad(small), [0.3, 0.4])
    unclipped = build(d)[0]
    np.testing.assert_array_equal(unclipped.clip_grad(np.array([30.0])), [30.0])


def test_elman_recurrent_weights_are_orthogonal_and_lstm_forget_bias_is_one():
    d = data("sine")
    m, pv = build(d, cell="elman", hidden=6)
    U = pv.views["U0"]
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-12)
    m, pv = build(d, cell="lstm", hidden=3)
    np.testing.assert_array_equal(pv.views["b0"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert np.array_equal(build(d, seed=5)[1].flat, build(d, seed=5)[1].flat)


@pytest.mark.parametrize("options,field", [
    ({"cell": "rnn"}, "model.cell"), ({"hidden": 0}, "model.hidden"),
    ({"layers": 0}, "model.layers"), ({"bptt": -1}, "model.bptt"),
    ({"clip": -1.0}, "model.clip"), ({"readout": "last"}, "model.readout"),
    ({"readout": "first"}, "model.readout"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError) as e:
        RNN(data("sine"), **options)
    assert e.value.field == field


def test_readout_shapes():
    d = data("sine", length=5)
    m, pv = build(d, hidden=3)
    assert m.predict(pv.views, d.X_train).shape == (3, 5, 1)
    d = data("adding", length=5)
    m, pv = build(d, hidden=3, layers=2)
    assert m.predict(pv.views, d.X_train).shape == (3, 1)


def test_metrics():
    rng = np.random.default_rng(0)
    d = data("reber", length=40, samples=40)
    y = d.y_val
    from fitcli.data.sequences import reber_legal_mask
    legal = reber_legal_mask(y).astype(float)
    perfect = sequence_metrics("reber", legal + 0.01 * rng.random(legal.shape), y)
    assert perfect["legal"] == 1.0
    constant = np.zeros(legal.shape)
    constant[..., 3] = 1.0                                   # always "S"
    assert sequence_metrics("reber", constant, y)["legal"] < 0.5
    logits = np.zeros((2, 3, 8))
    assert bits_per_char(logits, np.zeros((2, 3), dtype=int)) == pytest.approx(3.0)
    assert sequence_metrics("adding", np.ones((4, 1)), np.zeros((4, 1))) == {"mse": 1.0}


def test_training_reduces_the_loss_with_adam():
    from fitcli.optim import OPTIMIZERS

    d = data("reber", length=20, samples=64)
    m, pv = build(d, cell="gru", hidden=8)
    opt = OPTIMIZERS["adam"](pv.flat, step=0.02, batch_size=16, n_samples=d.n_train,
                             rng=np.random.default_rng(0))

    def closure(x, batch=None, need_grad=True):
        leaves = pv.leaves(x)
        Xb, yb = (d.X_train, d.y_train) if batch is None else (d.X_train[batch],
                                                               d.y_train[batch])
        v = m.data_term(leaves, LOGISTIC, Xb, yb)
        v.backward()
        return float(v.data), m.clip_grad(pv.gather_grad(leaves, np.empty_like(x)))

    start = closure(pv.flat)[0]
    for _ in range(40):
        opt.step(closure)
    assert closure(pv.flat)[0] < 0.75 * start


def test_sample_text(tmp_path):
    (tmp_path / "t.txt").write_text("the cat sat on the mat. " * 20)
    ctx = DataContext(tmp_path, np.random.default_rng(0))
    d = load_sequences(ctx, dataset="text", path="t.txt", length=10, samples=10)
    m, pv = build(d, cell="lstm", hidden=5, layers=2)
    a = sample_text(m, pv.views, 50, temperature=0.8, prime="the ", rng=np.random.default_rng(3))
    b = sample_text(m, pv.views, 50, temperature=0.8, prime="the ", rng=np.random.default_rng(3))
    assert a == b and len(a) == 50 and set(a) <= set(d.extras["vocab"])
    assert len(sample_text(m, pv.views, 7, rng=np.random.default_rng(0))) == 7
    with pytest.raises(InputError, match="--prime"):
        sample_text(m, pv.views, 5, prime="dog!", rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="--temperature"):
        sample_text(m, pv.views, 5, temperature=0.0, rng=np.random.default_rng(0))


def test_sampling_continues_the_state_of_the_prime(tmp_path):
    # feeding the prime then one step must equal running over prime + next at once
    (tmp_path / "t.txt").write_text("abcabcabd " * 30)
    d = load_sequences(DataContext(tmp_path, np.random.default_rng(0)), dataset="text",
                       path="t.txt", length=6, samples=6)
    m, pv = build(d, cell="gru", hidden=4, layers=2)
    p = {k: fe.Tensor(v) for k, v in pv.views.items()}
    codes = np.array([[0, 1, 2, 0, 1]])
    with fe.no_grad():
        whole = m.forward(p, codes).data[:, -1]
        _, state = m.run(p, codes[:, :-1])
        outs, _ = m.run(p, codes[:, -1:], state)
        step = m.readout_layer(p, outs).data[:, -1]
    np.testing.assert_allclose(step, whole, rtol=1e-12)


def test_save_outputs(tmp_path):
    d = data("sine", length=12, samples=8)
    m, pv = build(d, hidden=4)
    assert m.save_outputs(tmp_path, pv.views, d) == ["forecast.png"]
    assert (tmp_path / "forecast.png").stat().st_size > 1000
    (tmp_path / "t.txt").write_text("hello world, hello there. " * 20)
    dt = load_sequences(DataContext(tmp_path, np.random.default_rng(0)), dataset="text",
                        path="t.txt", length=30, samples=10)
    m, pv = build(dt, hidden=4)
    assert m.save_outputs(tmp_path, pv.views, dt) == ["samples.txt"]
    assert "temperature 0.8" in (tmp_path / "samples.txt").read_text()
    assert build(data("adding"), hidden=3)[0].save_outputs(tmp_path, pv.views, d) == []
