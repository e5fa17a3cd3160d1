"""A logged row: one batched forward pass gives both the data term and the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fitcli import config as C
from fitcli.problem import build, evaluate, objective

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MLP = {"name": "e", "seed": 2, "data": {"dataset": "spirals", "samples": 150, "validation": 0.2},
       "model": {"type": "mlp", "hidden": [6]},
       "regularization": [{"type": "l2", "weight": 1e-2}],
       "optimizer": {"type": "gd", "step": 0.5, "iterations": 2}}


def problem_of(raw, batch):
    raw = C.apply_overrides(raw, {"output.eval_batch": batch, "dtype": "float64"})
    return build(C.resolve(raw, CONFIGS, "e"))


def rnn_text():
    raw = C.apply_overrides(C.read_config(CONFIGS / "rnn_text.yaml"),
                            {"model.hidden": 8, "data.samples": 60, "data.length": 12})
    return raw


@pytest.mark.parametrize("raw", [MLP, rnn_text()], ids=["mlp", "rnn-text"])
def test_batched_row_equals_the_one_pass_row_and_runs_forward_once_per_batch(raw, monkeypatch):
    one = problem_of(raw, 10_000)
    x = one.params.flat + 0.1 * np.random.default_rng(0).standard_normal(one.params.flat.size)
    expected = evaluate(one, x)
    # the unbatched objective agrees with the row's terms
    total, _ = objective(one, one.params.leaves(x, False), one.data.X_train, one.data.y_train, True)
    assert expected["loss"] == pytest.approx(float(total.data), rel=1e-12)

    small = problem_of(raw, 7)
    calls = []
    forward = type(small.model).forward
    monkeypatch.setattr(type(small.model), "forward",
                        lambda self, p, X: calls.append(len(X)) or forward(self, p, X))
    row = evaluate(small, x)
    assert row.keys() == expected.keys() and any(k.startswith("val_") for k in row)
    for k in row:
        assert row[k] == pytest.approx(expected[k], rel=1e-10, abs=1e-12), k
    n, v = small.data.n_train, len(small.data.X_val)
    assert max(calls) <= 7 and sum(calls) == n + v      # each sample through the model once
    assert len(calls) == -(-n // 7) + -(-v // 7)


def test_eval_batch_is_validated():
    with pytest.raises(C.ConfigError, match="output.eval_batch"):
        problem_of(MLP, 0)
