"""Registration: field regularisers, exact synthetic pairs, transforms, the multiscale solve,
the run folder and the error paths."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import fitcli.engine as fe
from fitcli.api import register
from fitcli.data.base import DataContext
from fitcli.engine.gradcheck import check_grad
from fitcli.errors import ConfigError, InputError
from fitcli.models.registration import fields as F
from fitcli.models.registration.data import (
    affine_field,
    endpoint_error,
    fold_fraction,
    invert_displacement,
    jacobian_determinant,
    load_registration_data,
    make_deformation,
    make_moving,
    rotation_scale_matrix,
)
from fitcli.models.registration.transforms import Similarity
from fitcli.operators.warp import identity_grid, warp


def _smooth_image(n=64, seed=0):
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.random((n, n)), 2.0)
    return (img - img.min()) / (img.max() - img.min())


def _phantom(n):
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    return resize(shepp_logan_phantom(), (n, n), anti_aliasing=True)


# -- regularisers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", F.gradcheck_cases(np.random.default_rng(2)),
                         ids=lambda c: f"{c.op}[{c.label}]")
def test_field_regularizer_gradients(case):
    for r in check_grad(case.fn, case.args, name=case.op, label=case.label):
        assert r.passed, r.failure_line()


@pytest.mark.parametrize("shape", [(4, 5), (2, 6, 6)])
def test_tv_compositions_gradients(shape):
    u = np.random.default_rng(3).standard_normal(shape)
    for fn in (F.tv, lambda a: F.smooth_tv(a, 0.1)):
        for r in check_grad(fn, (u,), name="tv"):
            assert r.passed, r.failure_line()


def test_bending_vanishes_on_affine_fields_and_diffusion_measures_slope():
    u = affine_field((12, 10), np.array([[1.1, 0.2], [-0.1, 0.95]]), (2.0, 1.0))
    assert abs(float(F.bending(u).data)) < 1e-20
    # u = (0.1·r, 0): ½ Σ |∇u|² = ½ · 0.01 · (H−1)·W forward differences
    lin = np.stack([0.1 * identity_grid((12, 10))[0], np.zeros((12, 10))])
    np.testing.assert_allclose(float(F.diffusion(lin).data), 0.5 * 0.01 * 11 * 10)
    assert float(F.tv(np.ones((2, 5, 5))).data) == 0.0


def test_field_regularizer_protocol():
    from fitcli.models.registration import RegistrationModel
    from fitcli.regularizers import REGULARIZERS

    # displacement-field penalties are the registration model's own names, not global ones
    own = RegistrationModel.regularizers
    assert own["diffusion"] is F.Diffusion and own["bending"] is F.Bending
    assert "diffusion" not in REGULARIZERS and "bending" not in REGULARIZERS
    u = np.random.default_rng(0).standard_normal((2, 6, 7))
    tv = F.FieldTV()
    z = tv.prox(u, 0.1)
    assert z.shape == u.shape and tv.value(z) < tv.value(u)
    with pytest.raises(ConfigError, match="eps"):
        F.FieldSmoothTV(eps=-1.0)


# -- synthetic pairs ----------------------------------------------------------------------------
def test_smooth_random_pair_is_exact():
    rng = np.random.default_rng(3)
    u, aff = make_deformation((48, 48), rng, type="smooth_random", magnitude=3.0)
    assert aff is None
    np.testing.assert_allclose(np.sqrt((u ** 2).sum(0)).max(), 3.0)
    x, res = invert_displacement(u)
    assert res < 1e-9
    # a smooth image: moving(x + u(x)) reproduces fixed(x) up to interpolation error only
    fixed = _smooth_image(48)
    moving = make_moving(fixed, u)
    back = warp(moving, u, order=3)
    inner = (slice(6, -6), slice(6, -6))
    assert np.abs(back - fixed)[inner].max() < 2e-3
    # the first-order pair moving(x) = fixed(x − u(x)) is measurably worse
    naive = warp(fixed, -u, order=3)
    assert np.abs(warp(naive, u, order=3) - fixed)[inner].max() > 5 * np.abs(
        back - fixed)[inner].max()


def test_affine_pair_inverts_in_closed_form():
    m = rotation_scale_matrix(10.0, 1.05)
    u = affine_field((20, 24), m, (1.0, -2.0))
    x, res = invert_displacement(u, (m, np.array([1.0, -2.0])))
    grid = identity_grid((20, 24))
    forward = grid + affine_field((20, 24), m, (1.0, -2.0))  # x ↦ x + u(x)
    # x*(y) + u(x*(y)) = y: evaluate the affine map at x*
    c = np.array([9.5, 11.5]).reshape(2, 1, 1)
    mapped = c + np.einsum("ij,jhw->ihw", m, x - c) + np.array([1.0, -2.0]).reshape(2, 1, 1)
    np.testing.assert_allclose(mapped, grid, atol=1e-10)
    assert forward.shape == x.shape and res == 0.0


def test_folding_deformation_is_refused():
    with pytest.raises(ConfigError, match="fold"):
        u, _ = make_deformation((32, 32), np.random.default_rng(0), magnitude=30.0,
                                smoothness=2.0)
        make_moving(_smooth_image(32), u)


def test_jacobian_marks_folds():
    u = np.zeros((2, 16, 16))
    u[0] = -1.5 * identity_grid((16, 16))[0]   # rows reversed: det = 1 − 1.5 < 0
    assert fold_fraction(u) == 1.0
    assert np.allclose(jacobian_determinant(np.zeros((2, 5, 5))), 1.0)


# -- loading and checks -----------------------------------------------------------------------
def _ctx(tmp_path=Path(".")):
    return DataContext(Path(tmp_path), np.random.default_rng(0))


def test_loader_errors(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((16, 16)))
    np.save(tmp_path / "b.npy", np.zeros((16, 20)))
    bad = np.zeros((16, 16))
    bad[3, 4] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    ctx = _ctx(tmp_path)
    with pytest.raises(InputError, match="differ in size"):
        load_registration_data(ctx, fixed="a.npy", moving="b.npy")
    with pytest.raises(InputError, match="non-finite"):
        load_registration_data(ctx, fixed="a.npy", moving="nan.npy")
    with pytest.raises(ConfigError, match="data.moving"):
        load_registration_data(ctx, fixed="a.npy")
    with pytest.raises(ConfigError, match="deformation.magnitud"):
        load_registration_data(ctx, image="camera", resize=32,
                               deformation={"type": "smooth_random", "magnitud": 2})
    with pytest.raises(ConfigError, match="deformation.type"):
        load_registration_data(ctx, image="camera", resize=32, deformation={"type": "twist"})


def test_loader_colour_note_and_synthetic_truth():
    ds = load_registration_data(_ctx(), image="astronaut", resize=32,
                                deformation={"type": "rotation", "magnitude": 5, "seed": 1})
    ex = ds.extras
    assert ex["fixed"].shape == ex["moving"].shape == (32, 32)
    assert ex["truth"].shape == (2, 32, 32) and "gray" in ex["notes"][0]


# -- the solve ----------------------------------------------------------------------------------
def test_recovers_a_translation_to_five_hundredths_of_a_pixel():
    fixed = _smooth_image(64)
    shift = np.array([1.3, -2.6])
    u = affine_field(fixed.shape, np.eye(2), shift)
    moving = make_moving(fixed, u, (np.eye(2), shift))
    res = register(fixed, moving, transform="translation", levels=2, iterations=50)
    t = res.params["theta"]
    inner = (slice(None), slice(8, -8), slice(8, -8))
    assert np.abs(t - shift).max() < 0.05, t
    assert np.abs(res.problem.model.displacement(res.params) - u)[inner].max() < 0.05


def test_recovers_rotation_and_scale():
    from skimage.data import camera
    from skimage.transform import resize

    fixed = resize(camera() / 255.0, (96, 96), anti_aliasing=True)
    m = rotation_scale_matrix(6.0, 1.05)
    u = affine_field(fixed.shape, m)
    moving = make_moving(fixed, u, (m, np.zeros(2)))
    res = register(fixed, moving, transform="affine", levels=3, iterations=60)
    assert abs(res.metrics["angle_deg"] - 6.0) < 0.5
    assert abs(res.metrics["scale"] / 1.05 - 1) < 0.01


def test_small_phantom_displacement_endpoint_error():
    # 64² phantom, smooth random deformation of at most 2 px: mean EPE below 0.45 px
    # (measured 0.38; the zero field is at 0.75 — the flat regions are unobservable)
    fixed = _phantom(64)
    u, _ = make_deformation(fixed.shape, np.random.default_rng(5), magnitude=2.0)
    moving = make_moving(fixed, u)
    regs = [{"type": "diffusion", "weight": 0.01}]
    res = register(fixed, moving, levels=3, iterations=[60, 60, 120], regularization=regs)
    before = endpoint_error(np.zeros_like(u), u)["epe_mean"]
    u_hat = res.problem.model.displacement(res.params)
    after = endpoint_error(u_hat, u)["epe_mean"]
    assert after < 0.45 and after < 0.6 * before, (before, after)
    assert fold_fraction(u_hat) == 0.0


def test_pre_affine_then_displacement_and_ncc():
    fixed = _smooth_image(48, seed=4)
    m = rotation_scale_matrix(4.0, 1.0)
    u = affine_field(fixed.shape, m)
    moving = make_moving(fixed, u, (m, np.zeros(2)))
    res = register(fixed, moving, transform="displacement", pre="affine", levels=2,
                   iterations=40, loss={"type": "ncc"},
                   regularization=[{"type": "bending", "weight": 1e-3}])
    model = res.problem.model
    assert [s["stage"].split()[0] for s in res.summary["stages"]] == ["affine"] * 2 + \
        ["displacement"] * 2
    assert model.affine_theta is not None and model.affine_theta.shape == (6,)
    inner = (slice(None), slice(6, -6), slice(6, -6))
    u_hat = model.displacement(res.params)
    assert np.sqrt(((u_hat - u)[inner] ** 2).sum(0)).mean() < 0.1


def test_similarities_gradcheck_and_zero_at_identity():
    rng = np.random.default_rng(7)
    a, b = rng.random((9, 8)), rng.random((9, 8))
    for sim in (Similarity("ssd"), Similarity("ncc"), Similarity("ncc", window=3)):
        assert float(sim(fe.tensor(b), b).data) == pytest.approx(0.0, abs=1e-3)
        for r in check_grad(lambda x, s=sim: s(x, b), (a,), name=repr(sim)):
            assert r.passed, r.failure_line()


@pytest.mark.parametrize("bad, match", [
    ({"iterations": [10, 10, 10]}, "model.iterations"),
    ({"levels": 9}, "model.levels"),
    ({"pre": "affine", "transform": "translation"}, "model.pre"),
    ({"transform": "spline"}, "model.transform"),
    ({"loss": {"type": "ncc", "window": 4}}, "loss.window"),
    ({"loss": "mse"}, "loss.type"),
])
def test_register_option_errors(bad, match):
    fixed = _smooth_image(32)
    opts = {"levels": 2, "iterations": 2, **bad}
    with pytest.raises(ConfigError, match=match):
        register(fixed, fixed, **opts)


def test_ncc_loss_rejects_unknown_key():
    from fitcli import config as C

    with pytest.raises(ConfigError, match="loss.size"):
        C.load({**RAW, "loss": {"type": "ncc", "size": 3}})


# -- a config run writes the run folder -----------------------------------------------------------
RAW = {"name": "reg", "data": {"image": "shepp_logan_phantom", "resize": 32,
                               "deformation": {"type": "smooth_random", "magnitude": 1.5}},
       "model": {"type": "registration", "levels": 2, "iterations": [10, 20]},
       "loss": "ssd", "regularization": [{"type": "diffusion", "weight": 0.01}],
       "optimizer": {"type": "lbfgs"}}


def test_solve_registration_writes_the_run_folder(tmp_path):
    import json

    from fitcli.api import solve

    res = solve(RAW, out=tmp_path / "run")
    files = set(res.summary["files"])
    assert {"displacement.npy", "warped.png", "difference_before.png", "difference_after.png",
            "grid.png", "jacobian.png", "metrics.csv", "summary.json", "checkpoint.npz",
            "loss.png"} <= files
    u = np.load(tmp_path / "run" / "displacement.npy")
    assert u.shape == (2, 32, 32)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    m = summary["metrics"]
    assert m["epe_mean"] < m["epe_mean_before"] and m["ssd_after"] < m["ssd_before"]
    assert m["fold_fraction"] == 0.0
    assert summary["objective"].startswith("½Σ(moving ∘ φ − fixed)²")
    assert summary["stop_reason"] and len(summary["stages"]) == 2


def test_train_and_solve_run_the_same_multiscale_fit(tmp_path):
    from fitcli.api import fit, solve

    raw = {**RAW, "model": {"type": "registration"},
           "optimizer": {"type": "lbfgs", "iterations": 30}}
    r = fit(raw, out=tmp_path / "run")
    m = r.summary["metrics"]
    assert m["epe_mean"] < 0.4 and m["fold_fraction"] == 0.0
    assert {"displacement.npy", "grid.png", "jacobian.png"} <= set(r.summary["files"])
    assert len(r.summary["stages"]) == 3                  # levels: 3, 30 iterations each
    s = solve(raw)
    np.testing.assert_array_equal(s.params["theta"], r.params["theta"])


def test_model_and_optimizer_iterations_are_not_both_given():
    from fitcli import config as C

    with pytest.raises(ConfigError, match="optimizer.iterations"):
        C.load({**RAW, "optimizer": {"type": "lbfgs", "iterations": 50}})
    cfg = C.load(RAW)                # model.iterations alone: the resolved config omits the other
    assert "iterations" not in cfg.resolved["optimizer"]
    assert C.load(cfg.resolved).model["iterations"] == [10, 20]       # config.yaml round trip


def test_progress_rows_every_n_iterations_and_at_each_level_end():
    fixed = _smooth_image(32)
    u = affine_field(fixed.shape, np.eye(2), (0.7, -0.4))
    moving = make_moving(fixed, u, (np.eye(2), np.array([0.7, -0.4])))
    events = []
    res = register(fixed, moving, transform="translation", levels=2, iterations=[12, 7],
                   callback=events.append, every=5)
    rows = [p.row for p in events if p.summary is None][1:]          # after the start row
    stage_end = {}
    for r in res.history[1:]:
        stage_end[r["stage"]] = r["stage_iteration"]
    for r in rows:
        assert r["stage_iteration"] % 5 == 0 or r["stage_iteration"] == stage_end[r["stage"]]
    its = [r["iteration"] for r in res.history]
    assert its == sorted(set(its)) and its[-1] == res.summary["iterations"]
    assert [s["iterations"] for s in res.summary["stages"]] == [
        stage_end[0], stage_end[1]]


def test_regularizer_names_mean_the_field_versions_for_registration(configs_dir):
    from fitcli import config as C
    from fitcli.models.registration.fields import FIELD_REGULARIZERS

    path = configs_dir / "registration_phantom.yaml"
    for name in ("tv", "smooth_tv", "diffusion"):
        cfg = C.load(path, [f"regularization.0.type={name}"], None)
        assert cfg.regularization[0][1] is FIELD_REGULARIZERS[name]
