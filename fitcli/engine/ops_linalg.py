"""Linear algebra: matmul for 1-d, 2-d and batched (broadcast) operands, beside its
public functions (``matmul``, ``dot``) and its gradient-check cases.

For C = A B: gA = G Bᵀ, gB = Aᵀ G over the last two axes; a 1-d operand is
treated as a row (left) or column (right) vector and the extra axis removed
again; batch axes that broadcasting added are summed back by the sweep.
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from ._common import on, tsum
from .cases import Case
from .op import primitive
from .tensor import Tensor, apply, operand

__all__ = ["dot", "matmul"]


def _matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs operands of at least one dimension")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"inner dimensions differ ({ka} != {kb})")
    return np.matmul(a, b)


def _swap(x):
    return x.T if x.ndim == 2 else np.swapaxes(x, -1, -2)


def _matmul_vjp_a(g, out, a, b):
    # gA = G Bᵀ
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return g[..., None] * b                       # outer product per batch
    if a.ndim == 1:
        return (g[..., None, :] @ _swap(b))[..., 0, :]
    return g @ _swap(b)


def _matmul_vjp_b(g, out, a, b):
    # gB = Aᵀ G
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a[:, None] * g[..., None, :]           # outer product per batch
    if b.ndim == 1:
        return (_swap(a) @ g[..., None])[..., 0]
    return _swap(a) @ g


matmul_op = primitive("matmul", _matmul, (_matmul_vjp_a, _matmul_vjp_b),
                      # d(AB) = dA B + A dB
                      jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: matmul(ta, b)),
                                                    on(t[1], lambda tb: matmul(a, tb))))


def matmul(a, b) -> Tensor:
    return apply(matmul_op, operand(a), operand(b))


def dot(a, b) -> Tensor:
    return matmul(a, b)


def gradcheck_cases(rng) -> list[Case]:
    """Vector, matrix and batched operands, with broadcast batch axes."""
    pairs = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
             ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
             ((2, 3, 4), (4,)), ((4,), (2, 4, 5)),
             # square: a transpose missing from a rule keeps the shapes right only here
             ((4, 4), (4, 4)), ((2, 3, 3), (3, 3)), ((3, 3), (2, 3, 3)), ((3, 3), (3,)),
             ((3,), (3, 3))]
    return [Case("matmul", C.label(a, b), matmul, (C.normal(rng, a), C.normal(rng, b)))
            for a, b in pairs]
