"""Primal–dual splitting (Chambolle–Pock / Condat–Vũ) for a smooth loss plus TV or L1.

Minimises E(x) = f(x) + Σ_k w_k ‖K_k x‖ with f smooth (the closure) and each
non-smooth term written as a norm of a linear map of x: K = ∇ (isotropic TV of
an image block) or K = I (L1). Its dual variables y_k live in the balls
{|y_k| ≤ w_k} (per pixel for TV, per entry for L1), and one iteration is

    x⁺ = P_box(x − τ (∇f(x) + Σ K_kᵀ y_k))
    y_k ← proj_{|·| ≤ w_k}(y_k + σ K_k (2x⁺ − x))

which converges when 1/τ − σ‖K‖² ≥ L/2 (Condat 2013, Vũ 2013; Chambolle & Pock
2011 when f = 0). We take τ = 1/L and σ = L / (2‖K‖²) with ‖∇‖² ≤ 8, and L from the
closure (``lipschitz``), else by power iteration on Hessian-vector products
(``hvp``), else from a secant estimate with a safety factor. No inner loop: the
TV prox is never solved, which is what makes it the method of choice for TV.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..operators.differences import gradient_adjoint, gradient_array
from . import linesearch as ls
from . import prox
from .base import Closure, Optimizer, StepInfo, check_int, get_array, put_array
from .quasi_newton import check_bounds


def _lipschitz(closure: Closure, x: np.ndarray, g: np.ndarray, iterations: int,
               rng: np.random.Generator) -> tuple[float, int]:
    """L of ∇f: the closure's, or the top Hessian eigenvalue at x by power iteration."""
    known = getattr(closure, "lipschitz", None)
    if known:
        return float(known), 0
    hvp = getattr(closure, "hvp", None)
    if hvp is None:
        L, n = ls.estimate_lipschitz(closure, x, g)
        return 2.0 * L, n
    v = rng.standard_normal(x.shape).astype(x.dtype)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iterations):
        w = hvp(x, v)
        lam = float(np.linalg.norm(w))
        if not lam > 0 or not np.isfinite(lam):
            return 1.0, iterations
        v = w / lam
    return 1.05 * lam, iterations   # a margin: the power iteration approaches from below


class PDHG(Optimizer):
    """Primal–dual hybrid gradient for smooth + TV / L1 objectives.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    bounds : [lo, hi]       box constraint on x by projection (default none)
    power_iterations : int  Hessian-vector products for the Lipschitz estimate (default 30)
    """

    name = "pdhg"
    handles_nonsmooth = True

    def __init__(self, x, *, bounds: list[float | None] | None = None, power_iterations: int = 30,
                 rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.bounds = check_bounds(bounds)
        self.power_iterations = check_int("power_iterations", power_iterations)
        self.terms: list = []
        self.duals: list[np.ndarray] = []
        self.L = 0.0
        self.f: float | None = None
        self.g: np.ndarray | None = None

    def set_nonsmooth(self, terms) -> None:
        """Each term: a TV or L1 regularizer on image / parameter blocks of x."""
        self.terms = []
        n = self.x.size
        for term in terms:
            if hasattr(term, "reg"):           # a config's regularizer on parameter blocks
                kind, blocks = term.reg.name, term.blocks
            elif isinstance(term, prox.TV):    # the plain Prox terms of fitcli.optim.prox
                kind, blocks = "tv", [(slice(0, n), term.shape)]
            elif isinstance(term, prox.L1):
                kind, blocks = "l1", [(slice(0, n), (n,))]
            else:
                kind = type(term).__name__
            if kind not in ("tv", "l1"):
                raise ConfigError("optimizer.type", "pdhg with tv or l1 as the non-smooth "
                                  "terms", kind)
            for sl, shape in blocks:
                if kind == "tv" and len(shape) not in (2, 3):
                    raise ConfigError("regularization.tv", "an image block (H, W[, C]) "
                                      "for pdhg", shape)
                self.terms.append((kind, float(term.weight), sl, tuple(shape)))
        self.duals = [np.zeros(((2,) if k == "tv" else ()) + sh, self.x.dtype)
                      for k, _, _, sh in self.terms]

    def _K(self, kind, x_block):
        return gradient_array(x_block) if kind == "tv" else x_block

    def _KT(self, kind, y):
        return gradient_adjoint(y) if kind == "tv" else y

    def _project_dual(self, kind, y, w):
        if kind == "tv":
            n = np.sqrt(y[0] * y[0] + y[1] * y[1]) / w
            np.maximum(n, 1.0, out=n)
            y /= n
        else:
            np.clip(y, -w, w, out=y)

    def _nonsmooth_value(self, x) -> float:
        total = 0.0
        for kind, w, sl, sh in self.terms:
            d = self._K(kind, x[sl].reshape(sh))
            total += w * float(np.sum(np.sqrt(d[0] ** 2 + d[1] ** 2)) if kind == "tv"
                               else np.sum(np.abs(d)))
        return total

    def step(self, closure: Closure) -> StepInfo:
        nfev = ngev = 0
        if self.g is None:
            f, g = closure(self.x)
            self.f, self.g = float(f), g
            nfev = ngev = 1
            self.L, n = _lipschitz(closure, self.x, g, self.power_iterations, self.rng)
            ngev += n
        tau = 1.0 / self.L
        sigma = self.L / (2.0 * 8.0)
        v = self.g.copy()
        for (kind, _, sl, _sh), y in zip(self.terms, self.duals, strict=True):
            v[sl] += self._KT(kind, y).reshape(-1)
        x_new = self.x - tau * v
        if self.bounds is not None:
            np.clip(x_new, *self.bounds, out=x_new)
        x_bar = 2.0 * x_new - self.x
        for (kind, w, sl, sh), y in zip(self.terms, self.duals, strict=True):
            y += sigma * self._K(kind, x_bar[sl].reshape(sh))
            self._project_dual(kind, y, w)
        f, g = closure(x_new)
        nfev, ngev = nfev + 1, ngev + 1
        if not (np.isfinite(f) and np.all(np.isfinite(g))):
            return StepInfo(float(f), float("nan"), tau, nfev, ngev,
                            stop="non-finite loss or gradient; kept the last finite iterate")
        residual = float(np.linalg.norm(x_new - self.x)) / tau
        self.x[...] = x_new
        self.f, self.g = float(f), g
        self.iteration += 1
        return StepInfo(self.f + self._nonsmooth_value(self.x), residual, tau, nfev, ngev)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["L"] = self.L
        if self.f is not None:
            state["f"] = self.f
        put_array(state, "g", self.g)
        for i, y in enumerate(self.duals):
            state[f"dual{i}"] = y
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.L = float(state["L"])
        self.f = float(state["f"]) if "f" in state else None
        self.g = get_array(state, "g", self.x)
        for i, y in enumerate(self.duals):
            y[...] = state[f"dual{i}"]
