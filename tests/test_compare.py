"""compare(): specs, one table row per run (each run the one loop), targets, the figure."""

import numpy as np
import pytest

from fitcli import config as C
from fitcli.compare import compare, parse_spec, plot_comparison
from fitcli.errors import ConfigError
from fitcli.optim.testfns import quadratic
from fitcli.problem import make_closure


def test_parse_spec():
    assert parse_spec("gd") == ("gd", {})
    assert parse_spec("gd:step=0.01") == ("gd", {"step": 0.01})
    assert parse_spec("lbfgs:history=5:bounds=[0, 1]") == ("lbfgs", {"history": 5,
                                                                     "bounds": [0, 1]})
    with pytest.raises(ConfigError, match="did you mean 'lbfgs'"):
        parse_spec("lbgfs")
    with pytest.raises(ConfigError, match="did you mean 'history'"):
        parse_spec("lbfgs:histroy=5")


def _quadratic_cfg(**optimizer):
    x0 = quadratic(dim=2, condition=20.0, seed=0).x_star + np.array([-2.0, 1.5])
    return C.load({"name": "q", "model": {"type": "testfn", "function": "quadratic", "dim": 2,
                                          "condition": 20.0, "start": x0.tolist()},
                   "optimizer": {"type": "gd", "step": 0.05, "iterations": 60, **optimizer}}), x0


def test_compare_table_and_figure(tmp_path):
    cfg, x0 = _quadratic_cfg()
    specs = ["gd:step=0.01", "gd:step=0.11", "gd:step=exact", "nesterov", "lbfgs"]
    result = compare(cfg, specs)
    rows = {r["optimizer"]: r for r in result.table}
    assert list(rows) == specs
    assert result.f_ref == 0.0                                          # the known minimum
    assert rows["gd:step=0.11"]["status"].startswith("diverg")          # τ > 2/L = 0.1
    assert rows["gd:step=0.01"]["iters_to_target"] is None              # too small a step
    assert rows["lbfgs"]["iters_to_target"] <= 8
    assert rows["nesterov"]["iters_to_target"] < 60
    for r in result.runs:
        assert r.iterates.shape == (len(r.losses), 2)
        np.testing.assert_array_equal(r.iterates[0], x0)
    full = make_closure(result.problem, include_nonsmooth=True)
    path = plot_comparison(result, tmp_path / "compare.png", closure=full, title="quadratic")
    assert path.stat().st_size > 10_000


def test_each_run_is_the_loop_with_the_config_stop_rules():
    cfg, _ = _quadratic_cfg(tol=1e-6)
    result = compare(cfg, ["lbfgs", "gd:step=0.01"], iterations=40)
    rows = {r["optimizer"]: r for r in result.table}
    assert rows["lbfgs"]["status"] == "converged (tol)" and rows["lbfgs"]["iterations"] < 40
    assert rows["gd:step=0.01"]["status"] == "iterations"
    assert rows["gd:step=0.01"]["iterations"] == 40
    with pytest.raises(ConfigError, match="--optimizers gd:step=-1"):
        compare(cfg, ["gd:step=-1"])


def _lasso_cfg(tmp_path, lam):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "ls.npz", X=rng.standard_normal((30, 10)), y=rng.standard_normal(30))
    return C.load({"name": "lasso", "data": {"dataset": str(tmp_path / "ls.npz"),
                                             "validation": 0.0, "standardize": False,
                                             "task": "regression"},
                   "model": {"type": "mlp", "hidden": []}, "loss": "mse",
                   "regularization": [{"type": "l1", "weight": lam}],
                   "optimizer": {"type": "fista", "iterations": 300}})


def test_compare_with_a_nonsmooth_term(tmp_path):
    cfg = _lasso_cfg(tmp_path, 0.05)
    result = compare(cfg, ["ista", "fista", "lbfgs", "gd:step=0.001"])
    rows = {r["optimizer"]: r for r in result.table}
    # the prox methods by their prox; the others step the subgradient of the full objective
    assert rows["fista"]["best_loss"] <= rows["ista"]["best_loss"] + 1e-12
    assert rows["fista"]["best_loss"] <= rows["lbfgs"]["best_loss"]
    assert rows["gd:step=0.001"]["status"] == "iterations"
    gd = result.runs[3]
    assert gd.losses[-1] < gd.losses[0]
    assert rows["fista"]["best_loss"] <= rows["gd:step=0.001"]["best_loss"]
    plot_comparison(result, tmp_path / "lasso.png")
