"""The testfn model kind: optimizers studied from YAML on objectives with known answers."""

from pathlib import Path

import numpy as np
import pytest

import fitcli
from fitcli import config as C
from fitcli.errors import ConfigError
from fitcli.problem import build, make_closure

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def fit(name, **over):
    cfg = C.apply_overrides(C.read_config(CONFIGS / f"{name}.yaml"), over)
    return fitcli.fit(cfg)


@pytest.mark.parametrize("opt", ["nesterov", "lbfgs", "gd"])
def test_quadratic_reaches_the_known_minimiser(opt):
    step = {"nesterov": "lipschitz", "lbfgs": "wolfe", "gd": "exact"}[opt]
    r = fit("quadratic_kappa100", **{"model.dim": 20, "optimizer.type": opt,
                                     "optimizer.step": step, "optimizer.iterations": 2000})
    assert r.summary["status"] == "done"
    assert r.summary["metrics"]["dist_to_min"] < 1e-6


def test_rosenbrock_from_the_classic_start():
    r = fit("rosenbrock")
    np.testing.assert_allclose(r.params["x"], [1.0, 1.0], atol=1e-7)


def test_newton_cg_needs_fewer_iterations_than_lbfgs_on_logistic_regression():
    # the exact objective of configs/logreg_digits.yaml, both to the same gradient tolerance
    over = {"optimizer.tol": 1e-6, "optimizer.iterations": 500}
    newton = fit("logreg_digits", **over, **{"optimizer.type": "newton_cg"})
    lbfgs = fit("logreg_digits", **over)
    assert newton.summary["stop_reason"].startswith("tol")
    assert lbfgs.summary["stop_reason"].startswith("tol")
    assert newton.summary["loss"] == pytest.approx(lbfgs.summary["loss"], rel=1e-8)
    assert newton.summary["iterations"] < lbfgs.summary["iterations"]


def test_closure_knows_the_quadratic_and_its_lipschitz_constant():
    problem = build(C.load(CONFIGS / "quadratic_kappa100.yaml"))
    closure = make_closure(problem)
    assert closure.quadratic and closure.lipschitz == pytest.approx(100.0)
    x = problem.params.flat
    v = np.random.default_rng(0).standard_normal(x.size)
    np.testing.assert_allclose(closure.hvp(x, v), problem.model.A @ v, rtol=1e-12)


def test_bad_start_is_a_config_error():
    with pytest.raises(ConfigError, match="model.start"):
        fit("rosenbrock", **{"model.start": [1.0, 2.0, 3.0]})
