"""The superres model kind: operator, objective gradient, solves (synthetic, real), errors."""

from pathlib import Path

import numpy as np
import pytest

from fitcli import config as C
from fitcli.api import solve, sweep
from fitcli.data import images
from fitcli.data.base import DataContext
from fitcli.engine.gradcheck import check_grad
from fitcli.errors import ConfigError, InputError
from fitcli.models.superres import SuperRes, load_superres


def _cfg(tmp_path=None, **changes):
    raw = {
        "name": "sr-test", "seed": 0,
        "data": {"image": "camera", "size": 64, "gray": True, "noise": 0.01},
        "model": {"type": "superres", "factor": 2, "blur": {"kernel": "gaussian", "sigma": 1.0}},
        "loss": "ssd",
        "regularization": [{"type": "smooth_tv", "weight": 0.002, "eps": 0.01}],
        "optimizer": {"type": "lbfgs", "iterations": 40},
        "output": {"every": 10, "plot": False},
    }
    return C.resolve(C.apply_overrides(raw, changes), tmp_path or Path("."), "sr-test")


def _model(size=16, **opts):
    ctx = DataContext(Path("."), np.random.default_rng(0))
    opts.setdefault("blur", {"kernel": "gaussian", "sigma": 0.7})
    return SuperRes(load_superres(ctx, image="camera", size=size, noise=0.0), **opts)


@pytest.mark.parametrize("opts", [{"factor": 2}, {"factor": 3, "boundary": "periodic"},
                                  {"factor": 2, "sampling": "area"},
                                  {"factor": 2, "grid": "centre"},
                                  {"factor": 3, "grid": "centre", "boundary": "periodic"},
                                  {"factor": 2, "blur": {"kernel": "motion", "length": 3,
                                                         "angle": 30}}])
def test_operator_adjoint_and_objective_gradient(opts):
    m = _model(12, **opts)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(m.shape), rng.standard_normal(m.observation.shape)
    lhs, rhs = np.vdot(m.apply(x), y), np.vdot(x, m.adjoint(y))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)
    f = lambda t: m.data_term({"image": t}, None, None, None)
    for r in check_grad(f, [x], name="superres data term"):
        assert r.passed, r.failure_line()


def test_synthetic_observation_and_inits():
    m = _model(16, factor=2)
    assert m.observation.shape == (8, 8) and m.shape == (16, 16)
    np.testing.assert_allclose(m.observation, m.apply(m.truth))   # noise 0
    for init in ("bicubic", "zeros", "adjoint"):
        mi = _model(16, factor=2, init=init)
        x = np.empty(mi.shape)
        mi.init_params({"image": x}, np.random.default_rng(0))
        assert np.all(np.isfinite(x))
        if init == "bicubic":
            np.testing.assert_allclose(x[::2, ::2], mi.observation, atol=1e-12)


def test_solve_beats_bicubic(tmp_path):
    res = solve(_cfg(tmp_path), out=tmp_path / "run", output=tmp_path / "out.tif")
    rec, bic = res.metrics["recovered"], res.metrics["bicubic"]
    assert rec["psnr"] > bic["psnr"] + 0.5, res.metrics
    assert not res.summary["warnings"]
    for f in ("recovered.png", "observed.png", "bicubic.png", "comparison.png",
              "metrics.csv", "summary.json"):
        assert (tmp_path / "run" / f).exists(), f
    back = images.read_image(tmp_path / "out.tif")
    np.testing.assert_allclose(back, np.clip(res.params["image"], 0, 1), atol=1e-4)
    assert "psnr" in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]


def test_real_mode_png_round_trip(tmp_path):
    low = images.load_image("camera", size=64, gray=True)[::2, ::2]
    images.save_image(tmp_path / "low.png", low)
    cfg = _cfg(tmp_path, **{"optimizer.iterations": 5})
    res = solve(cfg, out=tmp_path / "run", input=tmp_path / "low.png",
                output=tmp_path / "rec.png")
    assert "recovered" not in res.metrics and res.problem.model.truth is None
    assert res.params["image"].shape == (64, 64)
    assert images.read_image(tmp_path / "rec.png").shape == (64, 64)


def test_sweep(tmp_path):
    cfg = _cfg(tmp_path, **{"optimizer.iterations": 5, "data.size": 32})
    out = sweep(cfg, "regularization.0.weight", [1e-3, 1e-2], tmp_path / "sw")
    assert len(out.rows) == 2 and out.best in (0, 1) and out.score == "psnr"
    assert out.rows[out.best]["psnr"] == max(r["psnr"] for r in out.rows)
    assert (tmp_path / "sw" / "sweep.png").exists() and (tmp_path / "sw" / "sweep.csv").exists()


