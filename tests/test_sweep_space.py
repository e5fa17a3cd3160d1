"""The search space of `fitcli sweep`: parsing, trials, the config's sweep: section, errors."""

import math

import numpy as np
import pytest

from fitcli import config as C
from fitcli.errors import ConfigError, FitcliError
from fitcli.sweep.space import parse_dist, parse_list, space_from, split_top


def test_lists_keep_brackets_and_read_numbers():
    assert split_top("[32],[64,64]") == ["[32]", "[64,64]"]
    assert parse_list("model.hidden=[32],[64,64]", "--grid") == ("model.hidden", [[32], [64, 64]])
    assert parse_list("optimizer.step=1e-3,armijo", "--grid") == ("optimizer.step",
                                                                  [1e-3, "armijo"])
    with pytest.raises(ConfigError, match="--grid: expected KEY=v1,v2"):
        parse_list("nonsense", "--grid")


def test_grid_zip_seeds_product_in_order():
    s = space_from(None, grid=["a=1,2", "b=x,y,z"], zip_=["c=10,20", "d=u,v"], seeds=2)
    t = s.trials(seed=5)
    assert len(t) == 2 * 3 * 2 * 2
    assert t[0] == {"a": 1, "b": "x", "c": 10, "d": "u", "seed": 5}
    assert t[1]["seed"] == 6 and t[2] == {"a": 1, "b": "x", "c": 20, "d": "v", "seed": 5}
    assert {(r["c"], r["d"]) for r in t} == {(10, "u"), (20, "v")}   # zipped, not crossed
    assert s.keys == ["a", "b", "c", "d", "seed"]


def test_samples_are_seeded_and_in_range():
    s = space_from(None, sample=["w=loguniform(1e-5,1e-2)", "n=int(2,4)", "k=choice(a,b)"],
                   trials=200)
    t = s.trials(0)
    assert t == s.trials(0) and t != s.trials(1)
    w = np.array([r["w"] for r in t])
    assert w.min() >= 1e-5 and w.max() <= 1e-2
    # log-uniform: about as many draws per decade
    counts = np.histogram(np.log10(w), bins=3, range=(-5, -2))[0]
    assert counts.min() > 40
    assert {r["n"] for r in t} == {2, 3, 4} and {r["k"] for r in t} == {"a", "b"}
    g = space_from(None, grid=["a=1,2"], sample=["w=uniform(0,1)"], trials=3).trials(0)
    assert len(g) == 6 and [r["w"] for r in g[:3]] == [r["w"] for r in g[3:]]


@pytest.mark.parametrize("text, msg", [
    ("loguniform(0,1)", "positive"), ("uniform(2,1)", "low < high"), ("int(1.5,3)", "integers"),
    ("normal(0,1)", "one of uniform"), ("choice()", "at least one"),
])
def test_bad_distributions(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_dist(text, "--sample w")


@pytest.mark.parametrize("kw, msg", [
    ({"zip_": ["a=1,2", "b=1,2,3"]}, "one length"),
    ({"grid": ["a=1,2"], "zip_": ["a=3,4"]}, "not several"),
    ({"sample": ["w=uniform(0,1)"]}, "--trials"),
    ({"grid": ["a=1"], "search": "tpe"}, "--search: expected ranges"),
    ({"grid": ["a=1"], "sample": ["w=uniform(0,1)"], "trials": 2, "search": "tpe"},
     "--search tpe: expected only --sample"),
    ({"grid": ["seed=1,2"], "seeds": 2}, "--seeds"),
    ({"grid": ["a=1"], "search": "bayes"}, "--search"),
    ({"seeds": 0}, "--seeds"),
])
def test_bad_spaces(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        space_from(None, **kw)


def test_nothing_to_sweep():
    with pytest.raises(FitcliError, match="nothing to sweep"):
        space_from(None)


BASE = {"model": {"type": "testfn", "function": "quadratic", "dim": 2},
        "optimizer": {"type": "gd", "iterations": 5}}


def test_config_section_is_read_and_checked():
    cfg = C.resolve({**BASE, "sweep": {"grid": {"optimizer.iterations": [5, 10]},
                                       "sample": {"seed": "int(0,9)"}, "trials": 2,
                                       "metric": "loss", "mode": "min"}})
    assert "sweep" not in cfg.resolved and cfg.sweep["trials"] == 2
    s = space_from(cfg.sweep, grid=["optimizer.iterations=7"])   # the command line wins
    assert s.grid == {"optimizer.iterations": [7]} and len(s.trials(0)) == 2
    for bad, msg in [({"grdi": {}}, "sweep.grdi: expected a known key .*'grid'"),
                     ({"grid": {"a": 1}}, "sweep.grid.a: expected a non-empty list"),
                     ({"sample": {"w": "loguniform(-1,1)"}}, "sweep.sample.w"),
                     ({"trials": "many"}, "sweep.trials"), ({"mode": "best"}, "sweep.mode"),
                     ([1], "sweep: expected a mapping")]:
        with pytest.raises(ConfigError, match=msg):
            C.resolve({**BASE, "sweep": bad})


def test_logint_stays_in_range():
    d = parse_dist("logint(1,1000)", "w")
    rng = np.random.default_rng(0)
    v = np.array([d.draw(rng) for _ in range(300)])
    assert v.min() >= 1 and v.max() <= 1000 and (v < 32).sum() > 100
    assert math.isclose(parse_dist("loguniform(1e-5,1e-2)", "w").args[0], 1e-5)
