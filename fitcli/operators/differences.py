"""Forward finite differences ∇ (Neumann boundary) and their adjoint −div.

``gradient``: (H, W[, C]) → (2, H, W[, C]) with

    (∇x)[0, i, j] = x[i+1, j] − x[i, j]   (0 on the last row)
    (∇x)[1, i, j] = x[i, j+1] − x[i, j]   (0 on the last column)

The adjoint ∇ᵀp = −div p is the backward difference with the matching
boundary terms (Chambolle 2004), so ⟨∇x, p⟩ = ⟨x, ∇ᵀp⟩ exactly. ``magnitude``
is the per-pixel norm √(p₀² + p₁² + ε²) of such a field (the TV integrand).
"""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Tensor
from ..engine.extend import Case, primitive


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


def magnitude_array(p: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """√(p₀² + p₁² + ε²) per pixel of a field p (2, H, W[, C]) → (H, W[, C])."""
    if p.ndim not in (3, 4) or p.shape[0] != 2:
        raise ValueError(f"magnitude: expected shape (2, H, W[, C]), got {p.shape}")
    n = p[0] * p[0]
    n += p[1] * p[1]
    if eps:
        n += eps * eps
    return np.sqrt(n, out=n)


def _magnitude_vjp(g, out, p, eps=0.0):
    # ∂/∂p √(|p|² + ε²) = p / out; taken as 0 where out = 0 (|p| = 0 with ε = 0)
    if eps > 0:
        w = g / out
    else:
        w = np.divide(g, out, out=np.zeros(out.shape, dtype=np.result_type(g, out)),
                      where=out > 0)
    return p * w


GRADIENT = primitive(
    "gradient",
    lambda x: gradient_array(x),
    (lambda g, out, x: gradient_adjoint(g),),          # ∇ᵀ = −div
    linear=True,
    doc="forward differences with Neumann boundary, (H, W[, C]) -> (2, H, W[, C])",
)
DIVERGENCE = primitive(
    "divergence",
    lambda p: divergence_array(p),
    (lambda g, out, p: -gradient_array(g),),           # divᵀ = −∇
    linear=True,
    doc="divergence, the negative adjoint of gradient, (2, H, W[, C]) -> (H, W[, C])",
)


def _magnitude_jvp(t, out, p, eps=0.0):
    # d√(|p|² + ε²) = ⟨p, dp⟩ / out (0 where out = 0), in engine ops (reverse-over-forward)
    num = fe.sum(p * t[0], axis=0)
    if eps > 0:
        return num / out
    pos = out.data > 0
    return num / fe.where(pos, out, 1.0) * pos


MAGNITUDE = primitive(
    "magnitude",
    magnitude_array,
    (_magnitude_vjp,),
    jvp=_magnitude_jvp,
    doc="per-pixel norm sqrt(p0² + p1² + eps²) of a (2, H, W[, C]) field; static eps",
)


def gradient(x) -> Tensor:
    """∇x of an image Tensor: (H, W[, C]) → (2, H, W[, C])."""
    return fe.apply(GRADIENT, x)


def divergence(p) -> Tensor:
    """div p of a Tensor (2, H, W[, C]) → (H, W[, C])."""
    return fe.apply(DIVERGENCE, p)


def magnitude(p, eps: float = 0.0) -> Tensor:
    """√(p₀² + p₁² + ε²) of a Tensor field (2, H, W[, C]) → (H, W[, C]).

    A primitive rather than the composition sqrt(sum(p * p, 0) + ε²) for speed: one
    temporary instead of five on the TV regularizers' hot path (measured in the
    superres benchmark), with the same gradient p / |p|_ε.
    """
    return fe.apply(MAGNITUDE, p, eps=float(eps))


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Grayscale and colour, odd and tiny sizes; magnitude with and without eps."""
    cases = []
    for shape in [(7, 9), (5, 6, 3), (3, 3), (1, 4)]:
        cases.append(Case("gradient", str(shape), gradient, (rng.standard_normal(shape),)))
        cases.append(Case("divergence", str((2,) + shape), divergence,
                          (rng.standard_normal((2,) + shape),)))
    for shape, eps in [((2, 5, 6), 0.1), ((2, 4, 3, 2), 0.5), ((2, 3, 4), 0.0)]:
        # eps = 0: entries away from |p| = 0, where the norm has its kink
        p = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.5, shape)
        cases.append(Case("magnitude", f"{shape} eps={eps}",
                          lambda a, eps=eps: magnitude(a, eps), (p,)))
    return cases
