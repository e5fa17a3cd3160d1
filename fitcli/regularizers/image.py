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
from ..operators.differences import gradient, magnitude
from ..optim.prox import tv_prox, tv_value
from .base import Regularizer
from .basic import L2


def _image_block(theta, name: str) -> None:
    if np.ndim(theta) not in (2, 3):
        raise ConfigError(f"regularization {name}", "an image parameter (H, W) or (H, W, C)",
                          f"a block of shape {np.shape(theta)}")


class Tikhonov(L2):
    """½‖θ‖² on an image: the l2 penalty under the name imaging gives it."""
    applies_to = "image"

    name = "tikhonov"
    formula = "½‖x‖²"


class Sobolev(Regularizer):
    """½‖∇θ‖²: squared forward differences (Neumann boundary); gradient ∇ᵀ∇θ = −Δθ."""
    applies_to = "image"

    name = "sobolev"
    formula = "½‖∇x‖²"

    def __call__(self, theta: Tensor) -> Tensor:
        _image_block(theta, self.name)
        d = gradient(theta)
        return 0.5 * fe.sum(d * d)


class SmoothTV(Regularizer):
    """Σ √(|∇θ|² + ε²): total variation smoothed by ``eps`` (Charbonnier), differentiable."""
    applies_to = "image"

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


class TV(Regularizer):
    """Σ |∇θ|, isotropic total variation; non-smooth: prox by an inner dual FISTA
    (:func:`fitcli.optim.prox.tv_prox`).

    ``iterations`` and ``tol`` bound the inner solve; ``warm_start`` reuses the
    previous call's dual variable (the outer iterates change little, so a few
    inner iterations then suffice: about 3× faster and more accurate on the
    phantom). That dual variable is state: it is saved in the checkpoint (through
    the prox optimizer's state), so a resumed run stays bitwise equal.
    """
    applies_to = "image"

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
        z, p = tv_prox(theta, step, shape=theta.shape, iterations=self.iterations,
                       tol=self.tol, dual=p0, return_dual=True)
        if self.warm_start:
            self._dual = {key: p}
        return z

    def state_dict(self) -> dict:
        if not self._dual:
            return {}
        (shape, step), p = next(iter(self._dual.items()))
        return {"dual": p, "dual_step": step}

    def load_state_dict(self, state: dict) -> None:
        if "dual" in state:
            p = np.asarray(state["dual"])
            self._dual = {(p.shape[1:], float(state["dual_step"])): p}
