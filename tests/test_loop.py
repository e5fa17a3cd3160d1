"""The fit loop through the Python API: results, run folder, resume, stopping, divergence."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import fitcli
from fitcli import config as C
from fitcli.errors import InputError
from fitcli.problem import build, make_closure

TINY = {
    "name": "tiny",
    "seed": 3,
    "data": {"dataset": "spirals", "samples": 120},
    "model": {"type": "mlp", "hidden": [6]},
    "regularization": [{"type": "l2", "weight": 1e-3}],
    "optimizer": {"type": "gd", "step": 0.5, "iterations": 20},
    "output": {"every": 5, "checkpoint_every": 10},
}


def cfg(**over):
    return C.apply_overrides(TINY, over)


def test_fit_returns_params_history_summary_and_never_prints(capsys):
    events = []
    r = fitcli.fit(cfg(), callback=events.append)
    assert capsys.readouterr() == ("", "")
    assert list(r.params) == ["W1", "b1", "W2", "b2"] and r.params["W1"].shape == (2, 6)
    assert [h["iteration"] for h in r.history] == [0, 5, 10, 15, 20]
    s = r.summary
    assert s["status"] == "done" and s["iterations"] == 20
    assert s["stop_reason"] == "iterations: reached 20"
    assert s["objective"].startswith("mean logistic(f(x; θ), y) + 0.001·½‖θ‖²")
    assert set(s["terms"]) == {"data", "l2"}
    assert s["terms"]["data"] + s["terms"]["l2"] == pytest.approx(s["loss"])
    assert {"train_accuracy", "val_accuracy", "val_loss"} <= set(s["metrics"])
    assert events[-1].summary is s and events[0].iteration == 0


def test_closure_is_the_objective_and_gradient_on_views(tmp_path):
    problem = build(C.resolve(cfg()))
    closure = make_closure(problem)
    x = problem.params.flat.copy()
    f, g = closure(x)
    f2, none = closure(x, need_grad=False)
    assert f == f2 and none is None and g.shape == x.shape and g.dtype == x.dtype
    h = 1e-6
    e = np.zeros_like(x)
    e[3] = 1.0
    fd = (closure(x + h * e, need_grad=False)[0] - closure(x - h * e, need_grad=False)[0]) / 2 / h
    assert g[3] == pytest.approx(fd, rel=1e-5, abs=1e-9)
    fb, gb = closure(x, batch=np.arange(10))
    assert fb != f and gb.shape == x.shape


def test_run_folder_contents(tmp_path):
    out = tmp_path / "run"
    r = fitcli.fit(cfg(), out=out)
    for name in ("config.yaml", "metrics.csv", "summary.json", "checkpoint.npz", "loss.png",
                 "predictions.csv"):
        assert (out / name).exists(), name
    assert not list(out.glob("*.tmp*"))
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert list(rows[0])[:7] == ["iteration", "loss", "grad_norm", "step", "seconds", "nfev",
                                 "ngev"]
    assert {"data", "l2", "train_accuracy", "val_accuracy"} <= set(rows[0])
    assert json.loads((out / "summary.json").read_text())["loss"] == r.summary["loss"]
    with np.load(out / "checkpoint.npz") as ck:
        np.testing.assert_array_equal(ck["x"], np.concatenate(
            [v.ravel() for v in r.params.values()]))
        assert int(ck["loop.iteration"]) == 20
    # the resolved config in the run folder is itself a valid config
    again = C.resolve(C.read_config(out / "config.yaml"))
    assert again.resolved["model"] == {"type": "mlp", "hidden": [6], "activation": "tanh",
                                       "init": "xavier"}


@pytest.mark.parametrize("opt", [{"type": "gd", "step": 0.5}, {"type": "sgd", "step": 0.1,
                                                                "batch_size": 16,
                                                                "momentum": 0.9}])
def test_resume_is_bitwise_equal(tmp_path, opt):
    over = {"optimizer": {**opt, "iterations": 200}, "output": {"every": 40,
                                                                 "checkpoint_every": 50}}
    full = fitcli.fit(cfg(), out=tmp_path / "a", **over)
    over["optimizer"]["iterations"] = 120
    fitcli.fit(cfg(), out=tmp_path / "b", **over)
    over["optimizer"]["iterations"] = 200
    resumed = fitcli.fit(cfg(), out=tmp_path / "b", resume=tmp_path / "b", **over)
    for k in full.params:
        np.testing.assert_array_equal(full.params[k], resumed.params[k])
    assert resumed.summary["resumed_from"] == 120
    its = [int(r["iteration"]) for r in csv.DictReader((tmp_path / "b" / "metrics.csv").open())]
    assert its == [0, 40, 80, 120, 160, 200]       # kept and appended


@pytest.mark.parametrize("over, reason", [
    ({"optimizer.tol": 10.0}, "tol: gradient norm"),
    ({"optimizer.rtol": 0.5}, "rtol: relative loss change"),
    ({"optimizer.time_limit": 1e-9}, "time_limit:"),
])
def test_stop_reasons(over, reason):
    r = fitcli.fit(cfg(), over)
    assert r.summary["status"] == "done" and r.summary["stop_reason"].startswith(reason)
    assert r.summary["iterations"] < 20


def test_divergence_keeps_the_last_good_iterate(tmp_path):
    r = fitcli.fit(cfg(**{"optimizer.step": 1e300}), out=tmp_path / "d")
    s = r.summary
    assert s["status"] == "diverged" and "non-finite" in s["stop_reason"]
    assert "iteration" in s["stop_reason"]
    assert all(np.isfinite(v).all() for v in r.params.values())
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["status"] == "diverged"


def test_nonsmooth_terms_go_to_prox_optimizers_or_stay_in_the_closure():
    l1 = [{"type": "l1", "weight": 0.01}]
    sub = build(C.resolve(cfg(regularization=l1)))
    assert not sub.prox_handles_nonsmooth
    f_sub, _ = make_closure(sub)(sub.params.flat)
    assert f_sub == pytest.approx(
        _data(sub) + 0.01 * np.abs(sub.params.flat).sum())
    from fitcli.optim import OPTIMIZERS
    prox = [n for n, c in OPTIMIZERS.items() if getattr(c, "handles_nonsmooth", False)]
    if not prox:
        pytest.skip("no prox optimizer registered")
    p = build(C.resolve(cfg(regularization=l1, optimizer={"type": prox[0]})))
    assert p.prox_handles_nonsmooth
    f, _ = make_closure(p)(p.params.flat)
    assert f == pytest.approx(_data(p))          # the l1 term is the optimizer's
    r = fitcli.fit(cfg(regularization=l1, optimizer={"type": prox[0], "iterations": 5}))
    assert r.summary["status"] == "done" and "l1" in r.summary["terms"]


def _data(problem):
    from fitcli.problem import objective as leaves_objective
    pv = problem.params
    total, terms = leaves_objective(problem, pv.leaves(pv.flat, False),
                                    problem.data.X_train, problem.data.y_train, False)
    return float(terms["data"].data)


def test_float32_end_to_end():
    problem = build(C.resolve(cfg(dtype="float32")))
    assert problem.params.flat.dtype == np.float32
    f, g = make_closure(problem)(problem.params.flat)
    assert g.dtype == np.float32
    r = fitcli.fit(cfg(dtype="float32"))
    assert r.params["W1"].dtype == np.float32 and r.summary["status"] == "done"


def test_resume_rejects_a_checkpoint_of_another_model(tmp_path):
    fitcli.fit(cfg(), out=tmp_path / "a")
    with pytest.raises(InputError, match="parameters"):
        fitcli.fit(cfg(**{"model.hidden": [7]}), out=tmp_path / "a", resume=tmp_path / "a")


def test_closure_offers_hessian_vector_products():
    problem = build(C.resolve(cfg()))
    closure = make_closure(problem)
    x = problem.params.flat.copy()
    v = np.random.default_rng(0).standard_normal(x.size)
    eps = 1e-6
    fd = (closure(x + eps * v)[1] - closure(x - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(closure.hvp(x, v), fd, rtol=1e-5, atol=1e-7)


def test_closure_applies_the_models_gradient_hook():
    rnn = {"name": "clip", "seed": 0,
           "data": {"dataset": "adding", "length": 8, "samples": 40},
           "model": {"type": "rnn", "cell": "elman", "hidden": 5, "clip": 0.01},
           "optimizer": {"type": "gd", "step": 0.1, "iterations": 1}}
    problem = build(C.resolve(rnn))
    x = problem.params.flat.copy()
    _, g = make_closure(problem)(x)
    assert np.linalg.norm(g) == pytest.approx(0.01, rel=1e-9)


def test_resume_is_bitwise_with_a_warm_started_tv_prox(tmp_path, configs_dir):
    # fista + tv: the prox's dual variable is state, saved with the optimizer's
    phantom = C.read_config(configs_dir / "superres_phantom_tv.yaml")
    base = C.apply_overrides(phantom, {"data.size": 32, "output.checkpoint_every": 5,
                                       "output.every": 5})
    full = fitcli.fit(C.apply_overrides(base, {"optimizer.iterations": 20}), out=tmp_path / "a")
    fitcli.fit(C.apply_overrides(base, {"optimizer.iterations": 12}), out=tmp_path / "b")
    resumed = fitcli.fit(C.apply_overrides(base, {"optimizer.iterations": 20}),
                         out=tmp_path / "b", resume=tmp_path / "b")
    np.testing.assert_array_equal(full.params["image"], resumed.params["image"])


def test_a_finite_but_exploding_loss_is_a_divergence():
    r = fitcli.fit(cfg(**{"optimizer.step": 1e6, "optimizer.iterations": 50}))
    assert r.summary["status"] == "diverged"
    assert "the loss grew to" in r.summary["stop_reason"]
    assert np.all(np.isfinite(r.params["W1"]))


# -- stages: registration's pyramid levels run by the one loop -------------------------------
REG = {"name": "reg", "seed": 0,
       "data": {"image": "shepp_logan_phantom", "resize": 32,
                "deformation": {"type": "smooth_random", "magnitude": 1.5}},
       "model": {"type": "registration", "levels": 3, "iterations": [6, 6, 6]},
       "loss": "ssd", "regularization": [{"type": "diffusion", "weight": 0.01}],
       "optimizer": {"type": "lbfgs"}, "output": {"every": 2, "checkpoint_every": 4}}


def _interrupt_at(k):
    """on_step that sends this process SIGINT at iteration k (the loop's handler catches it
    after the step: checkpoint, status interrupted)."""
    import os
    import signal

    def on_step(s):
        if s.iteration == k:
            os.kill(os.getpid(), signal.SIGINT)
    return on_step


@pytest.mark.parametrize("k", [3, 6, 13], ids=["mid-level", "level-end", "last-level"])
def test_staged_fit_interrupted_then_resumed_is_bitwise_equal(tmp_path, k):
    from fitcli.api import load, run

    cfg = load(REG)
    full = run(cfg, tmp_path / "full")
    part = run(cfg, tmp_path / "part", on_step=_interrupt_at(k))
    assert part.summary["status"] == "interrupted" and part.summary["iterations"] == k
    with np.load(tmp_path / "part" / "checkpoint.npz") as ck:
        assert int(ck["loop.iteration"]) == k
        assert int(ck["loop.stage"]) == k // 6         # at iteration 6: already the next level
    resumed = run(cfg, tmp_path / "part", resume=tmp_path / "part")
    assert resumed.summary["status"] == "done"
    np.testing.assert_array_equal(resumed.params["theta"], full.params["theta"])
    assert resumed.summary["iterations"] == full.summary["iterations"]
    np.testing.assert_array_equal(np.load(tmp_path / "part" / "displacement.npy"),
                                  np.load(tmp_path / "full" / "displacement.npy"))
    rows = [int(r["iteration"]) for r in csv.DictReader(open(tmp_path / "part" /
                                                             "metrics.csv"))]
    # no row lost or repeated; the interruption logged its own row
    assert rows == sorted({int(r["iteration"]) for r in full.history} | {k})


def test_each_stage_is_one_optimizer_run_with_its_own_stop_reason():
    from fitcli.api import load, run

    res = run(load(REG))
    stages = res.summary["stages"]
    assert [s["stage"] for s in stages] == ["displacement level 2 (8x8)",
                                           "displacement level 1 (16x16)",
                                           "displacement level 0 (32x32)"]
    assert all(s["stop_reason"] for s in stages)
    assert sum(s["iterations"] for s in stages) == res.summary["iterations"]
    # a row at every other iteration of a level and at each level's end, with its stage
    by_stage = {}
    for r in res.history[1:]:
        by_stage.setdefault(r["stage"], []).append(r["stage_iteration"])
    for i, its in by_stage.items():
        assert its[-1] == stages[i]["iterations"]
        assert all(j % 2 == 0 for j in its[:-1])
    # the regularizer weight is rescaled per level (diffusion: the same on every level)
    assert res.problem.smooth[0][2] == 0.01


def test_model_iterations_and_tol_end_a_level_not_the_fit():
    from fitcli.api import load, run

    res = run(load(REG, {"optimizer.tol": 1e30}))      # every level stops at its first step
    assert [s["iterations"] for s in res.summary["stages"]] == [1, 1, 1]
    assert res.summary["iterations"] == 3 and res.summary["stop_reason"].startswith("tol")


def test_resume_in_a_displacement_level_after_the_affine_stages_is_bitwise(tmp_path):
    """pre: affine — the affine result is model state the checkpoint must carry."""
    from fitcli.api import load, run

    cfg = load(REG, {"model.pre": "affine", "model.levels": 2, "model.iterations": [4, 4]})
    full = run(cfg, tmp_path / "full")
    assert len(full.summary["stages"]) == 4
    part = run(cfg, tmp_path / "part", on_step=_interrupt_at(10))
    assert part.summary["status"] == "interrupted"
    with np.load(tmp_path / "part" / "checkpoint.npz") as ck:
        assert int(ck["loop.stage"]) == 2 and "model.affine_theta" in ck.files
    resumed = run(cfg, tmp_path / "part", resume=tmp_path / "part")
    np.testing.assert_array_equal(resumed.params["theta"], full.params["theta"])
    np.testing.assert_array_equal(resumed.problem.model.affine_theta,
                                  full.problem.model.affine_theta)
