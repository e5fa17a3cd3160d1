"""compare(): specs, one table row per run, targets, and the figure (with level sets in 2-D)."""

import numpy as np
import pytest

from fitcli.compare import compare, parse_spec, plot_comparison
from fitcli.errors import ConfigError
from fitcli.optim.prox import L1
from fitcli.optim.testfns import least_squares, quadratic


def test_parse_spec():
    assert parse_spec("gd") == ("gd", {})
    assert parse_spec("gd:step=0.01") == ("gd", {"step": 0.01})
    assert parse_spec("lbfgs:history=5:bounds=[0, 1]") == ("lbfgs", {"history": 5,
                                                                     "bounds": [0, 1]})
    with pytest.raises(ConfigError, match="did you mean 'lbfgs'"):
        parse_spec("lbgfs")
    with pytest.raises(ConfigError, match="did you mean 'history'"):
        parse_spec("lbfgs:histroy=5")


def test_compare_table_and_figure(tmp_path):
    q = quadratic(dim=2, condition=20.0, seed=3)
    x0 = q.x_star + np.array([-2.0, 1.5])
    specs = ["gd:step=0.01", "gd:step=0.11", "gd:step=exact", "nesterov", "lbfgs"]
    result = compare(q, x0, specs, iterations=60)
    rows = {r["optimizer"]: r for r in result.table}
    assert list(rows) == specs
    assert result.f_ref == 0.0
    assert rows["gd:step=0.11"]["status"].startswith("diverging")       # τ > 2/L
    assert rows["gd:step=0.01"]["iters_to_target"] is None              # too small a step
    assert rows["lbfgs"]["iters_to_target"] <= 8
    assert rows["nesterov"]["iters_to_target"] < 60
    for r in result.runs:
        assert r.iterates.shape == (len(r.losses), 2)
        np.testing.assert_array_equal(r.iterates[0], x0)
    path = plot_comparison(result, tmp_path / "compare.png", closure=q, title="quadratic")
    assert path.stat().st_size > 10_000


def test_compare_with_a_nonsmooth_term_skips_smooth_only_methods(tmp_path):
    rng = np.random.default_rng(0)
    c = least_squares(rng.standard_normal((30, 50)), rng.standard_normal(30))
    result = compare(c, c.start, ["ista", "fista", "lbfgs"], iterations=200,
                     nonsmooth=[L1(1.0)])
    rows = {r["optimizer"]: r for r in result.table}
    assert rows["lbfgs"]["status"].startswith("skipped")
    assert rows["fista"]["best_loss"] <= rows["ista"]["best_loss"] + 1e-12
    plot_comparison(result, tmp_path / "lasso.png")


def test_compare_steps_smooth_methods_on_the_full_objective_when_given():
    rng = np.random.default_rng(1)
    c = least_squares(rng.standard_normal((30, 10)), rng.standard_normal(30))
    lam = 0.5

    def full(x, batch=None, need_grad=True):        # l1 by its subgradient sign(x)
        f, g = c(x, batch, need_grad)
        return f + lam * np.abs(x).sum(), (g + lam * np.sign(x) if need_grad else None)

    result = compare(c, c.start, ["fista", "gd:step=0.001"], iterations=300,
                     nonsmooth=[L1(lam)], full_closure=full)
    rows = {r["optimizer"]: r for r in result.table}
    assert rows["gd:step=0.001"]["status"] == "iterations"
    assert rows["gd:step=0.001"]["final_loss"] < result.runs[1].losses[0]
    assert rows["fista"]["best_loss"] <= rows["gd:step=0.001"]["best_loss"]
