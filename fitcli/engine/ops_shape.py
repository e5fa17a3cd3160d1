"""Movement primitives: reshape, transpose, broadcast_to, getitem, concatenate, stack, pad,
each beside its public function; the composites permute and swapaxes; the family's
gradient-check cases.

All are linear; each VJP is the adjoint movement (reshape ↔ reshape back,
transpose ↔ inverse permutation, broadcast ↔ sum, slice ↔ zero-filled
scatter, concatenate ↔ split, pad ↔ crop).
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from ._common import raw
from .cases import Case
from .op import EngineError, primitive
from .tensor import Tensor, apply, operand, shape_of

__all__ = ["broadcast_to", "concatenate", "getitem", "pad", "permute", "reshape", "stack",
           "swapaxes", "transpose"]


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


reshape_op = primitive("reshape", lambda a, shape: np.reshape(a, shape), (
    lambda g, out, a, shape: np.reshape(g, a.shape),
), linear=True, jvp=lambda t, out, a, shape: reshape(t[0], shape))


def reshape(a, shape) -> Tensor:
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    return apply(reshape_op, operand(a), shape=shape)


transpose_op = primitive("transpose", _transpose, (_transpose_vjp,), linear=True,
                         jvp=lambda t, out, a, axes=None: transpose(t[0], axes))


def transpose(a, axes=None) -> Tensor:
    return apply(transpose_op, operand(a), axes=None if axes is None else tuple(axes))


def permute(a, axes) -> Tensor:
    return transpose(a, axes)


def swapaxes(a, axis1, axis2) -> Tensor:
    axes = list(range(len(shape_of(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


broadcast_to_op = primitive("broadcast_to", lambda a, shape: np.broadcast_to(a, shape), (
    lambda g, out, a, shape: g,                  # summed back by the sweep's unbroadcast
), linear=True, jvp=lambda t, out, a, shape: broadcast_to(t[0], shape))


def broadcast_to(a, shape) -> Tensor:
    return apply(broadcast_to_op, operand(a), shape=tuple(shape))


getitem_op = primitive("getitem", lambda a, index: a[index], (_getitem_vjp,), linear=True,
                       jvp=lambda t, out, a, index: getitem(t[0], index))


def _index(index):
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(a, index) -> Tensor:
    return apply(getitem_op, operand(a), index=_index(index))


concatenate_op = primitive(
    "concatenate", lambda *arrays, axis=0: np.concatenate(arrays, axis=axis),
    vjp_var=_concat_vjp, linear=True,
    jvp=lambda t, out, *arrays, axis=0: concatenate(_with_zeros(t, arrays), axis))


def concatenate(arrays, axis=0) -> Tensor:
    return apply(concatenate_op, *[operand(x) for x in arrays], axis=axis)


stack_op = primitive("stack", lambda *arrays, axis=0: np.stack(arrays, axis=axis),
                     vjp_var=_stack_vjp, linear=True,
                     jvp=lambda t, out, *arrays, axis=0: stack(_with_zeros(t, arrays), axis))


def stack(arrays, axis=0) -> Tensor:
    return apply(stack_op, *[operand(x) for x in arrays], axis=axis)


pad_op = primitive("pad", _pad, (_pad_vjp,), linear=True,
                   jvp=lambda t, out, a, pad_width, constant_values=0.0: pad(t[0], pad_width))


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad(a, pad_width, mode="constant", *, constant_values=0.0) -> Tensor:
    """numpy's ``pad``: ``pad_width`` as numpy takes it; ``mode`` one of constant
    (``constant_values``, 0 by default), edge, reflect, symmetric, wrap. The
    non-constant modes are an index selection (numpy pads the index ranges), so the
    gradient of a repeated element accumulates."""
    nd = len(shape_of(a))
    pw = tuple(map(tuple, np.broadcast_to(np.asarray(pad_width, dtype=int), (nd, 2))))
    if mode == "constant":
        return apply(pad_op, operand(a), pad_width=pw, constant_values=constant_values)
    if mode not in _PAD_MODES:
        raise EngineError(f"pad: mode {mode!r} is not supported; use one of {_PAD_MODES}")
    idx = np.ix_(*[np.pad(np.arange(n), w, mode=mode) for n, w in zip(shape_of(a), pw,
                                                                       strict=True)])
    return getitem(a, idx)


# -- gradient-check cases ----------------------------------------------------------------
def gradcheck_cases(rng) -> list[Case]:
    """Reshapes, permutations, broadcasts, basic and advanced (repeated) indexing, joins, pads."""
    n = C.normal
    return [
        Case("reshape", "(3, 4) -> (4, 3)", lambda a: reshape(a, (4, 3)), (n(rng, (3, 4)),)),
        Case("reshape", "(2, 6) -> (12,)", lambda a: reshape(a, -1), (n(rng, (2, 6)),)),
        Case("reshape", "() -> (1, 1)", lambda a: reshape(a, (1, 1)), (n(rng, ()),)),
        Case("transpose", "(3, 4)", transpose, (n(rng, (3, 4)),)),
        Case("transpose", "(2, 3, 4) axes=(2, 0, 1)", lambda a: transpose(a, (2, 0, 1)),
             (n(rng, (2, 3, 4)),)),
        Case("broadcast_to", "(1, 4) -> (3, 4)", lambda a: broadcast_to(a, (3, 4)),
             (n(rng, (1, 4)),)),
        Case("broadcast_to", "(4,) -> (2, 3, 4)", lambda a: broadcast_to(a, (2, 3, 4)),
             (n(rng, (4,)),)),
        Case("broadcast_to", "(3, 1) -> (3, 4)", lambda a: broadcast_to(a, (3, 4)),
             (n(rng, (3, 1)),)),
        Case("broadcast_to", "() -> (2, 2)", lambda a: broadcast_to(a, (2, 2)), (n(rng, ()),)),
        Case("getitem", "(6,)[1:5:2]", lambda a: a[1:5:2], (n(rng, (6,)),)),
        Case("getitem", "(3, 4)[:, ::2]", lambda a: a[:, ::2], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[1]", lambda a: a[1], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[..., None, 2]", lambda a: a[..., None, 2], (n(rng, (3, 4)),)),
        Case("getitem", "(5,)[[0, 2, 0, 4, 2]] repeated", lambda a: a[[0, 2, 0, 4, 2]],
             (n(rng, (5,)),)),
        Case("getitem", "(3, 4)[[0, 2, 0], [1, 1, 1]] repeated",
             lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[mask]",
             lambda a: a[np.arange(12).reshape(3, 4) % 3 == 0], (n(rng, (3, 4)),)),
        Case("concatenate", "(2, 3) (4, 3) axis=0", lambda a, b: concatenate([a, b], axis=0),
             (n(rng, (2, 3)), n(rng, (4, 3)))),
        Case("concatenate", "(3, 1) (3, 2) (3, 4) axis=-1",
             lambda a, b, c: concatenate([a, b, c], axis=-1),
             (n(rng, (3, 1)), n(rng, (3, 2)), n(rng, (3, 4)))),
        Case("stack", "(3,) (3,) axis=0", lambda a, b: stack([a, b]),
             (n(rng, (3,)), n(rng, (3,)))),
        Case("stack", "(2, 3) x3 axis=2", lambda a, b, c: stack([a, b, c], axis=2),
             (n(rng, (2, 3)), n(rng, (2, 3)), n(rng, (2, 3)))),
        Case("pad", "(3,) ((1, 2),)", lambda a: pad(a, ((1, 2),)), (n(rng, (3,)),)),
        Case("pad", "(3, 4) ((0, 1), (2, 0)) value=1",
             lambda a: pad(a, ((0, 1), (2, 0)), constant_values=1.0), (n(rng, (3, 4)),)),
        *[Case("pad", f"(3, 4) ((2, 1), (1, 2)) {m}", lambda a, m=m: pad(a, ((2, 1), (1, 2)), m),
               (n(rng, (3, 4)),)) for m in _PAD_MODES[1:]],
    ]
