"""Reductions: sum, max, min, norm and logsumexp, each with ``axis`` and ``keepdims``,
beside their public functions; the composites mean, var, softmax and log_softmax;
the family's gradient-check cases.

The VJP of a reduction re-expands the cotangent over the reduced axes
(:func:`_expand`). Ties of max/min share the gradient evenly; the norm's
gradient at 0 is 0. ``logsumexp`` is a primitive rather than a composition
for numerical stability (shifted by the max, no overflow) and speed (its VJP
is the softmax, computed once).
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from . import ops_elementwise as E
from . import ops_shape as S
from ._common import raw
from .cases import Case
from .op import EngineError, primitive
from .tensor import Tensor, apply, operand, shape_of

__all__ = ["cumsum", "log_softmax", "logsumexp", "max", "mean", "min", "norm", "prod", "softmax",
           "std", "sum", "var"]


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim if ndim else a for a in axis)


def _expand(g, a, axis, keepdims):
    """Cotangent of a reduction, broadcastable against the input ``a``."""
    if keepdims or not a.ndim:
        return g
    if axis is None:  # the common full reduction: a reshape, cheaper than expand_dims
        return g.reshape((1,) * a.ndim)
    return np.expand_dims(g, _axes(axis, a.ndim))


def _extreme_vjp(g, out, a, axis=None, keepdims=False):
    # d max/da = indicator of the arg-max; ties share evenly
    o = _expand(out, a, axis, keepdims)
    mask = (a == o).astype(g.dtype)
    mask /= mask.sum(axis=_axes(axis, a.ndim), keepdims=True)
    return _expand(g, a, axis, keepdims) * mask


def _norm(a, axis=None, keepdims=False):
    return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))


def _norm_vjp(g, out, a, axis=None, keepdims=False):
    # d‖a‖/da = a/‖a‖, taken as 0 where ‖a‖ = 0
    n = _expand(out, a, axis, keepdims)
    safe = np.where(n > 0, n, 1)
    return _expand(g, a, axis, keepdims) * np.where(n > 0, a / safe, 0)


def _shifted_max(a, axis):
    m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros_like(a, shape=())
    return np.where(np.isfinite(m), m, 0)


def _logsumexp(a, axis=None, keepdims=False):
    # m + log Σ exp(a - m) with m the (finite) max: exact, no overflow
    m = _shifted_max(a, axis)
    with np.errstate(divide="ignore"):
        s = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=_axes(axis, a.ndim))


def _logsumexp_vjp(g, out, a, axis=None, keepdims=False):
    # d lse/da = softmax(a) = exp(a - lse)
    return _expand(g, a, axis, keepdims) * np.exp(a - _expand(out, a, axis, keepdims))


def _kd_shape(a, axis):
    shape = list(np.shape(raw(a)))
    for ax in _axes(axis, len(shape)):
        shape[ax] = 1
    return tuple(shape)


def _sum_jvp(t, out, a, axis=None, keepdims=False):
    return sum(t[0], axis=axis, keepdims=keepdims)


def _extreme_jvp(t, out, a, axis=None, keepdims=False):
    # the tangent at the arg-max (ties averaged): a weighted sum with constant weights
    A = raw(a)
    mask = (A == np.reshape(raw(out), _kd_shape(a, axis))).astype(A.dtype)
    mask /= mask.sum(axis=_axes(axis, A.ndim), keepdims=True)
    return sum(t[0] * mask, axis=axis, keepdims=keepdims)


def _norm_jvp(t, out, a, axis=None, keepdims=False):
    # d‖a‖ = ⟨a, da⟩ / ‖a‖ (0 where ‖a‖ = 0)
    pos = raw(out) > 0
    return sum(a * t[0], axis=axis, keepdims=keepdims) / E.where(pos, out, 1.0) * pos


def _logsumexp_jvp(t, out, a, axis=None, keepdims=False):
    # d lse = Σ softmax(a) da
    soft = E.exp(a - S.reshape(out, _kd_shape(a, axis)))
    return sum(t[0] * soft, axis=axis, keepdims=keepdims)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


sum_op = primitive("sum", lambda a, axis=None, keepdims=False: np.add.reduce(
    np.asarray(a), axis=axis, keepdims=keepdims), (
    # d Σa/da = 1, spread over the reduced axes
    lambda g, out, a, axis=None, keepdims=False: _expand(g, a, axis, keepdims),
), linear=True, jvp=_sum_jvp)


def sum(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(sum_op, operand(a), axis=_axis(axis), keepdims=keepdims)


max_op = primitive("max", lambda a, axis=None, keepdims=False: np.max(a, axis=axis,
                                                                       keepdims=keepdims),
                   (_extreme_vjp,), jvp=_extreme_jvp)


def max(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(max_op, operand(a), axis=_axis(axis), keepdims=keepdims)


min_op = primitive("min", lambda a, axis=None, keepdims=False: np.min(a, axis=axis,
                                                                       keepdims=keepdims),
                   (_extreme_vjp,), jvp=_extreme_jvp)


def min(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(min_op, operand(a), axis=_axis(axis), keepdims=keepdims)


norm_op = primitive("norm", _norm, (_norm_vjp,), jvp=_norm_jvp)


def norm(a, axis=None, keepdims=False) -> Tensor:
    """Euclidean norm over ``axis`` (all axes by default); its gradient at 0 is 0."""
    return apply(norm_op, operand(a), axis=_axis(axis), keepdims=keepdims)


logsumexp_op = primitive("logsumexp", _logsumexp, (_logsumexp_vjp,), jvp=_logsumexp_jvp)


def logsumexp(a, axis=None, keepdims=False) -> Tensor:
    """log Σ exp(a), stable: ``logsumexp([1000, 1000]) = 1000 + log 2``."""
    return apply(logsumexp_op, operand(a), axis=_axis(axis), keepdims=keepdims)


def _others(a, axis):
    """Product of the other elements along the reduced axes (exact with zeros: the
    exclusive products from the left and from the right, no division)."""
    axes = _axes(axis, a.ndim)
    rest = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
    return np.transpose((left * right).reshape(moved.shape), np.argsort(rest + list(axes)))


def _others_fe(a, axis) -> Tensor:
    """:func:`_others` with engine functions (differentiable again, for hvp): row i of an
    m × m copy has a_i replaced by 1, and its product is Π_{j≠i} a_j. O(m²) memory, so
    used only where an element is 0."""
    nd = len(shape_of(a))
    axes = _axes(axis, nd)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    moved = S.transpose(a, perm)
    lead = moved.shape[:nd - len(axes)]
    m = int(np.prod(moved.shape[nd - len(axes):]))
    rows = S.broadcast_to(S.reshape(moved, lead + (1, m)), lead + (m, m))
    oth = prod(E.where(np.eye(m, dtype=bool), 1.0, rows), axis=-1)
    return S.transpose(S.reshape(oth, moved.shape), [int(i) for i in np.argsort(perm)])


def _prod_jvp(t, out, a, axis=None, keepdims=False):
    # d Π a = Σ da · Π(others); out / a where no element is 0, else the products of the others
    if np.all(raw(a) != 0):
        return sum(t[0] * E.divide(S.reshape(out, _kd_shape(a, axis)), a), axis=axis,
                   keepdims=keepdims)
    return sum(t[0] * _others_fe(a, axis), axis=axis, keepdims=keepdims)


prod_op = primitive("prod", lambda a, axis=None, keepdims=False: np.prod(
    a, axis=axis, keepdims=keepdims), (
    # d Π a / da_i = Π_{j≠i} a_j
    lambda g, out, a, axis=None, keepdims=False: _expand(g, a, axis, keepdims) * _others(a, axis),
), jvp=_prod_jvp)


def prod(a, axis=None, keepdims=False) -> Tensor:
    return apply(prod_op, operand(a), axis=_axis(axis), keepdims=keepdims)


def _cumsum_vjp(g, out, a, axis=None):
    # adjoint of a running sum: the running sum from the end
    if axis is None:
        return np.cumsum(g[::-1])[::-1].reshape(a.shape)
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


cumsum_op = primitive("cumsum", lambda a, axis=None: np.cumsum(a, axis=axis), (_cumsum_vjp,),
                      linear=True)


def cumsum(a, axis=None) -> Tensor:
    """Running sum along ``axis`` (over the flattened array by default, as numpy)."""
    return apply(cumsum_op, operand(a), axis=axis)


# -- composites (no derivative code of their own) -------------------------------------------
def _count(a, axis) -> int:
    shape = shape_of(a)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    return int(np.prod([shape[i] for i in axes]))


def _nonempty(name, a, axis, n) -> int:
    # numpy returns nan with a warning; in a fit that nan surfaces far away, so say it here
    if n <= 0:
        where = "" if axis is None else f" along axis {axis}"
        raise EngineError(f"{name}: no elements to average{where} (shape {shape_of(a)})")
    return n


def mean(a, axis=None, keepdims=False) -> Tensor:
    axis = _axis(axis)
    n = _nonempty("mean", a, axis, _count(a, axis))
    return sum(a, axis=axis, keepdims=keepdims) * (1.0 / n)


def var(a, axis=None, keepdims=False, ddof=0) -> Tensor:
    axis = _axis(axis)
    n = _nonempty("var", a, axis, _count(a, axis) - ddof)
    d = E.subtract(a, mean(a, axis=axis, keepdims=True))
    return sum(d * d, axis=axis, keepdims=keepdims) * (1.0 / n)


def std(a, axis=None, keepdims=False, ddof=0) -> Tensor:
    return E.sqrt(var(a, axis=axis, keepdims=keepdims, ddof=ddof))


def log_softmax(a, axis=-1) -> Tensor:
    return E.subtract(a, logsumexp(a, axis=axis, keepdims=True))


def softmax(a, axis=-1) -> Tensor:
    return E.exp(log_softmax(a, axis=axis))


# -- gradient-check cases ----------------------------------------------------------------
def _reductions(rng, op, fn) -> list[Case]:
    cases = []
    for shape, axis, keep in [((5,), None, False), ((3, 4), None, True), ((3, 4), 0, False),
                              ((3, 4), 1, True), ((3, 4), -1, False), ((2, 3, 4), (0, 2), False),
                              ((2, 3, 4), 1, True), ((), None, False)]:
        cases.append(Case(op, C.label(shape, axis=axis, keepdims=keep),
                          lambda a, axis=axis, keep=keep: fn(a, axis=axis, keepdims=keep),
                          (C.normal(rng, shape),)))
    return cases


def gradcheck_cases(rng) -> list[Case]:
    """Each reduction over several axes, with and without keepdims."""
    cases = [c for name, fn in [("sum", sum), ("max", max), ("min", min), ("norm", norm),
                                ("logsumexp", logsumexp), ("prod", prod)]
             for c in _reductions(rng, name, fn)]
    with_zero = np.array([[1.5, 0.0, -2.0], [0.5, -1.0, 2.0]])
    cases += [Case("prod", C.label((2, 3), axis=ax) + " with a 0", lambda a, ax=ax: prod(a, ax),
                   (with_zero,)) for ax in (None, 0, 1)]
    cases += [Case("cumsum", C.label(s, axis=ax), lambda a, ax=ax: cumsum(a, ax),
                   (C.normal(rng, s),)) for s, ax in [((5,), None), ((3, 4), None), ((3, 4), 0),
                                                      ((2, 3, 4), -1)]]
    cases += [C.composite("std", C.label((3, 4), axis=ax, ddof=d),
                          lambda a, ax=ax, d=d: std(a, ax, ddof=d), (C.normal(rng, (3, 4)),))
              for ax, d in [(None, 0), (0, 1), (1, 0)]]
    for name, fn in (("max", max), ("min", min)):
        cases += [Case(name, C.label((4, 5), axis=axis) + " ties",
                       lambda a, fn=fn, axis=axis: fn(a, axis=axis), (_tied(rng, axis),),
                       kink=True) for axis in (None, 0, 1)]
    return cases


def _tied(rng, axis):
    """A (4, 5) point whose maximum and minimum along ``axis`` (over all: None) are each
    tied twice: central differences see the documented ½ share."""
    x = rng.standard_normal((4, 5))
    x = (x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)).copy()
    top = np.argsort(x, axis=-1)
    np.put_along_axis(x, top[..., -2:-1], np.take_along_axis(x, top[..., -1:], -1), -1)
    np.put_along_axis(x, top[..., 1:2], np.take_along_axis(x, top[..., :1], -1), -1)
    return x.reshape(4, 5) if axis is None else np.moveaxis(x, -1, axis)
