"""Minibatch rows: with a stochastic optimizer, rows between full evaluations report the
mean of the minibatch objectives the steps computed (full_eval 0, metrics blank)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from fitcli import api
from fitcli import config as C
from fitcli.errors import ConfigError

CFG = {"name": "mb", "seed": 0, "data": {"dataset": "moons", "samples": 250, "validation": 0.2},
       "model": {"type": "mlp", "hidden": [4]},
       "optimizer": {"type": "adam", "step": 0.01, "batch_size": 32, "iterations": 40},
       "output": {"every": 5, "plot": False}}


def _fit(output=None, optimizer=None):
    raw = copy.deepcopy(CFG)
    raw["output"].update(output or {})
    raw["optimizer"].update(optimizer or {})
    steps = []
    r = api.run(C.resolve(raw, Path.cwd(), "mb"), on_step=lambda s: steps.append(s.loss))
    return r, steps


def test_rows_between_full_ones_are_minibatch_means():
    r, steps = _fit()
    full = [h["full_eval"] for h in r.history]
    assert full[0] == 1 and full[-1] == 1 and set(full[1:-1]) == {0}
    row = r.history[2]                                  # iteration 10: steps 6..10
    assert row["iteration"] == 10
    assert row["loss"] == pytest.approx(np.mean(steps[5:10]), rel=1e-12)
    assert "val_accuracy" not in row and "val_accuracy" in r.history[-1]
    assert "full_eval" not in r.summary["metrics"] and "val_accuracy" in r.summary["metrics"]


def test_full_every_and_the_old_behaviour():
    r, _ = _fit({"full_every": 3})
    assert [h["full_eval"] for h in r.history] == [1, 0, 0, 1, 0, 0, 1, 0, 1]
    r, _ = _fit({"full_every": 1})                      # every row evaluated, no column
    assert all("full_eval" not in h and "val_accuracy" in h for h in r.history)


def test_full_batch_runs_and_early_stopping_evaluate_every_row():
    r, _ = _fit(optimizer={"batch_size": 1000})        # larger than the training set
    assert all("full_eval" not in h and "val_accuracy" in h for h in r.history)
    r, _ = _fit({"early_stopping": {"metric": "val_loss", "patience": 100}})
    assert all(math.isfinite(h["val_loss"]) for h in r.history)


def test_full_every_is_validated():
    raw = copy.deepcopy(CFG)
    raw["output"]["full_every"] = 0
    with pytest.raises(ConfigError, match="output.full_every"):
        C.resolve(raw, Path.cwd(), "mb")
