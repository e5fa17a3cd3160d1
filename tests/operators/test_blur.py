"""Blur: exact adjoints on every path and boundary, agreement with scipy.ndimage, dtypes."""

import importlib

import numpy as np
import pytest
from scipy import ndimage

import fitcli.engine as fe
from fitcli.battery import all_ops
from fitcli.engine.gradcheck import check_grad
from fitcli.operators import Blur, blur, box, from_array, gaussian, kernel_from_spec, motion

RNG = np.random.default_rng(0)
KERNELS = [gaussian(1.3), box(4), motion(7, 33), from_array(RNG.random((4, 6)), "random")]
SHAPES = [(32, 27), (19, 24, 3), (15, 15)]


def _paths(kernel):
    return ["separable", "direct", "fft"] if kernel.factors is not None else ["direct", "fft"]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("boundary", ["periodic", "symmetric"])
def test_adjoint_dot_product(kernel, boundary):
    rng = np.random.default_rng(1)
    for method in _paths(kernel):
        op = Blur(kernel, boundary, method)
        for shape in SHAPES:
            x, y = rng.standard_normal(shape), rng.standard_normal(shape)
            lhs, rhs = np.vdot(op.forward(x), y), np.vdot(x, op.adjoint(y))
            assert abs(lhs - rhs) <= 1e-10 * abs(lhs), (method, shape, lhs, rhs)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("boundary,mode", [("periodic", "wrap"), ("symmetric", "reflect")])
def test_matches_scipy_convolve(kernel, boundary, mode):
    x = np.random.default_rng(2).standard_normal((23, 30))
    ref = ndimage.convolve(x, kernel.array, mode=mode)
    for method in _paths(kernel):
        np.testing.assert_allclose(Blur(kernel, boundary, method).forward(x), ref, atol=1e-12)


def test_colour_is_per_channel():
    x = np.random.default_rng(3).standard_normal((20, 18, 3))
    for method in ("separable", "direct", "fft"):
        op = Blur(gaussian(1.0), "symmetric", method)
        y = op.forward(x)
        for c in range(3):
            np.testing.assert_allclose(y[..., c], op.forward(x[..., c]), atol=1e-12)


@pytest.mark.parametrize("method", ["separable", "direct", "fft"])
def test_float32_preserved(method):
    x = np.random.default_rng(4).random((16, 16)).astype(np.float32)
    op = Blur(gaussian(1.0), "symmetric", method)
    assert op.forward(x).dtype == np.float32 and op.adjoint(x).dtype == np.float32
    t = fe.tensor(x, requires_grad=True)
    out = fe.sum(blur(t, op))
    out.backward()
    assert out.dtype == np.float32 and t.grad.dtype == np.float32


def test_normalised_kernels_and_spec():
    for k in (gaussian(2.0), box(3), motion(9, 45)):
        assert abs(k.array.sum() - 1) < 1e-12 and all(n % 2 for n in k.array.shape)
    k = kernel_from_spec({"kernel": "box", "size": 5})
    assert k.array.shape == (5, 5)
    with pytest.raises(Exception, match="model.blur.sigma"):
        kernel_from_spec({"kernel": "gaussian"})
    with pytest.raises(Exception, match="model.blur.kernel"):
        kernel_from_spec({"kernel": "gauss", "sigma": 1})
    with pytest.raises(Exception, match="model.blur.size"):
        kernel_from_spec({"kernel": "gaussian", "sigma": 1, "size": 3})


def test_kernel_file(tmp_path):
    h = np.random.default_rng(5).random((3, 5))
    np.save(tmp_path / "k.npy", h)
    k = kernel_from_spec({"kernel": "file", "path": "k.npy"}, base_dir=tmp_path)
    np.testing.assert_array_equal(k.array, h)
    (tmp_path / "bad.npy").write_text("not numpy")
    with pytest.raises(Exception, match="bad.npy"):
        kernel_from_spec({"kernel": "file", "path": "bad.npy"}, base_dir=tmp_path)


def test_kernel_larger_than_image_raises():
    with pytest.raises(fe.EngineError, match="larger than"):
        blur(fe.tensor(np.zeros((5, 5))), Blur(gaussian(2.0)))


def test_operator_cases_gradcheck():
    # the imaging modules' cases (warps are checked in test_warp)
    modules = [importlib.import_module(f"fitcli.operators.{name}")
               for name in ("blur", "decimate", "differences", "sampling")]
    for case in [c for m in modules for c in m.gradcheck_cases(np.random.default_rng(0))]:
        for r in check_grad(case.fn, case.args, name=case.op, label=case.label):
            assert r.passed, r.failure_line()


def test_registered():
    for name in ("blur", "subsample", "subsample_area", "gradient", "divergence"):
        assert name in all_ops()
