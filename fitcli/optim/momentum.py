"""Momentum methods: Polyak's heavy ball and Nesterov's accelerated gradient.

heavy_ball:  v ← β v − ∇E(x),  x ← x + τ v   (τ fixed: x_{k+1} = x_k − τ∇E(x_k) + β(x_k − x_{k−1}))
nesterov:    y = x_k + β_k (x_k − x_{k−1}),  x_{k+1} = y − τ ∇E(y)

With a step rule the step τ is searched along the momentum direction v (heavy ball,
v reset to −∇E when it is not a descent direction) or along −∇E(y) (nesterov).
nesterov's defaults are the classic convex method: τ = 1/L and β_k = k/(k+3), L from
the objective's ``lipschitz`` attribute when it has one, else estimated by backtracking.
nesterov reports the loss and gradient norm at y, the point where it evaluates.
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionError, did_you_mean
from . import linesearch as ls
from .base import (
    Closure,
    StepInfo,
    check_flag,
    check_number,
    check_step,
    get_array,
    grad_norm,
    is_finite,
    put_array,
)
from .gd import SmoothOptimizer, nonfinite_stop


def _momentum(value) -> float | str:
    """``schedule`` or a number in [0, 1)."""
    if value == "schedule":
        return value
    try:
        return check_number("momentum", value, lo=0.0, hi=1.0, hi_open=True)
    except OptionError:
        raise OptionError("momentum", "schedule or a number in [0, 1)", value,
                          did_you_mean(value, ("schedule",))) from None


class HeavyBall(SmoothOptimizer):
    """Polyak's heavy ball.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str     fixed τ, or ``armijo`` | ``wolfe`` | ``lipschitz`` (τ = 1/L).
                            Default ``armijo``.
    momentum : float        β in [0, 1) (default 0.9)
    """

    name = "heavy_ball"

    def __init__(self, x, *, step: float | str = "armijo", momentum: float = 0.9,
                 rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, ("armijo", "wolfe", "lipschitz"))
        self.momentum = check_number("momentum", momentum, lo=0.0, hi=1.0, hi_open=True)
        self.v: np.ndarray | None = None
        self.t = 0.0
        self.L = 0.0

    def step(self, closure: Closure) -> StepInfo:
        stop = self._start(closure)
        if stop is not None:
            return stop
        g = self.g
        v = -g if self.v is None else self.momentum * self.v - g
        nprobe = 0
        if self.rule == "lipschitz" and self.L == 0:
            self.L = float(getattr(closure, "lipschitz", 0.0))
            if self.L <= 0:
                self.L, nprobe = ls.estimate_lipschitz(closure, self.x, g)
        if isinstance(self.rule, float) or self.rule == "lipschitz":
            tau = self.rule if isinstance(self.rule, float) else 1.0 / self.L
            x_new = self.x + tau * v
            f_new, g_new = closure(x_new)
            if not is_finite(f_new, g_new):
                return nonfinite_stop(f_new, tau, 1 + nprobe)
            self._accept(x_new, f_new, g_new)
            self.v, self.t = v, float(tau)
            self.iteration += 1
            return StepInfo(self.f, grad_norm(g_new), self.t, 1 + nprobe, 1 + nprobe)
        dphi0 = float(np.dot(g, v))
        if not dphi0 < 0:                       # momentum points uphill: restart
            v, dphi0 = -g, -float(np.dot(g, g))
        t0 = self.t if self.t > 0 else 1.0 / max(np.sqrt(-dphi0), 1e-300)
        if self.rule == "armijo":
            res = ls.armijo(closure, self.x, self.f, dphi0, v, 2.0 * t0)
        else:
            res = ls.wolfe(closure, self.x, self.f, g, dphi0, v, t0)
        if not res.ok:
            return StepInfo(self.f, grad_norm(g), res.t, res.nfev, res.nfev, stop=res.message)
        self._accept(res.x, res.f, res.g)
        self.v, self.t = v, res.t
        self.iteration += 1
        return StepInfo(self.f, grad_norm(res.g), res.t, res.nfev, res.nfev)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(t=self.t, L=self.L)
        put_array(state, "v", self.v)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.t, self.L = float(state["t"]), float(state["L"])
        self.v = get_array(state, "v", self.x)


class Nesterov(SmoothOptimizer):
    """Nesterov's accelerated gradient.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str     ``lipschitz`` (default: τ = 1/L, L known or by backtracking),
                            ``armijo`` (backtracking from y), or a fixed τ.
    momentum : float or str ``schedule`` (default: β_k = k/(k+3)) or a fixed β in [0, 1).
    restart : bool          adaptive restart (O'Donoghue & Candès): reset the momentum
                            when ∇E(y)ᵀ(x_{k+1} − x_k) > 0. Default true: without it the
                            k/(k+3) schedule oscillates on strongly convex problems.
    """

    name = "nesterov"

    def __init__(self, x, *, step: float | str = "lipschitz", momentum: float | str = "schedule",
                 restart: bool = True, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, ("lipschitz", "armijo"))
        self.momentum = _momentum(momentum)
        self.restart = check_flag("restart", restart)
        self.x_prev: np.ndarray | None = None
        self.k = 0             # iterations since the last (re)start: β_k = k/(k+3)
        self.L = 0.0
        self.t = 0.0

    def step(self, closure: Closure) -> StepInfo:
        x = self.x
        beta = self.k / (self.k + 3.0) if self.momentum == "schedule" else self.momentum
        y = x if self.x_prev is None else x + beta * (x - self.x_prev)
        f_y, g_y = closure(y)
        nfev = ngev = 1
        if not is_finite(f_y, g_y):
            return nonfinite_stop(f_y, self.t, nfev, " (at the extrapolated point)")
        gn = grad_norm(g_y)
        if isinstance(self.rule, float):
            tau, x_new = self.rule, y - self.rule * g_y
        elif self.rule == "lipschitz":
            known = float(getattr(closure, "lipschitz", 0.0))
            if known > 0:
                self.L = known
                x_new = y - g_y * (1.0 / known)
            else:
                if self.L == 0:
                    self.L, n = ls.estimate_lipschitz(closure, y, g_y)
                    nfev, ngev = nfev + n, ngev + n
                self.L, x_new, _, n, ok = ls.lipschitz_backtracking(closure, y, f_y, g_y, self.L)
                nfev += n
                if not ok:
                    return StepInfo(f_y, gn, 1.0 / self.L, nfev, ngev,
                                    stop="nesterov: backtracking found no Lipschitz constant "
                                    "(non-finite loss?)")
            tau = 1.0 / self.L
        else:
            t0 = 2.0 * self.t if self.t > 0 else 1.0 / max(gn, 1e-300)
            res = ls.armijo(closure, y, f_y, -gn * gn, -g_y, t0)
            nfev, ngev = nfev + res.nfev, ngev + res.nfev
            if not res.ok:
                return StepInfo(f_y, gn, res.t, nfev, nfev, stop=res.message)
            tau, x_new = res.t, res.x
        if self.restart and self.x_prev is not None and float(np.dot(g_y, x_new - x)) > 0:
            self.k = 0                      # restart: no momentum into the next step
            self.x_prev = x_new.copy()
        else:
            self.k += 1
            self.x_prev = x.copy()
        x[...] = x_new
        self.t = float(tau)
        self.iteration += 1
        return StepInfo(float(f_y), gn, self.t, nfev, ngev)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(k=self.k, L=self.L, t=self.t)
        put_array(state, "x_prev", self.x_prev)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.k, self.L, self.t = int(state["k"]), float(state["L"]), float(state["t"])
        self.x_prev = get_array(state, "x_prev", self.x)
