"""Image regularizers: values, gradients (gradcheck) and the TV prox's optimality."""

import numpy as np
import pytest

from fitcli.engine import Tensor
from fitcli.engine.gradcheck import check_grad
from fitcli.errors import ConfigError
from fitcli.regularizers import REGULARIZERS
from fitcli.regularizers.image import TV, SmoothTV, Sobolev, Tikhonov, tv_prox, tv_value


@pytest.mark.parametrize("reg", [Tikhonov(), Sobolev(), SmoothTV(eps=0.1)], ids=lambda r: r.name)
@pytest.mark.parametrize("shape", [(6, 7), (5, 4, 3)])
def test_gradcheck(reg, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    for r in check_grad(reg, [x], name=reg.name):
        assert r.passed, r.failure_line()


def test_values():
    x = np.add.outer(np.arange(4.0), 2 * np.arange(5.0))   # ∇x = (1, 2) inside
    assert Tikhonov()(Tensor(x)).item() == pytest.approx(0.5 * np.sum(x * x))
    # rows: 3 × 5 differences of 1; columns: 4 × 4 differences of 2
    assert Sobolev()(Tensor(x)).item() == pytest.approx(0.5 * (15 * 1 + 16 * 4))
    eps = 1e-3
    d = np.zeros((2, 4, 5))
    d[0, :-1], d[1, :, :-1] = 1, 2
    expect = np.sqrt(d[0] ** 2 + d[1] ** 2 + eps ** 2).sum()
    assert SmoothTV(eps=eps)(Tensor(x)).item() == pytest.approx(expect)
    assert tv_value(x) == pytest.approx(np.sqrt(d[0] ** 2 + d[1] ** 2).sum())
    assert TV().value(x) == pytest.approx(TV()(Tensor(x)).item())
    for name in ("tikhonov", "sobolev", "smooth_tv", "tv"):
        assert name in REGULARIZERS


def test_tv_prox_is_the_minimiser():
    rng = np.random.default_rng(1)
    x = rng.random((24, 24))
    t = 0.1
    z = tv_prox(x, t, shape=x.shape, iterations=500, tol=0)
    obj = lambda v: 0.5 * np.sum((v - x) ** 2) + t * tv_value(v)
    assert obj(z) < obj(x)
    for _ in range(10):  # no random nearby point does better
        assert obj(z) <= obj(z + 1e-3 * rng.standard_normal(z.shape)) + 1e-9
    zc = TV(iterations=500, tol=0).prox(np.stack([x, x], axis=-1), t)
    np.testing.assert_allclose(zc[..., 0], z, atol=1e-4)
    # warm start: the second call continues from the first one's dual variable
    reg = TV(iterations=20, tol=0, warm_start=True)
    e1 = np.abs(reg.prox(x, t) - z).max()
    e2 = np.abs(reg.prox(x, t) - z).max()
    assert e2 < e1
    cold = TV(iterations=20, tol=0, warm_start=False)   # every call alike
    assert np.array_equal(cold.prox(x, t), cold.prox(x, t))
    restored = TV(iterations=20, tol=0)                  # the dual survives a checkpoint
    restored.load_state_dict(reg.state_dict())
    assert np.array_equal(restored.prox(x, t), reg.prox(x, t))


def test_bad_options():
    with pytest.raises(ConfigError, match="eps"):
        SmoothTV(eps=0)
    with pytest.raises(ConfigError, match="iterations"):
        TV(iterations=0)
    with pytest.raises(ConfigError, match="image"):
        Sobolev()(Tensor(np.zeros(5)))
