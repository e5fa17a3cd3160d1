"""Image I/O, cropping, the phase-aligned cubic baseline and the metrics."""

import numpy as np
import pytest

from fitcli.data import images
from fitcli.errors import ConfigError, InputError
from fitcli.models.superres import baseline, figures


def test_builtin_gray_crop():
    img = images.load_image("astronaut", size=64, gray=True)
    assert img.shape == (64, 64) and img.dtype == np.float64
    assert 0 <= img.min() and img.max() <= 1
    assert images.load_image("astronaut", size=[32, 48]).shape == (32, 48, 3)
    assert images.load_image("camera", size=8, dtype=np.float32).dtype == np.float32
    with pytest.raises(ConfigError, match="data.size"):
        images.load_image("camera", size=1000)


def test_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        images.read_image(tmp_path / "missing.png")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError, match="broken.png"):
        images.read_image(bad)
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4, 5)))
    with pytest.raises(InputError, match="shape"):
        images.read_image(tmp_path / "cube.npy")
    with pytest.raises(InputError, match="format"):
        images.save_image(tmp_path / "x.gif", np.zeros((4, 4)))


@pytest.mark.parametrize("ext,tol", [(".png", 0.5 / 255), (".tif", 0.5 / 65535), (".npy", 0)])
def test_round_trip(tmp_path, ext, tol):
    x = np.random.default_rng(0).random((9, 7))
    images.save_image(tmp_path / f"a{ext}", x)
    back = images.read_image(tmp_path / f"a{ext}")
    assert back.shape == x.shape
    np.testing.assert_allclose(back, x, atol=tol + 1e-12)


def test_aligned_cubic_reproduces_samples_and_ramps():
    rng = np.random.default_rng(1)
    for f in (2, 3, 4):
        y = rng.random((20, 17))
        up = baseline.aligned_cubic(y, f, (20 * f, 17 * f))
        np.testing.assert_allclose(up[::f, ::f], y, atol=1e-12)
    # a linear ramp sampled at 0, f, 2f, ... comes back exactly away from the edges
    n, f = 256, 4
    ramp = np.add.outer(0.3 * np.arange(n), 0.7 * np.arange(n)) / n
    up = baseline.aligned_cubic(ramp[::f, ::f], f, ramp.shape)
    assert np.abs(up - ramp)[64:-64, 64:-64].max() < 1e-8
    # skimage's resize (pixel centres) is shifted by (f - 1) / 2 pixels on this grid
    mis = baseline.centred_cubic(ramp[::f, ::f], ramp.shape)
    shift = (mis - ramp)[64:-64, 64:-64]
    np.testing.assert_allclose(shift, -(0.3 + 0.7) * (f - 1) / 2 / n, atol=1e-6)


def test_quality_and_figures(tmp_path):
    t = images.load_image("camera", size=32)
    m = baseline.quality(t, t + 0.01)
    assert abs(m["psnr"] - 40.0) < 1e-6 and m["ssim"] < 1
    files = figures.write_figures(tmp_path, recovered=t, observed=t[::2, ::2], baseline=t,
                                  factor=2, truth=t, metrics={"recovered": m, "bicubic": m})
    assert all((tmp_path / f).stat().st_size > 0 for f in files)
    from fitcli.sweep import SweepResult, sweep_figure

    rows = [{"value": 1e-3, **m}, {"value": 1e-2, **m, "psnr": m["psnr"] + 1}]
    sweep_figure(tmp_path / "sweep.png", SweepResult("w", [1e-3, 1e-2], rows, ["psnr", "ssim"],
                                                     "psnr", 1, m))
    assert (tmp_path / "sweep.png").exists()
