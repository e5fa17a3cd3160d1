"""Registration's start and doubts: the affine search, auto levels, the warnings of a
doubtful solve, a user pair's truth file."""

from pathlib import Path

import numpy as np
import pytest

from fitcli import config as C
from fitcli.api import run
from fitcli.errors import ConfigError, InputError
from fitcli.models.registration.checks import auto_levels

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def _solve(path_or_raw, sets=(), out=None):
    return run(C.load(path_or_raw, list(sets)), out, handle_signals=False)


@pytest.mark.parametrize("angle", [30.0, -60.0])
def test_the_default_affine_config_recovers_a_large_rotation(angle):
    r = _solve(CONFIGS / "registration_affine.yaml", [f"data.deformation.angle={angle}"])
    m = r.summary["metrics"]
    assert m["angle_error_deg"] < 0.1 and m["scale_error_rel"] < 1e-3
    assert r.summary["warnings"] == []


def test_a_wrong_affine_optimum_is_flagged():
    # from the identity the fit stops at a wrong optimum (scale ~0.49): said, not silent
    r = _solve(CONFIGS / "registration_affine.yaml",
               ["data.deformation.angle=60", "model.start=identity"])
    assert r.summary["metrics"]["angle_error_deg"] > 10
    assert any("wrong optimum" in w for w in r.summary["warnings"])


NOISY = {"name": "noisy", "data": {"image": "camera", "resize": 64, "noise": 0.05,
                                   "deformation": {"type": "smooth_random", "magnitude": 3.0,
                                                   "seed": 1}},
         "model": {"type": "registration", "levels": 4, "iterations": 50},
         "loss": "ssd", "regularization": [{"type": "diffusion", "weight": 0.1}],
         "optimizer": "lbfgs"}


@pytest.mark.parametrize("weight, expected", [
    (1e-6, "below the noise"),          # fits the noise
    (1e4, "of the match the noise allows"),   # barely moves
    (0.1, None)])
def test_a_badly_regularized_solve_is_flagged(weight, expected):
    raw = {**NOISY, "regularization": [{"type": "diffusion", "weight": weight}]}
    warnings = _solve(raw).summary["warnings"]
    if expected is None:
        assert warnings == []
    else:
        assert any(expected in w for w in warnings), warnings


def test_a_displacement_beyond_the_pyramid_is_flagged():
    raw = {**NOISY, "data": {**NOISY["data"], "noise": 0.0}, "model": {
        "type": "registration", "levels": 2, "iterations": 50}}
    raw["data"]["deformation"] = {"type": "rotation", "angle": 8.0}
    warnings = _solve(raw).summary["warnings"]
    assert any("pyramid levels capture" in w for w in warnings), warnings


def test_levels_follow_the_image_size():
    assert [auto_levels((n, n)) for n in (8, 15, 16, 32, 256, 300)] == [1, 1, 2, 3, 6, 6]
    r = _solve({**NOISY, "model": {"type": "registration", "iterations": 5}})
    assert len(r.summary["stages"]) == 4                  # 64 px: 64, 32, 16, 8


def _user_pair(tmp_path):
    from skimage.data import camera
    from skimage.io import imsave

    from fitcli.models.registration.data import make_deformation, make_moving, resize_image

    fixed = resize_image(camera().astype(float) / 255, 48)
    truth, _ = make_deformation(fixed.shape, np.random.default_rng(0), magnitude=1.5)
    moving = make_moving(fixed, truth)
    for name, img in (("f.png", fixed), ("m.png", moving)):
        imsave(tmp_path / name, (np.clip(img, 0, 1) * 65535).astype(np.uint16),
               check_contrast=False)
    np.save(tmp_path / "flow.npy", truth)
    return {"name": "user", "data": {"fixed": str(tmp_path / "f.png"),
                                     "moving": str(tmp_path / "m.png"),
                                     "truth": str(tmp_path / "flow.npy")},
            "model": {"type": "registration", "iterations": 30},
            "regularization": [{"type": "diffusion", "weight": 0.1}], "optimizer": "lbfgs"}


def test_a_user_pair_with_a_truth_file_gets_its_endpoint_error(tmp_path):
    raw = _user_pair(tmp_path)
    r = _solve(raw, out=tmp_path / "run")
    m = r.summary["metrics"]
    assert m["epe_mean"] < 0.7 * m["epe_mean_before"]
    assert (tmp_path / "run" / "endpoint_error.png").exists()
    np.save(tmp_path / "flow.npy", np.zeros((2, 40, 48)))
    with pytest.raises(InputError, match=r"data.truth: expected a displacement of shape "
                                         r"\(2, 48, 48\)"):
        _solve(raw)


def test_the_optimizer_is_a_name_a_mapping_or_the_models_default():
    base = {k: v for k, v in NOISY.items() if k != "optimizer"}
    for section in ({}, {"optimizer": "lbfgs"}, {"optimizer": {"history": 5}}):
        assert C.load({**base, **section}).resolved["optimizer"]["type"] == "lbfgs"
    mlp = {"name": "m", "data": {"dataset": "spirals"}, "model": {"type": "mlp"}}
    assert C.load({**mlp, "optimizer": "adam"}).resolved["optimizer"]["type"] == "adam"
    with pytest.raises(ConfigError, match="optimizer: expected a name .*required for model "
                                          "mlp"):
        C.load(mlp)
