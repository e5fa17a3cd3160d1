"""Proximal operators prox_{τg}(v) = argmin_z g(z) + ‖z − v‖² / (2τ), as plain array functions.

- :func:`soft_threshold` — g = λ‖·‖₁;
- :func:`project_box` — g = indicator of [lo, hi] (non-negativity: lo = 0, hi = ∞);
- :func:`tv_prox` — g = λ TV with the isotropic total variation of images
  TV(u) = Σᵢⱼ √((∂ᵣu)² + (∂꜀u)²) (forward differences, Neumann boundary: the last
  difference along each axis is zero), solved on the dual by FISTA (Beck & Teboulle's
  fast gradient projection, 2009).

:class:`L1`, :class:`Box` and :class:`TV` wrap them as terms of the
:class:`~fitcli.optim.base.Prox` protocol (``value(x)``, ``prox(x, step)`` on the flat vector)
for the proximal optimizers.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..operators.differences import gradient_adjoint, gradient_array


def soft_threshold(v: np.ndarray, thresh: float) -> np.ndarray:
    """sign(v) · max(|v| − thresh, 0), elementwise; the prox of thresh·‖·‖₁."""
    return np.sign(v) * np.maximum(np.abs(v) - thresh, 0)


def project_box(v: np.ndarray, lo: float = 0.0, hi: float = np.inf) -> np.ndarray:
    """Euclidean projection onto [lo, hi]ⁿ (the prox of its indicator, for any step)."""
    return np.clip(v, lo, hi)


def tv_value(u: np.ndarray) -> float:
    """Isotropic total variation Σ √((∂ᵣu)² + (∂꜀u)²) of an image u (H, W) or (H, W, C)."""
    d = gradient_array(u)
    return float(np.sum(np.sqrt(d[0] * d[0] + d[1] * d[1])))


def _project_unit(p: np.ndarray) -> np.ndarray:
    """Per pixel (and channel), the dual pair p[:, i, j] projected onto the unit disc."""
    n = np.sqrt(p[0] * p[0] + p[1] * p[1])
    np.maximum(n, 1.0, out=n)
    p /= n
    return p


def tv_prox(v: np.ndarray, step: float, *, shape: tuple[int, ...], weight: float = 1.0,
            iterations: int = 100, tol: float = 1e-6, dual: np.ndarray | None = None,
            return_dual: bool = False):
    """prox of θ·TV with θ = step·weight, for v holding an image of ``shape``.

    The dual problem min_{|pᵢⱼ| ≤ 1} ½‖v − θ ∇ᵀp‖² (then u = v − θ ∇ᵀp) is solved by
    FISTA with step 1/(8θ) on p (‖∇‖² ≤ 8) and the projection pᵢⱼ ← pᵢⱼ / max(1, |pᵢⱼ|);
    it stops after ``iterations`` or when u changes by less than ``tol``·max(1, ‖u‖_∞).
    The differences are the imaging operators' (``fitcli.operators.differences``).

    Parameters
    ----------
    v : ndarray with ``prod(shape)`` elements (e.g. a block of the flat parameter vector)
    shape : the image shape (H, W) or (H, W, C) (channels last, each channel its own TV)
    dual : an optional warm start, shape (2,) + shape
    return_dual : also return the dual variable (to warm-start the next call)

    Returns
    -------
    u : ndarray, the shape of ``v``; with ``return_dual``: (u, p).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or int(np.prod(shape)) != v.size:
        raise ConfigError("regularization.tv", f"an image shape matching {v.size} parameters",
                          shape)
    theta = float(step) * float(weight)
    b = v.reshape(shape)
    if theta <= 0:
        return (v.copy(), dual) if return_dual else v.copy()
    p = np.zeros((2,) + shape, b.dtype) if dual is None else np.array(dual, dtype=b.dtype)
    q, t = p.copy(), 1.0
    u_old = b - theta * gradient_adjoint(p)
    scale = 1.0 / (8.0 * theta)
    for _ in range(iterations):
        u = b - theta * gradient_adjoint(q)
        p_new = _project_unit(q + scale * gradient_array(u))       # ascent on the dual
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        q = p_new + ((t - 1.0) / t_new) * (p_new - p)
        p, t = p_new, t_new
        u = b - theta * gradient_adjoint(p)
        change = float(np.max(np.abs(u - u_old)))
        u_old = u
        if change <= tol * max(1.0, float(np.max(np.abs(u)))):
            break
    out = u_old.reshape(v.shape)
    return (out, p) if return_dual else out


class L1:
    """weight · ‖x‖₁ as a Prox term."""

    def __init__(self, weight: float):
        self.weight = float(weight)

    def value(self, x: np.ndarray) -> float:
        return self.weight * float(np.sum(np.abs(x)))

    def prox(self, x: np.ndarray, step: float) -> np.ndarray:
        return soft_threshold(x, step * self.weight)


class Box:
    """Indicator of [lo, hi]ⁿ (0 inside, +∞ outside) as a Prox term; Box(0) is x ≥ 0."""

    def __init__(self, lo: float = 0.0, hi: float = np.inf):
        self.lo, self.hi = float(lo), float(hi)

    def value(self, x: np.ndarray) -> float:
        inside = bool(np.all(x >= self.lo) and np.all(x <= self.hi))
        return 0.0 if inside else float("inf")

    def prox(self, x: np.ndarray, step: float) -> np.ndarray:
        return project_box(x, self.lo, self.hi)


class TV:
    """weight · TV(x as an image of ``shape``, (H, W) or (H, W, C)) as a Prox term.

    ``warm_start`` reuses the last dual solution (faster inside ista/fista, but the
    prox then depends on the call history, so a resumed run is no longer bitwise equal).
    """

    def __init__(self, weight: float, shape: tuple[int, ...], iterations: int = 100,
                 tol: float = 1e-6, warm_start: bool = False):
        self.weight, self.shape = float(weight), tuple(shape)
        self.iterations, self.tol, self.warm_start = iterations, tol, warm_start
        self._dual = None

    def value(self, x: np.ndarray) -> float:
        return self.weight * tv_value(x.reshape(self.shape))

    def prox(self, x: np.ndarray, step: float) -> np.ndarray:
        u, dual = tv_prox(x, step, shape=self.shape, weight=self.weight,
                          iterations=self.iterations, tol=self.tol, dual=self._dual,
                          return_dual=True)
        if self.warm_start:
            self._dual = dual
        return u
