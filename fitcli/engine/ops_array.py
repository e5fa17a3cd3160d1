"""numpy's array-manipulation vocabulary, composed from the movement primitives of
:mod:`ops_shape` (getitem with index arrays, reshape, transpose, concatenate, stack,
broadcast) and constant masks, so none needs derivative code of its own: vstack,
hstack, dstack, column_stack, split, array_split, repeat, tile, moveaxis,
expand_dims, squeeze, ravel, flip, roll, take, take_along_axis, sort, diag, diagonal,
trace, tril, triu, select, ``pad`` with numpy's modes; and the family's cases.

Index arrays are computed once on the raw shapes; the gradient of an index selection
is the zero-filled scatter of getitem (repeated indices accumulate).
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from . import ops_elementwise as E
from . import ops_reduce as R
from . import ops_shape as S
from ._common import raw
from .cases import Case
from .op import EngineError
from .tensor import Tensor, operand, shape_of

__all__ = ["array_split", "atleast_1d", "atleast_2d", "atleast_3d", "column_stack", "diag",
           "diagonal", "dstack", "expand_dims", "flip", "hstack", "moveaxis", "ravel", "repeat",
           "roll", "select", "sort", "split", "squeeze", "take", "take_along_axis", "tile",
           "trace", "tril", "triu", "vstack"]


def _nd(a) -> int:
    return len(shape_of(a))


def _along(a, idx, axis) -> Tensor:
    """``a`` indexed by the integer array ``idx`` along ``axis`` (numpy's ``take``)."""
    axis = axis % _nd(a)
    return S.getitem(a, (slice(None),) * axis + (np.asarray(idx),))


def ravel(a) -> Tensor:
    return S.reshape(a, -1)


def expand_dims(a, axis) -> Tensor:
    return S.reshape(a, np.expand_dims(np.empty(shape_of(a), bool), axis).shape)


def squeeze(a, axis=None) -> Tensor:
    return S.reshape(a, np.squeeze(np.empty(shape_of(a), bool), axis).shape)


def moveaxis(a, source, destination) -> Tensor:
    nd = _nd(a)
    src = [int(x) % nd for x in np.atleast_1d(source)]
    dst = [int(x) % nd for x in np.atleast_1d(destination)]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):   # numpy's own construction
        order.insert(d, s)
    return S.transpose(a, order)


def _atleast(a, n, where) -> Tensor:
    shape = shape_of(a)
    if len(shape) >= n:
        return operand(a)
    return S.reshape(a, where(shape))


def atleast_1d(a) -> Tensor:
    return _atleast(a, 1, lambda s: (1,))


def atleast_2d(a) -> Tensor:
    return _atleast(a, 2, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(a) -> Tensor:
    return _atleast(a, 3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)])


def vstack(arrays) -> Tensor:
    return S.concatenate([_atleast(a, 2, lambda s: (1,) + s + (1,) * (1 - len(s)))
                          for a in arrays], axis=0)


def hstack(arrays) -> Tensor:
    arrays = [_atleast(a, 1, lambda s: (1,)) for a in arrays]
    return S.concatenate(arrays, axis=0 if _nd(arrays[0]) == 1 else 1)


def dstack(arrays) -> Tensor:
    def three(s):
        return {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
    return S.concatenate([_atleast(a, 3, three) for a in arrays], axis=2)


def column_stack(arrays) -> Tensor:
    return S.concatenate([_atleast(a, 2, lambda s: s + (1,) if s else (1, 1)) for a in arrays],
                         axis=1)


def _split(a, bounds, axis) -> list[Tensor]:
    axis = axis % _nd(a)
    pre = (slice(None),) * axis
    return [S.getitem(a, pre + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:],
                                                                    strict=True)]


def _bounds(parts, n):
    return [0] + list(np.cumsum([p.size for p in parts]))


def array_split(a, indices_or_sections, axis=0) -> list[Tensor]:
    n = shape_of(a)[axis]
    return _split(a, _bounds(np.array_split(np.arange(n), indices_or_sections), n), axis)


def split(a, indices_or_sections, axis=0) -> list[Tensor]:
    n = shape_of(a)[axis]
    if np.isscalar(indices_or_sections) and n % int(indices_or_sections):
        raise EngineError(f"split: {n} elements along axis {axis} do not divide into "
                          f"{indices_or_sections} equal parts (array_split allows that)")
    return _split(a, _bounds(np.array_split(np.arange(n), indices_or_sections), n), axis)


def repeat(a, repeats, axis=None) -> Tensor:
    if axis is None:
        a, axis = ravel(a), 0
    n = shape_of(a)[axis]
    return _along(a, np.repeat(np.arange(n), repeats), axis)


def tile(a, reps) -> Tensor:
    reps = (reps,) if np.isscalar(reps) else tuple(reps)
    shape = shape_of(a)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    idx = np.ix_(*[np.tile(np.arange(n), r) for n, r in zip(shape, reps, strict=True)])
    return S.getitem(S.reshape(a, shape), idx)


def flip(a, axis=None) -> Tensor:
    axes = range(_nd(a)) if axis is None else [axis] if np.isscalar(axis) else axis
    index = [slice(None)] * _nd(a)
    for ax in axes:
        index[ax] = slice(None, None, -1)
    return S.getitem(a, tuple(index))


def roll(a, shift, axis=None) -> Tensor:
    if axis is None:
        return S.reshape(roll(ravel(a), shift, 0), shape_of(a))
    n = shape_of(a)[axis]
    return _along(a, np.roll(np.arange(n), shift), axis)


