"""The numpy-like public functions: primitives applied through the table, and composites.

Every function takes Tensors, numpy arrays or Python numbers in any position
and returns a Tensor. Composites (mean, var, softmax, log_softmax, ...) are
compositions of primitives and need no derivative code of their own.
"""

from __future__ import annotations

import numpy as np

from . import ops_elementwise as E
from . import ops_linalg as L
from . import ops_reduce as R
from . import ops_shape as S
from .tensor import Tensor, apply


def _c(x):
    """Operand as given to an op: Tensors as is, numpy scalars as Python numbers.

    Python numbers are "weak" in numpy's promotion rules, so a float32 tensor
    times 0.5 stays float32 (no silent upcast).
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (int, float, bool)):
        return x
    return np.asarray(x)


# -- arithmetic ---------------------------------------------------------------------
def add(a, b) -> Tensor:
    return apply(E.add, _c(a), _c(b))


def subtract(a, b) -> Tensor:
    return apply(E.subtract, _c(a), _c(b))


def multiply(a, b) -> Tensor:
    return apply(E.multiply, _c(a), _c(b))


def divide(a, b) -> Tensor:
    return apply(E.divide, _c(a), _c(b))


def negative(a) -> Tensor:
    return apply(E.negative, _c(a))


def power(a, b) -> Tensor:
    return apply(E.power, _c(a), _c(b))


def matmul(a, b) -> Tensor:
    a, b = _c(a), _c(b)
    return apply(L.matmul, a, b)


# -- elementwise functions ------------------------------------------------------------
def exp(a) -> Tensor:
    return apply(E.exp, _c(a))


def log(a) -> Tensor:
    return apply(E.log, _c(a))


def log1p(a) -> Tensor:
    return apply(E.log1p, _c(a))


def sqrt(a) -> Tensor:
    return apply(E.sqrt, _c(a))


def abs(a) -> Tensor:  # noqa: A001  (numpy's name)
    return apply(E.abs_, _c(a))


def clip(a, a_min=None, a_max=None) -> Tensor:
    return apply(E.clip, _c(a), a_min=a_min, a_max=a_max)


def tanh(a) -> Tensor:
    return apply(E.tanh, _c(a))


def sigmoid(a) -> Tensor:
    return apply(E.sigmoid, _c(a))


def relu(a) -> Tensor:
    return apply(E.relu, _c(a))


def softplus(a) -> Tensor:
    """log(1 + eˣ), computed without overflow."""
    return apply(E.softplus, _c(a))


def maximum(a, b) -> Tensor:
    return apply(E.maximum, _c(a), _c(b))


def minimum(a, b) -> Tensor:
    return apply(E.minimum, _c(a), _c(b))


def where(condition, a, b) -> Tensor:
    """Elements of a where condition holds, else of b; the condition is not differentiated."""
    return apply(E.where, _c(a), _c(b), condition=np.asarray(condition, dtype=bool))


def astype(a, dtype) -> Tensor:
    return apply(E.astype, _c(a), dtype=np.dtype(dtype))


# -- reductions -------------------------------------------------------------------------
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(R.sum_, _c(a), axis=_axis(axis), keepdims=keepdims)


def max(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(R.max_, _c(a), axis=_axis(axis), keepdims=keepdims)


def min(a, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    return apply(R.min_, _c(a), axis=_axis(axis), keepdims=keepdims)


def norm(a, axis=None, keepdims=False) -> Tensor:
    """Euclidean norm over ``axis`` (all axes by default); its gradient at 0 is 0."""
    return apply(R.norm, _c(a), axis=_axis(axis), keepdims=keepdims)


def logsumexp(a, axis=None, keepdims=False) -> Tensor:
    """log Σ exp(a), stable: ``logsumexp([1000, 1000]) = 1000 + log 2``."""
    return apply(R.logsumexp, _c(a), axis=_axis(axis), keepdims=keepdims)


def _count(a, axis) -> int:
    shape = np.shape(a.data if isinstance(a, Tensor) else a)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    return int(np.prod([shape[i] for i in axes]))


def mean(a, axis=None, keepdims=False) -> Tensor:
    axis = _axis(axis)
    return sum(a, axis=axis, keepdims=keepdims) * (1.0 / _count(a, axis))


def var(a, axis=None, keepdims=False, ddof=0) -> Tensor:
    axis = _axis(axis)
    d = subtract(a, mean(a, axis=axis, keepdims=True))
    return sum(d * d, axis=axis, keepdims=keepdims) * (1.0 / (_count(a, axis) - ddof))


def log_softmax(a, axis=-1) -> Tensor:
    return subtract(a, logsumexp(a, axis=axis, keepdims=True))


def softmax(a, axis=-1) -> Tensor:
    return exp(log_softmax(a, axis=axis))


# -- movement ----------------------------------------------------------------------------
def reshape(a, shape) -> Tensor:
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    return apply(S.reshape, _c(a), shape=shape)


def transpose(a, axes=None) -> Tensor:
    return apply(S.transpose, _c(a), axes=None if axes is None else tuple(axes))


def permute(a, axes) -> Tensor:
    return transpose(a, axes)


def swapaxes(a, axis1, axis2) -> Tensor:
    axes = list(range(np.ndim(a.data if isinstance(a, Tensor) else a)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def broadcast_to(a, shape) -> Tensor:
    return apply(S.broadcast_to, _c(a), shape=tuple(shape))


def _index(index):
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def getitem(a, index) -> Tensor:
    return apply(S.getitem, _c(a), index=_index(index))


def concatenate(arrays, axis=0) -> Tensor:
    return apply(S.concatenate, *[_c(x) for x in arrays], axis=axis)


def stack(arrays, axis=0) -> Tensor:
    return apply(S.stack, *[_c(x) for x in arrays], axis=axis)


def pad(a, pad_width, constant_values=0.0) -> Tensor:
    """Constant (zero by default) padding, numpy's ``pad_width`` convention."""
    pw = tuple(map(tuple, np.broadcast_to(np.asarray(pad_width, dtype=int),
                                          (np.ndim(a.data if isinstance(a, Tensor) else a), 2))))
    return apply(S.pad, _c(a), pad_width=pw, constant_values=constant_values)


def dot(a, b) -> Tensor:
    return matmul(a, b)


