"""Hessian-free Newton: truncated conjugate gradient on Hessian-vector products.

Each iteration solves H d = −∇E approximately by conjugate gradient, where
every product H·p is one reverse-over-forward sweep of the objective
(``closure.hvp(x, p)``, see ``fitcli.engine.hvp``) — the Hessian is never
formed. CG stops at relative residual η_k = min(cg_tol, √‖∇E‖) (the forcing
sequence that gives superlinear convergence, Nocedal & Wright §7.1), after
``cg_iterations`` products, or on negative curvature (then the last direction
of positive curvature, or steepest descent, is used). A strong Wolfe line
search from the Newton step t = 1 globalises the method.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import linesearch as ls
from .base import Closure, StepInfo, check_int, check_number, check_step, grad_norm
from .gd import SmoothOptimizer


class NewtonCG(SmoothOptimizer):
    """Newton–CG (Hessian-free).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    cg_iterations : int     maximum Hessian-vector products per iteration (default 50)
    cg_tol : float          upper bound of the CG forcing term η (default 0.5)
    step : str or float     ``wolfe`` (default), ``armijo``, or a fixed step on the Newton direction
    """

    name = "newton_cg"

    def __init__(self, x, *, cg_iterations: int = 50, cg_tol: float = 0.5,
                 step: str | float = "wolfe", rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.cg_iterations = check_int("cg_iterations", cg_iterations)
        self.cg_tol = check_number("cg_tol", cg_tol, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        self.rule = check_step(step, ("wolfe", "armijo"))

    def _direction(self, hvp, g: np.ndarray) -> tuple[np.ndarray, int]:
        """Truncated CG on H d = −g; returns d and the number of products used."""
        gn = grad_norm(g)
        eta = min(self.cg_tol, np.sqrt(gn))
        d = np.zeros_like(g)
        r = -g
        p = r.copy()
        rr = float(np.dot(r, r))
        for j in range(self.cg_iterations):
            Hp = hvp(self.x, p)
            curv = float(np.dot(p, Hp))
            if not curv > 0 or not np.isfinite(curv):  # negative curvature: stop here
                return (-g if j == 0 else d), j + 1
            alpha = rr / curv
            d += alpha * p
            r -= alpha * Hp
            rr_new = float(np.dot(r, r))
            if np.sqrt(rr_new) <= eta * gn:
                return d, j + 1
            p *= rr_new / rr
            p += r
            rr = rr_new
        return d, self.cg_iterations

    def step(self, closure: Closure) -> StepInfo:
        hvp = getattr(closure, "hvp", None)
        if hvp is None:
            raise ConfigError("optimizer.type", "an objective with Hessian-vector products "
                              "for newton_cg", "newton_cg")
        stop = self._start(closure)
        if stop is not None:
            return stop
        g = self.g
        if grad_norm(g) == 0:
            return StepInfo(self.f, 0.0, 0.0, 0, 0, stop="the gradient is exactly zero")
        d, n_hvp = self._direction(hvp, g)
        dphi0 = float(np.dot(g, d))
        if not dphi0 < 0:
            d, dphi0 = -g, -float(np.dot(g, g))
        if isinstance(self.rule, float):
            x_new = self.x + self.rule * d
            f, g_new = closure(x_new)
            res = ls.LineResult(bool(np.isfinite(f)), self.rule, float(f), g_new, x_new, 1,
                                "non-finite loss after a fixed Newton step")
        elif self.rule == "armijo":
            res = ls.armijo(closure, self.x, self.f, dphi0, d, 1.0)
        else:
            res = ls.wolfe(closure, self.x, self.f, g, dphi0, d, 1.0)
        if not res.ok:
            return StepInfo(self.f, grad_norm(g), res.t, res.nfev, res.nfev + n_hvp,
                            stop=res.message or "line search failed")
        self._accept(res.x, res.f, res.g)
        self.iteration += 1
        # ngev counts gradient evaluations plus Hessian-vector products
        return StepInfo(self.f, grad_norm(res.g), res.t, res.nfev, res.nfev + n_hvp)
