"""Image regularizers: tikhonov, sobolev, smooth_tv (smooth) and tv (non-smooth, with prox).

Each applies to one image block θ of shape (H, W) or (H, W, C) (channels last;
the gradient norm |∇θ| is taken per pixel and per channel). The smooth ones
are engine compositions of the ``gradient`` primitive, so reverse mode gives
their gradients; ``tv`` also has the proximal map a prox optimizer (ista /
fista) uses, computed by FISTA on the dual problem (Beck & Teboulle 2009).
"""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Tensor
from ..errors import ConfigError
from ..operators.differences import gradient, gradient_adjoint, gradient_array, magnitude
from . import Regularizer, register


def _image_block(theta, name: str) -> None:
    if np.ndim(theta) not in (2, 3):
        raise ConfigError(f"regularization {name}", "an image parameter (H, W) or (H, W, C)",
                          f"a block of shape {np.shape(theta)}")


@register
class Tikhonov(Regularizer):
    """½‖θ‖² on an image (the same penalty as l2, named as imaging calls it)."""

    name = "tikhonov"
    formula = "½‖x‖²"

    def __call__(self, theta: Tensor) -> Tensor:
        return 0.5 * fe.sum(theta * theta)

    def value(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.vdot(theta, theta))

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        return theta / (1.0 + step)               # argmin ½‖z − θ‖² + (t/2)‖z‖²


@register
class Sobolev(Regularizer):
    """½‖∇θ‖²: squared forward differences (Neumann boundary); gradient ∇ᵀ∇θ = −Δθ."""

    name = "sobolev"
    formula = "½‖∇x‖²"

    def __call__(self, theta: Tensor) -> Tensor:
        _image_block(theta, self.name)
        d = gradient(theta)
        return 0.5 * fe.sum(d * d)


@register
class SmoothTV(Regularizer):
    """Σ √(|∇θ|² + ε²): total variation smoothed by ``eps`` (Charbonnier), differentiable."""

    name = "smooth_tv"
    formula = "Σ√(|∇x|² + ε²)"

    def __init__(self, *, eps: float = 0.01):
        if not (isinstance(eps, (int, float)) and eps > 0 and np.isfinite(eps)):
            raise ConfigError("regularization.eps", "a positive number", eps)
        self.eps = float(eps)
        self.formula = f"Σ√(|∇x|² + {self.eps:g}²)"

    def __call__(self, theta: Tensor) -> Tensor:
        _image_block(theta, self.name)
        return fe.sum(magnitude(gradient(theta), self.eps))


def tv_value(theta: np.ndarray) -> float:
    """Σ |∇θ| (isotropic: Euclidean norm of the two differences, per pixel and channel)."""
    d = gradient_array(theta)
    return float(np.sqrt(d[0] * d[0] + d[1] * d[1]).sum())


def _project(p: np.ndarray) -> np.ndarray:
    """Per pixel, the dual pair (p0, p1) projected onto the unit disc (in place)."""
    n = np.sqrt(p[0] * p[0] + p[1] * p[1])
    np.maximum(n, 1.0, out=n)
    p /= n
    return p


def tv_prox(theta: np.ndarray, step: float, *, iterations: int = 50, tol: float = 1e-5,
            p0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """argmin_z ½‖z − θ‖² + t Σ|∇z| by FISTA on the dual (fast gradient projection).

    The dual variable p (2, H, W[, C]) with |p| ≤ 1 per pixel gives z = θ − t ∇ᵀp;
    it minimises ½‖θ − t∇ᵀp‖², whose gradient in p is −t∇z with Lipschitz
    constant 8t² (‖∇‖² ≤ 8), so the projected step is p + ∇z / (8t).
    Stops after ``iterations`` or when the relative change of z falls below ``tol``.

    Returns
    -------
    z : array like theta
    p : the final dual variable (pass it back as ``p0`` to warm-start the next call)
    """
    if step <= 0:
        return theta.copy(), np.zeros((2,) + theta.shape, dtype=theta.dtype)
    p = np.zeros((2,) + theta.shape, dtype=theta.dtype) if p0 is None else p0.copy()
    q, t_k = p.copy(), 1.0
    z = theta - step * gradient_adjoint(p)
    inv = 1.0 / (8.0 * step)
    for _ in range(iterations):
        zq = theta - step * gradient_adjoint(q)          # primal point of the extrapolated dual
        p_new = _project(q + inv * gradient_array(zq))
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_k * t_k))
        q = p_new + ((t_k - 1.0) / t_next) * (p_new - p)
        p, t_k = p_new, t_next
        z_new = theta - step * gradient_adjoint(p)
        change = np.linalg.norm(z_new - z) / max(np.linalg.norm(z_new), 1e-30)
        z = z_new
        if change < tol:
            break
    return z, p


@register
class TV(Regularizer):
    """Σ |∇θ|, isotropic total variation; non-smooth: prox by an inner dual FISTA.

    ``iterations`` and ``tol`` bound the inner solve; ``warm_start`` reuses the
    previous call's dual variable (the outer iterates change little, so a few
    inner iterations then suffice).
    """

    name = "tv"
    smooth = False
    formula = "Σ|∇x|"

    def __init__(self, *, iterations: int = 30, tol: float = 1e-4, warm_start: bool = True):
        if not (isinstance(iterations, int) and iterations > 0):
            raise ConfigError("regularization.iterations", "a positive integer", iterations)
        if not (isinstance(tol, (int, float)) and tol >= 0):
            raise ConfigError("regularization.tol", "a non-negative number", tol)
        self.iterations, self.tol, self.warm_start = iterations, float(tol), bool(warm_start)
        self._dual: dict = {}

    def __call__(self, theta: Tensor) -> Tensor:
        # for optimizers without a prox: a subgradient (|·|'s at 0 is 0, as fe.norm's)
        _image_block(theta, self.name)
        return fe.sum(magnitude(gradient(theta)))

    def value(self, theta: np.ndarray) -> float:
        return tv_value(theta)

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        _image_block(theta, self.name)
        key = (theta.shape, float(step))
        p0 = self._dual.get(key) if self.warm_start else None
        z, p = tv_prox(theta, step, iterations=self.iterations, tol=self.tol, p0=p0)
        if self.warm_start:
            self._dual = {key: p}
        return z