def take(a, indices, axis=None) -> Tensor:
    if axis is None:
        return S.getitem(ravel(a), np.asarray(indices))
    return _along(a, indices, axis)


def take_along_axis(a, indices, axis) -> Tensor:
    shape = shape_of(a)
    axis = axis % len(shape)
    grids = list(np.ix_(*[np.arange(n) for n in np.shape(indices)]))
    grids[axis] = np.asarray(indices)
    return S.getitem(a, tuple(grids))


def sort(a, axis=-1) -> Tensor:
    """Sorted along ``axis``; the gradient follows each element to its place (ties: the
    stable order)."""
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, np.argsort(raw(a), axis=axis, kind="stable"), axis)


def diagonal(a, offset=0, axis1=0, axis2=1) -> Tensor:
    shape = shape_of(a)
    i = np.arange(np.diagonal(np.empty(shape[axis1:axis1 + 1] + shape[axis2:axis2 + 1]),
                              offset).size)
    r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
    moved = moveaxis(a, (axis1, axis2), (-2, -1))
    return S.getitem(moved, (Ellipsis, r, c))


def trace(a, offset=0, axis1=0, axis2=1) -> Tensor:
    return R.sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diag(v, k=0) -> Tensor:
    """The k-th diagonal of a matrix, or the matrix with vector v on its k-th diagonal."""
    if _nd(v) == 2:
        return diagonal(v, k)
    if _nd(v) != 1:
        raise EngineError(f"diag: needs a 1-d or 2-d input, got shape {shape_of(v)}")
    n = shape_of(v)[0]
    square = E.multiply(np.eye(n, dtype=bool), v)        # v_j at (j, j)
    pw = ((0, k), (k, 0)) if k >= 0 else ((-k, 0), (0, -k))
    return S.pad(square, pw) if k else square


def tril(m, k=0) -> Tensor:
    shape = shape_of(m)
    return E.multiply(m, np.tri(shape[-2], shape[-1], k, dtype=bool))


def triu(m, k=0) -> Tensor:
    shape = shape_of(m)
    return E.multiply(m, ~np.tri(shape[-2], shape[-1], k - 1, dtype=bool))


def select(condlist, choicelist, default=0.0) -> Tensor:
    """The first choice whose condition holds, elementwise (conditions not differentiated)."""
    out = operand(default)
    for cond, choice in zip(reversed(condlist), reversed(choicelist), strict=True):
        out = E.where(raw(cond), choice, out)
    return out if isinstance(out, Tensor) else Tensor(out)


def gradcheck_cases(rng) -> list[Case]:
    """Each composition once or twice: the movement primitives underneath have their own."""
    n, K = C.normal, C.composite
    x34, x234 = n(rng, (3, 4)), n(rng, (2, 3, 4))
    cond = [x34 > 0.5, x34 < -0.5]
    return [
        K("vstack", "(4,) (3, 4)", lambda a, b: vstack([a, b]), (n(rng, (4,)), x34)),
        K("hstack", "(3, 2) (3, 4)", lambda a, b: hstack([a, b]), (n(rng, (3, 2)), x34)),
        K("dstack", "(3, 4) x2", lambda a, b: dstack([a, b]), (x34, n(rng, (3, 4)))),
        K("column_stack", "(3,) (3, 2)", lambda a, b: column_stack([a, b]),
             (n(rng, (3,)), n(rng, (3, 2)))),
        K("split", "(3, 4) 2 axis=1", lambda a: split(a, 2, axis=1)[1] * 2.0, (x34,)),
        K("array_split", "(5,) 3", lambda a: array_split(a, 3)[0], (n(rng, (5,)),)),
        K("repeat", "(3, 4) [1, 0, 2] axis=0", lambda a: repeat(a, [1, 0, 2], axis=0), (x34,)),
        K("repeat", "(3,) 2", lambda a: repeat(a, 2), (n(rng, (3,)),)),
        K("tile", "(3,) (2, 2)", lambda a: tile(a, (2, 2)), (n(rng, (3,)),)),
        K("moveaxis", "(2, 3, 4) 0 -> -1", lambda a: moveaxis(a, 0, -1), (x234,)),
        K("squeeze", "(3, 1, 4)", squeeze, (n(rng, (3, 1, 4)),)),
        K("flip", "(3, 4) axis=1", lambda a: flip(a, 1), (x34,)),
        K("roll", "(2, 3, 4) 2 axis=2", lambda a: roll(a, 2, 2), (x234,)),
        K("take_along_axis", "(3, 4)", lambda a: take_along_axis(
            a, np.array([[0, 3], [1, 1], [2, 0]]), 1), (x34,)),
        K("sort", "(3, 4) axis=-1", sort, (x34,)),
        K("sort", "(2, 3, 4) axis=0", lambda a: sort(a, 0), (x234,)),
        K("diag", "(4,) k=1", lambda a: diag(a, 1), (n(rng, (4,)),)),
        K("diag", "(3, 4) k=-1", lambda a: diag(a, -1), (x34,)),
        K("trace", "(4, 4)", trace, (n(rng, (4, 4)),)),
        K("trace", "(2, 3, 4) axis1=1 axis2=2", lambda a: trace(a, 0, 1, 2), (x234,)),
        K("tril", "(3, 4)", tril, (x34,)),
        K("triu", "(3, 4) k=1", lambda a: triu(a, 1), (x34,)),
        K("select", "(3, 4) 2 conditions", lambda a, b: select(cond, [a, b]),
             (x34, n(rng, (3, 4)))),
    ]
