"""The fused gated cells keep their gates from the forward: the backward sweep of a GRU
or LSTM model computes no gate again (counted through the modules' activation helpers)."""

from pathlib import Path

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.data.base import DataContext
from fitcli.data.sequences import load_sequences
from fitcli.losses import LOSSES
from fitcli.models.base import ParamVector
from fitcli.models.rnn import RNN, cells, gru, lstm


def _model(cell):
    ctx = DataContext(Path("."), np.random.default_rng(0), np.dtype(np.float64))
    d = load_sequences(ctx, dataset="reber", length=7, samples=6, validation=0.5)
    m = RNN(d, cell=cell, hidden=3, layers=2)
    pv = ParamVector(m.param_shapes())
    m.init_params(pv.views, np.random.default_rng(1))
    return m, pv, d


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_backward_recomputes_no_gate(cell, monkeypatch):
    calls = {"sigmoid": 0, "tanh": 0}
    sigmoid, tanh = cells._sigmoid, np.tanh

    def counting_sigmoid(*a, **k):
        calls["sigmoid"] += 1
        return sigmoid(*a, **k)

    def counting_tanh(*a, **k):
        calls["tanh"] += 1
        return tanh(*a, **k)

    for module in (cells, lstm):
        monkeypatch.setattr(module, "_sigmoid", counting_sigmoid)
    # the gate tanh of the cells' forwards (np.tanh, looked up through the modules' np)
    monkeypatch.setattr(cells, "np", _Proxy(np, tanh=counting_tanh))
    monkeypatch.setattr(lstm, "np", _Proxy(np, tanh=counting_tanh))
    m, pv, d = _model(cell)
    leaves = pv.leaves(pv.flat)
    loss = m.data_term(leaves, LOSSES["logistic"](), d.X_train, d.y_train)
    forward = dict(calls)
    assert forward["sigmoid"] > 0 and forward["tanh"] > 0      # the counters see the forward
    loss.backward()
    assert calls == forward                                   # and nothing in the backward
    assert all(np.isfinite(t.grad).all() for t in leaves.values())


class _Proxy:
    """numpy with some attributes replaced."""

    def __init__(self, module, **replace):
        self._module, self._replace = module, replace

    def __getattr__(self, name):
        return self._replace.get(name) or getattr(self._module, name)


LAYERS = {  # cell: (layer, step, gates G, state width / H, bias vectors)
    "lstm": (lstm.lstm_layer, lstm.lstm_step, 4, 2, 1),
    "gru": (gru.gru_layer, cells.gru_step, 3, 1, 2),
}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bptt", [0, 2, 3])
def test_layer_equals_its_steps_with_truncation(cell, bptt):
    # the one-node layer against the per-step primitive, the state detached before
    # every bptt-th step: the same states and the same gradients
    layer_fn, step_fn, G, width, biases = LAYERS[cell]
    rng = np.random.default_rng(3)
    T, N, D, H = 7, 3, 2, 4
    X, s0 = rng.standard_normal((T, N, D)), rng.standard_normal((N, width * H))
    shapes = [(D, G * H), (H, G * H)] + [(G * H,)] * biases
    arrays = [rng.standard_normal(s) for s in shapes]
    seed = rng.standard_normal((T, N, width * H))

    def run(layer):
        Xt = fe.Tensor(X, requires_grad=True)
        st = fe.Tensor(s0, requires_grad=True)
        ws = [fe.Tensor(a, requires_grad=True) for a in arrays]
        if layer:
            out = layer_fn(Xt, st, *ws, bptt=bptt)
        else:
            s, steps = st, []
            for t in range(T):
                if bptt and t and t % bptt == 0:
                    s = s.detach()
                s = step_fn(Xt[t], s, *ws)
                steps.append(s)
            out = fe.stack(steps, axis=0)
        fe.sum(out * seed).backward()
        return out.data, [Xt.grad, st.grad] + [w.grad for w in ws]

    (a, ga), (b, gb) = run(True), run(False)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    for x, y in zip(ga, gb, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-13)
