"""Honest stop reasons: a search that fails only because no decrease is measurable at
the rounding of the loss is a convergence; any other failure stays a failure."""

from __future__ import annotations

import numpy as np
import pytest

import fitcli
from fitcli.optim import OPTIMIZERS
from fitcli.optim import linesearch as ls


def coarse_bowl(quantum=1e-10):
    """1 + ½‖x‖², its value rounded up to a grid of ``quantum`` (a coarse rounding of the
    loss, as a float32 sum would have): near 0 no decrease is measurable."""
    def c(x, batch=None, need_grad=True):
        return float(np.ceil((1.0 + 0.5 * float(x @ x)) / quantum) * quantum), x.copy()
    return c


def test_no_measurable_decrease_is_a_convergence():
    c = coarse_bowl()
    x = np.full(4, 3e-6)           # predicted decrease 3.6e-11·t, below 1e-10·|f|
    f, g = c(x)
    res = ls.wolfe(c, x, f, g, -float(g @ g), -g, 0.3)
    assert not res.ok and res.converged, res.message
    assert res.message.startswith("converged: no decrease possible at rounding level")
    # (armijo accepts such a step: f(t) = f(0) passes once c1·t·φ'(0) is below an ulp)


def test_changes_within_rounding_are_a_convergence_even_with_a_larger_prediction():
    # a wrong (too large) gradient predicts 1e-6 of decrease; the loss is flat to rounding
    def flat(x, batch=None, need_grad=True):
        return 1.0 + 1e-13 * float(np.sin(1e3 * x[0])), np.full_like(x, 1e-3)
    x = np.zeros(1)
    g = flat(x)[1]
    res = ls.wolfe(flat, x, 1.0, g, -1e-6, -g, 1.0)
    assert not res.ok and res.converged and "largest change seen" in res.message


def test_a_real_failure_stays_loud():
    # the "gradient" points uphill in truth: every trial increases the loss measurably
    def wrong(x, batch=None, need_grad=True):
        return 0.5 * float(x @ x), -x
    x = np.ones(3)
    f, g = wrong(x)
    for res in (ls.armijo(wrong, x, f, -float(g @ g), -g, 1.0),
                ls.wolfe(wrong, x, f, g, -float(g @ g), -g, 1.0)):
        assert not res.ok and not res.converged and "line search failed" in res.message
    opt = OPTIMIZERS["lbfgs"](x.copy())
    info = opt.step(wrong)
    assert info.stop and "line search failed" in info.stop


def test_rounding_level_follows_the_dtype():
    assert ls.rounding_level(2.0, np.float64) == pytest.approx(2e-10)
    assert ls.rounding_level(2.0, np.float32) == pytest.approx(200 * np.finfo(np.float32).eps)


def test_lbfgs_on_a_small_mlp_reports_convergence():
    r = fitcli.fit({"name": "c", "seed": 0, "data": {"dataset": "moons", "samples": 200},
                    "model": {"type": "mlp", "hidden": [3]},
                    "optimizer": {"type": "lbfgs", "iterations": 1000, "tol": 0.0},
                    "output": {"every": 1000, "plot": False}})
    s = r.summary
    assert s["status"] == "done" and s["iterations"] < 1000
    assert s["stop_reason"].startswith("optimizer: converged: no decrease possible")
