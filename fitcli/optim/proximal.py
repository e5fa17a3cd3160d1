"""Proximal gradient methods for F = E + g, E smooth (the closure) and g non-smooth.

ista:   x_{k+1} = prox_{τg}(x_k − τ∇E(x_k))
fista:  x_{k+1} = prox_{τg}(y_k − τ∇E(y_k)),  t_{k+1} = (1 + √(1 + 4t_k²))/2,
        y_{k+1} = x_{k+1} + (t_k − 1)/t_{k+1} (x_{k+1} − x_k)     (Beck & Teboulle, 2009)

with the adaptive restart of O'Donoghue & Candès (t ← 1 when the step and the
gradient mapping disagree, (y_k − x_{k+1})ᵀ(x_{k+1} − x_k) > 0). The step is τ = 1/L:
L from the objective's ``lipschitz`` attribute, else by backtracking
(E(p) ≤ E(y) + ∇E(y)ᵀ(p − y) + L/2‖p − y‖²), or a fixed number.

The non-smooth terms arrive through :meth:`set_nonsmooth` (see
:class:`~fitcli.optim.base.Prox`); several terms are applied one after the other
(exact when their prox operators commute, e.g. l1 and a box containing 0). The
reported loss is F at the new iterate and the gradient norm is that of the
prox-gradient mapping (y − x_{k+1})/τ.
"""

from __future__ import annotations

import numpy as np

from . import linesearch as ls
from .base import (
    Closure,
    Optimizer,
    StepInfo,
    check_flag,
    check_step,
    get_array,
    is_finite,
    put_array,
)
from .gd import nonfinite_stop


class ProximalGradient(Optimizer):
    """ista (``accelerate = False``) and fista share this loop."""

    handles_nonsmooth = True
    accelerate = False

    def __init__(self, x, *, step, restart: bool = False, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, ("lipschitz", "backtracking"))
        self.restart = check_flag("restart", restart)
        self.terms: list = []
        self.L = 0.0
        self.t = self.t_old = 1.0
        self.x_prev: np.ndarray | None = None
        self.f: float | None = None          # E at x (ista: reuse the gradient too)
        self.g: np.ndarray | None = None

    def set_nonsmooth(self, terms) -> None:
        """The non-smooth terms g (objects with ``value(x)`` and ``prox(x, step)``)."""
        self.terms = list(terms)

    def _prox(self, v: np.ndarray, step: float) -> np.ndarray:
        for term in self.terms:
            v = term.prox(v, step)
        return v

    def _g_value(self, x: np.ndarray) -> float:
        return float(sum(term.value(x) for term in self.terms))

    def step(self, closure: Closure) -> StepInfo:
        x = self.x
        beta = (self.t_old - 1.0) / self.t    # (t_{k−1} − 1) / t_k
        if self.accelerate and self.x_prev is not None and beta > 0:
            y = x + beta * (x - self.x_prev)
            f_y, g_y = closure(y)
            nfev = ngev = 1
        elif self.g is not None:              # ista: E and ∇E at x are known from last step
            y, f_y, g_y, nfev, ngev = x, self.f, self.g, 0, 0
        else:
            y = x
            f_y, g_y = closure(y)
            nfev = ngev = 1
        if not is_finite(f_y, g_y):
            return nonfinite_stop(f_y, 1.0 / max(self.L, 1e-300), nfev)
        p, f_p, n, ng, ok = self._forward_backward(closure, y, f_y, g_y)
        nfev, ngev = nfev + n, ngev + ng
        if not ok:
            return StepInfo(f_y, float("nan"), 1.0 / self.L, nfev, ngev,
                            stop=f"{self.name}: no step satisfies the backtracking condition "
                            "(non-finite loss?)")
        tau = 1.0 / self.L
        gmap = float(np.sqrt(np.dot(y - p, y - p))) / tau
        if self.accelerate:
            if self.restart and self.x_prev is not None and float(np.dot(y - p, p - x)) > 0:
                self.t_old = self.t = 1.0
            else:
                self.t_old, self.t = self.t, 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        self.x_prev = x.copy()
        x[...] = p
        self.iteration += 1
        return StepInfo(f_p + self._g_value(p), gmap, tau, nfev, ngev)

    def _forward_backward(self, closure, y, f_y, g_y):
        """p = prox(y − ∇E(y)/L) with L known or backtracked; E(p) (and ∇E(p) for ista)."""
        nfev = ngev = 0
        known = float(getattr(closure, "lipschitz", 0.0))
        if isinstance(self.rule, float):
            self.L = 1.0 / self.rule
        elif self.rule == "lipschitz" and known > 0:
            self.L = known
        else:
            if self.L == 0:
                self.L, n = ls.estimate_lipschitz(closure, y, g_y)
                nfev, ngev = nfev + n, ngev + n
            self.L, p, f_p, n, ok = ls.lipschitz_backtracking(closure, y, f_y, g_y, self.L,
                                                              self._prox)
            nfev += n
            if not ok:
                return y, f_y, nfev, ngev, False
            if not self.accelerate:       # ista evaluates ∇E at the next iterate anyway
                f_p, self.g = closure(p)
                self.f = float(f_p)
                nfev, ngev = nfev + 1, ngev + 1
            return p, float(f_p), nfev, ngev, True
        p = self._prox(y - g_y * (1.0 / self.L), 1.0 / self.L)
        if self.accelerate:
            f_p, _ = closure(p, need_grad=False)
        else:
            f_p, self.g = closure(p)
            self.f = float(f_p)
            ngev += 1
        nfev += 1
        if not is_finite(f_p):
            return y, f_y, nfev, ngev, False
        return p, float(f_p), nfev, ngev, True

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(L=self.L, t=self.t, t_old=self.t_old)
        put_array(state, "x_prev", self.x_prev)
        if self.f is not None:
            state["f"] = self.f
        put_array(state, "g", self.g)
        # terms with state of their own (a warm-started TV prox keeps its dual variable)
        for i, term in enumerate(self.terms):
            for k, v in getattr(term, "state_dict", dict)().items():
                state[f"term{i}.{k}"] = v
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.L, self.t, self.t_old = float(state["L"]), float(state["t"]), float(state["t_old"])
        self.x_prev = get_array(state, "x_prev", self.x)
        self.f = float(state["f"]) if "f" in state else None
        self.g = get_array(state, "g", self.x)
        for i, term in enumerate(self.terms):
            prefix = f"term{i}."
            if hasattr(term, "load_state_dict"):
                term.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                      if k.startswith(prefix)})


class ISTA(ProximalGradient):
    """Proximal gradient descent (ISTA).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str     ``lipschitz`` (default: 1/L, L known or backtracked),
                            ``backtracking`` (always backtrack) or a fixed τ
    """

    name = "ista"

    def __init__(self, x, *, step: float | str = "lipschitz", rng=None, n_samples=None):
        super().__init__(x, step=step, restart=False, rng=rng, n_samples=n_samples)


class FISTA(ProximalGradient):
    """Accelerated proximal gradient (FISTA) with adaptive restart.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str     ``lipschitz`` (default), ``backtracking`` or a fixed τ
    restart : bool          adaptive (gradient-mapping) restart, default true
    """

    name = "fista"
    accelerate = True

    def __init__(self, x, *, step: float | str = "lipschitz", restart: bool = True,
                 rng=None, n_samples=None):
        super().__init__(x, step=step, restart=restart, rng=rng, n_samples=n_samples)
