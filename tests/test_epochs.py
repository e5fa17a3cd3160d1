"""``optimizer.epochs``: a stop rule for stochastic optimizers, with a row per epoch."""

from __future__ import annotations

import csv

import pytest
import yaml

import fitcli
from fitcli import config as C
from fitcli.errors import ConfigError

CFG = {"name": "ep", "seed": 0, "data": {"dataset": "moons", "samples": 250, "validation": 0.2},
       "model": {"type": "mlp", "hidden": [4]},
       "optimizer": {"type": "adam", "step": 0.01, "batch_size": 32, "epochs": 3},
       "output": {"every": 5, "plot": False}}


@pytest.mark.parametrize("opt", [{"type": "adam"}, {"type": "sgd", "step": 0.1},
                                 {"type": "svrg", "step": 0.1}])
def test_epochs_stop_and_log_a_row_per_epoch(opt, tmp_path):
    raw = C.apply_overrides(CFG, {"optimizer": {**opt, "batch_size": 32, "epochs": 3}})
    r = fitcli.fit(raw, out=tmp_path / "run")
    steps = -(-200 // 32)                               # 200 training samples: 7 steps
    assert r.summary["stop_reason"] == f"epochs: reached 3 ({3 * steps} steps)"
    assert r.summary["iterations"] == 3 * steps
    rows = {h["iteration"]: h["epoch"] for h in r.history}
    assert all(rows[k * steps] == k for k in range(4))  # the start and each epoch's end
    assert rows[5] == pytest.approx(5 / steps, abs=1e-6)
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert "epoch" in next(csv.reader(f))
    # the run folder's config keeps epochs as the budget (no default iterations written)
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["optimizer"]
    assert written["epochs"] == 3 and "iterations" not in written


def test_iterations_and_epochs_the_earlier_wins():
    r = fitcli.fit(C.apply_overrides(CFG, {"optimizer.iterations": 10}))
    assert r.summary["iterations"] == 10 and r.summary["stop_reason"] == "iterations: reached 10"
    r = fitcli.fit(C.apply_overrides(CFG, {"optimizer.iterations": 100, "optimizer.epochs": 1}))
    assert r.summary["stop_reason"] == "epochs: reached 1 (7 steps)"


def test_epochs_need_a_stochastic_optimizer_and_samples():
    with pytest.raises(ConfigError, match="optimizer.epochs: expected a stochastic optimizer"):
        C.resolve(C.apply_overrides(CFG, {"optimizer": {"type": "lbfgs", "epochs": 2}}))
    with pytest.raises(ConfigError, match="optimizer.epochs"):
        C.resolve(C.apply_overrides(CFG, {"optimizer.epochs": 0}))
    quadratic = {"name": "q", "model": {"type": "testfn", "function": "quadratic"},
                 "optimizer": {"type": "sgd", "step": 0.1, "epochs": 2}}
    with pytest.raises(ConfigError, match="optimizer.epochs: expected training samples"):
        fitcli.fit(quadratic)
