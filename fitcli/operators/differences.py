"""Forward finite differences ∇ (Neumann boundary) and their adjoint −div.

``gradient``: (H, W[, C]) → (2, H, W[, C]) with

    (∇x)[0, i, j] = x[i+1, j] − x[i, j]   (0 on the last row)
    (∇x)[1, i, j] = x[i, j+1] − x[i, j]   (0 on the last column)

The adjoint ∇ᵀp = −div p is the backward difference with the matching
boundary terms (Chambolle 2004), so ⟨∇x, p⟩ = ⟨x, ∇ᵀp⟩ exactly.
"""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Op, Tensor


def _check(shape: tuple) -> None:
    if len(shape) not in (2, 3):
        raise ValueError(f"gradient: expected an image (H, W) or (H, W, C), got shape {shape}")


def gradient_array(x: np.ndarray) -> np.ndarray:
    """∇x, shape (2,) + x.shape, Neumann boundary (zero difference past the last pixel)."""
    _check(x.shape)
    g = np.zeros((2,) + x.shape, dtype=x.dtype)
    np.subtract(x[1:], x[:-1], out=g[0, :-1])
    np.subtract(x[:, 1:], x[:, :-1], out=g[1, :, :-1])
    return g


def gradient_adjoint(p: np.ndarray) -> np.ndarray:
    """∇ᵀp = −div p for p of shape (2, H, W[, C]) (the last row / column of p is ignored,
    as ∇ sets it to zero)."""
    if p.ndim not in (3, 4) or p.shape[0] != 2:
        raise ValueError(f"gradient adjoint: expected shape (2, H, W[, C]), got {p.shape}")
    out = np.zeros(p.shape[1:], dtype=p.dtype)
    # rows: d/dx[i] of Σ p0[i](x[i+1]-x[i]) = p0[i-1] - p0[i]
    out[:-1] -= p[0, :-1]
    out[1:] += p[0, :-1]
    out[:, :-1] -= p[1, :, :-1]
    out[:, 1:] += p[1, :, :-1]
    return out


def divergence_array(p: np.ndarray) -> np.ndarray:
    """div p = −∇ᵀp."""
    out = gradient_adjoint(p)
    np.negative(out, out=out)
    return out


GRADIENT = fe.register(Op(
    "gradient",
    lambda x: gradient_array(x),
    (lambda g, out, x: gradient_adjoint(g),),          # ∇ᵀ = −div
    linear=True,
    doc="forward differences with Neumann boundary, (H, W[, C]) -> (2, H, W[, C])",
))
DIVERGENCE = fe.register(Op(
    "divergence",
    lambda p: divergence_array(p),
    (lambda g, out, p: -gradient_array(g),),           # divᵀ = −∇
    linear=True,
    doc="divergence, the negative adjoint of gradient, (2, H, W[, C]) -> (H, W[, C])",
))


def gradient(x) -> Tensor:
    """∇x of an image Tensor: (H, W[, C]) → (2, H, W[, C])."""
    return fe.apply(GRADIENT, x)


def divergence(p) -> Tensor:
    """div p of a Tensor (2, H, W[, C]) → (H, W[, C])."""
    return fe.apply(DIVERGENCE, p)