def test_errors(tmp_path):
    with pytest.raises(ConfigError, match="model.factor"):
        _cfg(tmp_path, **{"model.factor": 2.5})
    with pytest.raises(ConfigError, match="model.blur"):
        solve(_cfg(tmp_path, **{"data.size": 8, "model.blur.sigma": 3.0}))
    with pytest.raises(InputError, match="nothing.png"):
        solve(_cfg(tmp_path, **{"data.image": "nothing.png"}))
    images.save_image(tmp_path / "low.png", np.zeros((10, 10)))
    with pytest.raises(ConfigError, match="data.observation"):  # 10 × 2 != 64
        solve(_cfg(tmp_path, **{"data.observation": "low.png"}))
    with pytest.raises(ConfigError, match="model.factor"):
        solve(_cfg(tmp_path, **{"model.sampling": "area", "model.factor": 3}))


def _edge_position(img: np.ndarray) -> float:
    """Sub-pixel column of a vertical edge: the centroid of |∂x| over the middle rows."""
    g = np.abs(np.diff(img[8:-8], axis=1)).mean(axis=0)
    return float((g * (np.arange(g.size) + 0.5)).sum() / g.sum())


@pytest.mark.parametrize("factor", [2, 4])
def test_real_mode_is_aligned_with_rescale(tmp_path, factor):
    """An edge downsampled by skimage's rescale (the pixel-centre grid) comes back in
    place by default; the corner grid puts it (f − 1)/2 px off."""
    from skimage.transform import rescale

    cols = np.arange(64) + 0.5
    truth = np.repeat((0.2 + 0.6 / (1 + np.exp(-(cols - 30.7) / 1.5)))[None], 64, axis=0)
    images.save_image(tmp_path / "low.tif", rescale(truth, 1 / factor, anti_aliasing=True))
    np.save(tmp_path / "truth.npy", truth)
    base = {"data.observation": "low.tif", "data.truth": "truth.npy", "data.image": None,
            "model.factor": factor, "model.blur.sigma": (factor - 1) / 2 or 0.3,
            "regularization.0.weight": 1e-4, "optimizer.iterations": 60}
    res = solve(_cfg(tmp_path, **base))
    m = res.problem.model
    assert m.grid == "centre" and m.baseline_label == "bicubic (pixel-centre grid)"
    assert abs(_edge_position(res.params["image"]) - _edge_position(truth)) < 0.2
    assert res.metrics["recovered"]["psnr"] > res.metrics["bicubic"]["psnr"]
    off = solve(_cfg(tmp_path, **base, **{"model.grid": "corner"}))
    shift = _edge_position(off.params["image"]) - _edge_position(truth)
    assert abs(shift + (factor - 1) / 2) < 0.3, shift


def test_grid_choice_and_errors(tmp_path):
    assert _model(16, factor=2).grid == "corner"          # synthetic: the operator's own grid
    assert _model(16, factor=2, sampling="area").grid == "centre"
    with pytest.raises(ConfigError, match="model.grid"):
        _model(16, factor=2, sampling="area", grid="corner")
    with pytest.raises(ConfigError, match="data.truth"):   # a truth needs an observation
        solve(_cfg(tmp_path, **{"data.truth": "x.png"}))


def test_weight_auto_meets_the_discrepancy_target(tmp_path):
    """weight: auto picks λ with residual RMS ≈ τσ̂ (σ̂ estimated from the observation),
    reports it in the summary and writes the criterion curve."""
    from fitcli.models.superres.auto import TAU, noise_sigma

    res = solve(_cfg(tmp_path, **{"regularization.0.weight": "auto", "data.noise": 0.03,
                                  "data.size": 48}),
                out=tmp_path / "run")
    rep = res.metrics["auto_weight"]
    m = res.problem.model
    assert rep["note"] == "root bracketed" and rep["tau"] == TAU
    assert rep["sigma"] == pytest.approx(noise_sigma(m.observation))
    assert 0.02 < rep["sigma"] < 0.05                      # the noise was 0.03
    lam = rep["weight"]
    assert res.problem.smooth[0][2] == lam                 # the fit ran with the choice
    rms = np.sqrt(np.mean((m.apply(res.params["image"]) - m.observation) ** 2))
    assert rms == pytest.approx(rep["target"], rel=0.15)
    curve = (tmp_path / "run" / "auto_weight.csv").read_text().splitlines()
    assert curve[0] == "term,weight,residual_rms" and len(curve) == rep["solves"] + 1


def test_noise_sigma_estimates_white_noise():
    from fitcli.models.superres.auto import noise_sigma

    rng = np.random.default_rng(0)
    flat = 0.5 + np.zeros((128, 128))
    for s in (0.01, 0.05):
        assert noise_sigma(flat + s * rng.standard_normal(flat.shape)) == pytest.approx(s,
                                                                                        rel=0.1)


def test_weight_auto_elsewhere_is_refused():
    from fitcli.api import fit, load

    cfg = load("configs/mlp_spirals.yaml", {"regularization": [{"type": "l2",
                                                                "weight": "auto"}]})
    with pytest.raises(ConfigError, match="regularization.weight.*auto is not available"):
        fit(cfg)
