"""numpy's vocabulary on the engine: each added function's value against numpy's on the
same arguments, and its gradient against central differences (issue 12)."""

import numpy as np
import pytest

import fitcli.engine as fe
from fitcli.engine.gradcheck import check_grad

R = np.random.default_rng(3)
X = R.standard_normal((3, 4))
U = R.uniform(-0.8, 0.8, (3, 4))
P = R.uniform(0.5, 2.0, (3, 4))
SQ = R.standard_normal((4, 4))
V = R.standard_normal(4)

# name, numpy function, engine function, arguments (float arrays: differentiated)
CALLS = [(n, getattr(np, n), getattr(fe, n), (a,)) for n, a in [
    ("sin", X), ("cos", X), ("tan", U), ("arcsin", U), ("arccos", U), ("arctan", X),
    ("sinh", X), ("cosh", X), ("arcsinh", X), ("arccosh", P + 1), ("arctanh", U),
    ("expm1", X), ("log2", P), ("log10", P), ("exp2", X), ("square", X), ("reciprocal", P),
    ("cbrt", P), ("deg2rad", X), ("rad2deg", X), ("absolute", X), ("fabs", X),
    ("atleast_3d", X), ("atleast_2d", V), ("ravel", X), ("trace", SQ),
    ("tril", X), ("triu", X), ("diag", V), ("diag", SQ), ("squeeze", X[:, None]),
    ("flip", X), ("sort", X), ("std", X),
    ("prod", P), ("cumsum", X)]]
CALLS += [(n, getattr(np, n), getattr(fe, n), (a, b)) for n, a, b in [
    ("logaddexp", X, P), ("logaddexp2", X, P), ("true_divide", X, P), ("hypot", X, P),
    ("mod", X, P), ("fmod", X, P),
    ("remainder", X, P), ("arctan2", X, P), ("outer", V, V), ("inner", X, SQ),
    ("kron", X[:2, :2], SQ[:2]), ("dot", X, SQ), ("vdot", X, X)]]
CALLS += [
    ("einsum", np.einsum, fe.einsum, ("ij,jk->ik", X, SQ)),
    ("einsum", np.einsum, fe.einsum, ("...j,jk", X, SQ)),
    ("tensordot", lambda a, b: np.tensordot(a, b, 1), lambda a, b: fe.tensordot(a, b, 1),
     (X, SQ)),
    ("vstack", lambda a, b: np.vstack([a, b]), lambda a, b: fe.vstack([a, b]), (V, X)),
    ("hstack", lambda a, b: np.hstack([a, b]), lambda a, b: fe.hstack([a, b]), (X, X)),
    ("stack", lambda a, b: np.stack([a, b], 1), lambda a, b: fe.stack([a, b], 1), (X, X)),
    ("split", lambda a: np.split(a, 2, 1)[1], lambda a: fe.split(a, 2, 1)[1], (X,)),
    ("repeat", lambda a: np.repeat(a, 2, 0), lambda a: fe.repeat(a, 2, 0), (X,)),
    ("tile", lambda a: np.tile(a, (2, 1)), lambda a: fe.tile(a, (2, 1)), (X,)),
    ("moveaxis", lambda a: np.moveaxis(a, 0, -1), lambda a: fe.moveaxis(a, 0, -1), (X,)),
    ("roll", lambda a: np.roll(a, 1, 1), lambda a: fe.roll(a, 1, 1), (X,)),
    ("pad", lambda a: np.pad(a, 1, mode="reflect"), lambda a: fe.pad(a, 1, mode="reflect"),
     (X,)),
    ("select", lambda a, b: np.select([a > 0, b > 1], [a, b], 0.0),
     lambda a, b: fe.select([X > 0, P > 1], [a, b]), (X, P)),
    ("take_along_axis", lambda a: np.take_along_axis(a, np.argsort(a, 1), 1),
     lambda a: fe.take_along_axis(a, np.argsort(X, 1), 1), (X,)),
]


@pytest.mark.parametrize("name, np_fn, fe_fn, args", CALLS, ids=[c[0] for c in CALLS])
def test_value_matches_numpy_and_gradient_matches_differences(name, np_fn, fe_fn, args):
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    lead = [a for a in args if not isinstance(a, np.ndarray)]
    got = fe_fn(*lead, *[fe.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.data, np_fn(*args), rtol=1e-12, atol=1e-12)
    w = R.standard_normal(got.shape)   # a generic projection of the output
    for r in check_grad(lambda *xs: fe.sum(fe_fn(*lead, *xs) * w), arrays, name=name):
        assert r.passed, r.failure_line()


def test_numpy_ufuncs_and_operators_on_tensors_are_differentiable():
    x = np.array([0.3, -1.2, 0.7])
    w = np.array([1.0, 2.0, -1.0])
    g = fe.grad(lambda t: np.sum(np.sin(t) * w + np.exp(t) + w @ t))(x)
    # w @ t is a scalar added to each of the 3 elements
    np.testing.assert_allclose(g, np.cos(x) * w + np.exp(x) + 3 * w)
    t = fe.tensor(x)
    assert isinstance(w + t, fe.Tensor) and np.array_equal(w < t, w < x)
    np.testing.assert_array_equal(np.floor(t), np.floor(x))
    with pytest.raises(fe.EngineError, match="not supported"):
        np.add.reduce(t)
