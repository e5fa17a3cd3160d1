"""Movement primitives: reshape, transpose, broadcast_to, getitem, concatenate, stack, pad.

All are linear; each VJP is the adjoint movement (reshape ↔ reshape back,
transpose ↔ inverse permutation, broadcast ↔ sum, slice ↔ zero-filled
scatter, concatenate ↔ split, pad ↔ crop).
"""

from __future__ import annotations

import numpy as np

from ._jvp import raw
from .tensor import Op


def _transpose(a, axes=None):
    return np.transpose(a, axes)


def _transpose_vjp(g, out, a, axes=None):
    # adjoint of a permutation is its inverse
    return np.transpose(g, None if axes is None else np.argsort(axes))


def _is_basic(index) -> bool:
    """True when indexing selects each element at most once (no integer arrays)."""
    items = index if isinstance(index, tuple) else (index,)
    for it in items:
        if it is None or it is Ellipsis or isinstance(it, (slice, int, np.integer)):
            continue
        arr = np.asarray(it)
        if arr.dtype != bool:
            return False
    return True


def _getitem_vjp(g, out, a, index):
    # scatter g into zeros; repeated integer indices accumulate (np.add.at)
    grad = np.zeros_like(a, dtype=g.dtype)
    if _is_basic(index):
        grad[index] = g
    else:
        np.add.at(grad, index, g)
    return grad


def _concat_vjp(i, g, out, *arrays, axis=0):
    # the i-th block of g along axis
    start = sum(a.shape[axis] for a in arrays[:i])
    sl = [slice(None)] * g.ndim
    sl[axis] = slice(start, start + arrays[i].shape[axis])
    return g[tuple(sl)]


def _stack_vjp(i, g, out, *arrays, axis=0):
    return np.take(g, i, axis=axis)


def _pad(a, pad_width, constant_values=0.0):
    return np.pad(a, pad_width, mode="constant", constant_values=constant_values)


def _pad_vjp(g, out, a, pad_width, constant_values=0.0):
    # crop the padding away
    pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (a.ndim, 2))
    return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(pw, a.shape, strict=True))]


def _with_zeros(t, arrays):
    # missing tangents of variadic inputs are zeros of the input's shape
    return [np.zeros_like(raw(a)) if ti is None else ti for ti, a in zip(t, arrays, strict=True)]


reshape = Op("reshape", lambda a, shape: np.reshape(a, shape), (
    lambda g, out, a, shape: np.reshape(g, a.shape),
), linear=True, jvp=lambda t, out, a, shape: F.reshape(t[0], shape))
transpose = Op("transpose", _transpose, (_transpose_vjp,), linear=True,
               jvp=lambda t, out, a, axes=None: F.transpose(t[0], axes))
broadcast_to = Op("broadcast_to", lambda a, shape: np.broadcast_to(a, shape), (
    lambda g, out, a, shape: g,                  # summed back by the sweep's unbroadcast
), linear=True, jvp=lambda t, out, a, shape: F.broadcast_to(t[0], shape))
getitem = Op("getitem", lambda a, index: a[index], (_getitem_vjp,), linear=True,
             jvp=lambda t, out, a, index: F.getitem(t[0], index))
concatenate = Op("concatenate", lambda *arrays, axis=0: np.concatenate(arrays, axis=axis),
                 vjp_var=_concat_vjp, linear=True,
                 jvp=lambda t, out, *arrays, axis=0: F.concatenate(_with_zeros(t, arrays), axis))
stack = Op("stack", lambda *arrays, axis=0: np.stack(arrays, axis=axis),
           vjp_var=_stack_vjp, linear=True,
           jvp=lambda t, out, *arrays, axis=0: F.stack(_with_zeros(t, arrays), axis))
pad = Op("pad", _pad, (_pad_vjp,), linear=True,
         jvp=lambda t, out, a, pad_width, constant_values=0.0: F.pad(t[0], pad_width))

OPS = [reshape, transpose, broadcast_to, getitem, concatenate, stack, pad]

from . import functions as F  # noqa: E402  (rules call engine functions at run time)
