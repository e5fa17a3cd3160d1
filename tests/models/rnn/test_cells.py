"""The fused gated cells keep their gates from the forward: the backward sweep of a GRU
or LSTM model computes no gate again (counted through the modules' activation helpers)."""

from pathlib import Path

import numpy as np
import pytest

from fitcli.data.base import DataContext
from fitcli.data.sequences import load_sequences
from fitcli.losses import LOSSES
from fitcli.models.base import ParamVector
from fitcli.models.rnn import RNN, cells, lstm


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
