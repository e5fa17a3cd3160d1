"""Every optimizer resumes bitwise from its state_dict, through an .npz file as a checkpoint."""

import io

import numpy as np
import pytest

from fitcli.optim import OPTIMIZERS
from fitcli.optim.prox import L1
from fitcli.optim.testfns import logistic_regression

OPTIONS = {
    "gd": [{"step": "armijo"}, {"step": "wolfe"}, {"step": "bb"}, {"step": 0.5}],
    "heavy_ball": [{}, {"step": 0.3, "momentum": 0.8}],
    "nesterov": [{}, {"step": "armijo"}],
    "lbfgs": [{"history": 3}, {"history": 3, "bounds": [-0.3, 0.3]}, {"history": 3, "step": 0.5}],
    "bfgs": [{}, {"step": 0.5}],
    "sgd": [{"step": 0.3, "momentum": 0.9, "batch_size": 50, "schedule": "cosine",
             "period": 20}],
    "adam": [{"step": 0.05, "batch_size": 64}],
    "svrg": [{"batch_size": 40, "epoch_length": 7}],
}
CASES = [(name, opts) for name in OPTIMIZERS for opts in OPTIONS.get(name, [{}])]


@pytest.fixture(scope="module")
def closure():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 6))
    y = rng.integers(0, 3, 300)
    return logistic_regression(X + y[:, None] * 0.5, y, l2=1e-3)


def through_npz(state: dict) -> dict:
    """Save and load as fit.py's checkpoint does (0-d arrays become Python scalars)."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in state.items()})
    buf.seek(0)
    with np.load(buf) as f:
        out = {}
        for k in f.files:
            a = f[k]
            out[k] = (str(a) if a.dtype.kind == "U" else a.item()) if a.ndim == 0 else a
    return out


def make(name, opts, x, closure, seed):
    opt = OPTIMIZERS[name](x, rng=np.random.default_rng(seed), n_samples=closure.n_samples,
                           **opts)
    if getattr(opt, "handles_nonsmooth", False):
        opt.set_nonsmooth([L1(1e-3)])
    return opt


@pytest.mark.parametrize("name,opts", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_resume_is_bitwise_identical(name, opts, closure):
    k, more = (3, 3) if name == "newton_cg" else (6, 6)     # newton: converged after ~8
    x_ref = closure.start.copy() + 0.1
    ref = make(name, opts, x_ref, closure, seed=1)
    infos_ref = [ref.step(closure) for _ in range(k + more)]

    x = closure.start.copy() + 0.1
    first = make(name, opts, x, closure, seed=1)
    for _ in range(k):
        first.step(closure)
    state = through_npz(first.state_dict())
    x_resumed = x.copy()
    second = make(name, opts, x_resumed, closure, seed=99)    # a different generator: restored
    second.load_state_dict(state)
    infos = [second.step(closure) for _ in range(more)]

    assert all(i.stop is None for i in infos_ref)
    np.testing.assert_array_equal(x_resumed, x_ref)
    assert [i.loss for i in infos] == [i.loss for i in infos_ref[k:]]
    assert second.iteration == ref.iteration


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32(name, closure):
    x = closure.start.astype(np.float32) + np.float32(0.1)
    opt = make(name, {}, x, closure, seed=0)
    for _ in range(5):
        info = opt.step(closure)
        assert info.stop is None
        assert x.dtype == np.float32
    for v in opt.state_dict().values():
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size == x.size:
            assert v.dtype == np.float32
