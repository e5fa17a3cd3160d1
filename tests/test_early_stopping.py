"""output.early_stopping: the rule (patience, min_delta, mode), the stop reason, the best point
(best.npz, model.npz, the result) and a bitwise resume of the early-stopping state."""

import numpy as np
import pytest

import fitcli
from fitcli import config as C
from fitcli.errors import ConfigError
from fitcli.export import read_model
from fitcli.problem import build, evaluate

# moons with heavy noise and a wide unregularised MLP: the validation loss falls to a
# minimum near iteration 25, then rises (overfitting) — in well under a second
OVERFIT = {"name": "overfit", "data": {"dataset": "moons", "samples": 200, "noise": 0.35,
                                       "validation": 0.3},
           "model": {"type": "mlp", "hidden": [32]},
           "optimizer": {"type": "lbfgs", "iterations": 300}}


def _fit(tmp_path=None, early=None, every=5, iterations=300, name="run", resume=False):
    out = None if tmp_path is None else tmp_path / name
    output = {"every": every, "checkpoint_every": 5}
    if early is not None:
        output["early_stopping"] = early
    return fitcli.fit(OVERFIT, {"optimizer.iterations": iterations}, out=out,
                      resume=out if resume else None, output=output)


def test_config_validates_the_section():
    def resolve(es):
        return C.resolve({**OVERFIT, "output": {"early_stopping": es}}).output["early_stopping"]

    assert resolve({}) == {"metric": "val_loss", "patience": 20, "min_delta": 0.0,
                           "mode": "min"}
    assert resolve({"metric": "val_accuracy"})["mode"] == "max"
    assert resolve({"metric": "val_accuracy", "mode": "min"})["mode"] == "min"
    with pytest.raises(ConfigError, match=r"output\.early_stopping\.patiense.*'patience'"):
        resolve({"patiense": 3})
    with pytest.raises(ConfigError, match=r"output\.early_stopping\.patience: expected a pos"):
        resolve({"patience": 0})
    with pytest.raises(ConfigError, match=r"output\.early_stopping\.min_delta"):
        resolve({"min_delta": -1})
    with pytest.raises(ConfigError, match=r"output\.early_stopping\.mode"):
        resolve({"mode": "lowest"})
    assert C.resolve(OVERFIT).output["early_stopping"] is None


def test_unknown_metric_is_refused_at_the_first_row():
    with pytest.raises(ConfigError, match=r"output\.early_stopping\.metric: expected a "
                       r"metrics row key \(.*val_loss.*\), got 'val_los' \(did you mean "
                       r"'val_loss'\?\)"):
        _fit(early={"metric": "val_los"})


def _best(history, key, mode="min", min_delta=0.0):
    """The rule by hand: (best value, its iteration, the row index where it stops)."""
    best, at, since = np.nan, -1, 0
    for i, row in enumerate(history):
        v = row[key]
        better = not np.isfinite(best) or (v < best - min_delta if mode == "min"
                                           else v > best + min_delta)
        if better:
            best, at, since = v, row["iteration"], 0
        else:
            since += 1
            if since == 4:
                return best, at, i
    return best, at, None


@pytest.mark.parametrize("early", [
    {"metric": "val_loss", "patience": 4},
    {"metric": "val_loss", "patience": 4, "min_delta": 0.02},
    {"metric": "val_accuracy", "patience": 4},
])
def test_stops_after_patience_rows_and_keeps_the_best_point(tmp_path, early):
    free = _fit(None, iterations=120).history       # the same fit without early stopping
    mode = "max" if early["metric"].endswith("accuracy") else "min"
    best, at, stop_row = _best(free, early["metric"], mode, early.get("min_delta", 0.0))
    assert stop_row is not None
    r = _fit(tmp_path, early)
    s = r.summary
    assert s["iterations"] == free[stop_row]["iteration"] == at + 4 * 5
    assert s["stop_reason"] == (
        f"early_stopping: {early['metric']} did not improve by "
        f"{early.get('min_delta', 0.0):g} for 4 evaluations (best {best:.4g} at iteration "
        f"{at})")
    assert s["best"] == {"metric": early["metric"], "mode": mode, "value": best,
                         "iteration": at}
    assert "model.npz" in s["files"] and "best.npz" in s["files"]
    model, kept = read_model(tmp_path / "run" / "model.npz"), read_model(
        tmp_path / "run" / "best.npz")
    assert model.iteration == kept.iteration == at
    # the result is the best point: its rows' metrics are reproduced from model.npz
    p = r.problem
    for k, v in model.params.items():
        assert np.array_equal(v, kept.params[k]) and np.array_equal(v, r.params[k])
    row = build(p.cfg)                                # fresh data (same seed) and model
    x = np.concatenate([model.params[k].ravel() for k in model.params])
    assert evaluate(row, x)[early["metric"]] == best
    # checkpoint.npz keeps the last iterate (for --resume), not the best one
    with np.load(tmp_path / "run" / "checkpoint.npz") as f:
        assert int(f["loop.iteration"]) == s["iterations"]
        assert int(f["loop.best_iteration"]) == at
        assert not np.array_equal(f["x"], x)


def test_no_early_stop_without_the_section(tmp_path):
    r = _fit(tmp_path, None, iterations=60)
    assert r.summary["stop_reason"] == "iterations: reached 60"
    assert "best" not in r.summary and not (tmp_path / "run" / "best.npz").exists()
    assert read_model(tmp_path / "run" / "model.npz").iteration == 60


def test_resume_keeps_the_early_stopping_state_bitwise(tmp_path):
    early = {"metric": "val_loss", "patience": 4}
    whole = _fit(tmp_path, early, name="whole")
    # stop at iteration 40 (between the best at 25 and the stop at 45), then go on
    _fit(tmp_path, early, iterations=40, name="split")
    with np.load(tmp_path / "split" / "checkpoint.npz") as f:
        assert int(f["loop.rows_since_best"]) == 3 and int(f["loop.best_iteration"]) == 25
    resumed = _fit(tmp_path, early, name="split", resume=True)
    assert resumed.summary["stop_reason"] == whole.summary["stop_reason"]
    assert resumed.summary["iterations"] == whole.summary["iterations"]
    assert resumed.summary["best"] == whole.summary["best"]
    for k in whole.params:
        assert np.array_equal(resumed.params[k], whole.params[k])
    a, b = (read_model(tmp_path / d / "model.npz") for d in ("whole", "split"))
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])


def test_staged_models_are_refused():
    cfg = {"name": "reg", "model": {"type": "registration", "levels": 2, "iterations": 2},
           "data": {"image": "camera", "resize": 32}, "optimizer": {"type": "lbfgs"},
           "output": {"early_stopping": {
               "metric": "loss"}}}
    with pytest.raises(ConfigError, match="early_stopping: expected null for a model fitted "
                       "in stages"):
        fitcli.fit(cfg)
