"""The fused separable blur-then-subsample R₀ x R₁ᵀ equals blur then subsample, exactly."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.operators import Blur, BlurSubsample, box, gaussian, motion
from fitcli.operators.sampling import ARRAYS


@pytest.mark.parametrize("kernel", [gaussian(1.3), box(4)], ids=lambda k: k.name)
@pytest.mark.parametrize("boundary", ["periodic", "symmetric"])
@pytest.mark.parametrize("sampling,factor", [("sample", 3), ("area", 2), ("centre", 2),
                                             ("centre", 4)])
@pytest.mark.parametrize("shape", [(24, 32), (16, 20, 3)])
def test_matches_blur_then_subsample_and_adjoint(kernel, boundary, sampling, factor, shape):
    rng = np.random.default_rng(0)
    op = BlurSubsample(kernel, boundary, factor, sampling, shape)
    x = rng.standard_normal(shape)
    blurred = Blur(kernel, boundary, "fft").forward(x)
    ref = ARRAYS[sampling][0](blurred, factor)
    y = op.forward(x)
    np.testing.assert_allclose(y, ref, atol=1e-12)
    z = rng.standard_normal(y.shape)
    lhs, rhs = np.vdot(y, z), np.vdot(x, op.adjoint(z))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_float32_and_checks():
    op = BlurSubsample(gaussian(1.0), "symmetric", 2, "sample", (16, 16))
    x = fe.tensor(np.ones((16, 16), np.float32), requires_grad=True)
    out = fe.sum(op(x))
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(fe.EngineError, match="shape"):
        op(fe.tensor(np.ones((8, 8))))
    with pytest.raises(ValueError, match="separable"):
        BlurSubsample(motion(5, 10), "symmetric", 2, "sample", (16, 16))
