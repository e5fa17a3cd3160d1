"""Reductions: sum, max, min, norm and logsumexp, each with ``axis`` and ``keepdims``.

The VJP of a reduction re-expands the cotangent over the reduced axes
(:func:`_expand`). Ties of max/min share the gradient evenly; the norm's
gradient at 0 is 0. ``logsumexp`` is a primitive rather than a composition
for numerical stability (shifted by the max, no overflow) and speed (its VJP
is the softmax, computed once).
"""

from __future__ import annotations

import numpy as np

from ._jvp import raw
from .tensor import Op


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
    return F.sum(t[0], axis=axis, keepdims=keepdims)


def _extreme_jvp(t, out, a, axis=None, keepdims=False):
    # the tangent at the arg-max (ties averaged): a weighted sum with constant weights
    A = raw(a)
    mask = (A == np.reshape(raw(out), _kd_shape(a, axis))).astype(A.dtype)
    mask /= mask.sum(axis=_axes(axis, A.ndim), keepdims=True)
    return F.sum(t[0] * mask, axis=axis, keepdims=keepdims)


def _norm_jvp(t, out, a, axis=None, keepdims=False):
    # d‖a‖ = ⟨a, da⟩ / ‖a‖ (0 where ‖a‖ = 0)
    pos = raw(out) > 0
    return F.sum(a * t[0], axis=axis, keepdims=keepdims) / F.where(pos, out, 1.0) * pos


def _logsumexp_jvp(t, out, a, axis=None, keepdims=False):
    # d lse = Σ softmax(a) da
    soft = F.exp(a - F.reshape(out, _kd_shape(a, axis)))
    return F.sum(t[0] * soft, axis=axis, keepdims=keepdims)


sum_ = Op("sum", lambda a, axis=None, keepdims=False: np.add.reduce(np.asarray(a), axis=axis,
                                                                     keepdims=keepdims), (
    # d Σa/da = 1, spread over the reduced axes
    lambda g, out, a, axis=None, keepdims=False: _expand(g, a, axis, keepdims),
), linear=True, jvp=_sum_jvp)
max_ = Op("max", lambda a, axis=None, keepdims=False: np.max(a, axis=axis, keepdims=keepdims),
          (_extreme_vjp,), jvp=_extreme_jvp)
min_ = Op("min", lambda a, axis=None, keepdims=False: np.min(a, axis=axis, keepdims=keepdims),
          (_extreme_vjp,), jvp=_extreme_jvp)
norm = Op("norm", _norm, (_norm_vjp,), jvp=_norm_jvp)
logsumexp = Op("logsumexp", _logsumexp, (_logsumexp_vjp,), jvp=_logsumexp_jvp)

OPS = [sum_, max_, min_, norm, logsumexp]

from . import functions as F  # noqa: E402  (rules call engine functions at run time)
