"""Gradient descent x ← x − τ ∇E(x) with a fixed step or a step rule.

Step rules (``step:``): a positive number; ``armijo`` (backtracking to sufficient
decrease, c1 = 1e-4); ``wolfe`` (strong Wolfe, c1 = 1e-4, c2 = 0.9); ``bb``
(Barzilai–Borwein with a non-monotone Armijo safeguard); ``exact`` (the exact
minimiser along −∇E for a quadratic objective, the closure must say
``quadratic = True``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from . import linesearch as ls
from .base import (
    Closure,
    Optimizer,
    StepInfo,
    check_int,
    check_step,
    get_array,
    grad_norm,
    is_finite,
    put_array,
)

STEP_RULES = ("armijo", "wolfe", "bb", "exact")


class SmoothOptimizer(Optimizer):
    """Shared bookkeeping of deterministic first-order methods.

    Keeps the loss ``f`` and gradient ``g`` at the current ``x`` so that each
    iteration costs only the evaluations at new points; both are part of the
    state so that a resumed run does not re-evaluate (and counts the same).
    """

    def __init__(self, x, *, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.f: float | None = None
        self.g: np.ndarray | None = None

    def _start(self, closure: Closure) -> StepInfo | None:
        """Evaluate at the initial point once; a StepInfo that stops when it is not finite."""
        if self.g is not None:
            return None
        f, g = closure(self.x)
        self.f, self.g = float(f), g
        if not is_finite(self.f, g):
            self.g = None
            return StepInfo(self.f, float("nan"), 0.0, 1, 1,
                            stop="non-finite loss or gradient at the initial point")
        return None

    def _accept(self, x_new: np.ndarray, f: float, g: np.ndarray) -> None:
        self.x[...] = x_new
        self.f, self.g = float(f), g

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.f is not None:
            state["f"] = self.f
        put_array(state, "g", self.g)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.f = float(state["f"]) if "f" in state else None
        self.g = get_array(state, "g", self.x)


def nonfinite_stop(f: float, step: float, nfev: int, where: str = "") -> StepInfo:
    """The StepInfo of an iteration whose trial point was not finite (x left unchanged)."""
    return StepInfo(float(f), float("nan"), float(step), nfev, nfev,
                    stop=f"non-finite loss or gradient after a step of {step:.3g}{where} "
                    "(step too large?); kept the last finite iterate")


def exact_step(closure: Closure, x: np.ndarray, g: np.ndarray, d: np.ndarray,
               probe: float) -> tuple[float, int]:
    """Exact minimiser τ of E(x + τ d) for a quadratic E, from one gradient probe.

    For E(x) = ½ xᵀA x − bᵀx the gradient is affine, so A d = (∇E(x + h d) − ∇E(x)) / h
    for any h, and the minimiser along d is τ = −gᵀd / dᵀA d. Returns (τ, evaluations).
    """
    if not getattr(closure, "quadratic", False):
        raise ConfigError("optimizer.step", "a number or armijo | wolfe | bb", "exact",
                          "exact needs a quadratic objective, e.g. model testfn quadratic")
    _, g_probe = closure(x + probe * d)
    curv = float(np.dot(d, g_probe) - np.dot(d, g)) / probe   # dᵀ A d
    slope = float(np.dot(g, d))
    if not np.isfinite(curv) or curv <= 0:
        return float("nan"), 1     # no positive curvature: not convex, or rounding at the end
    return -slope / curv, 1


class GD(SmoothOptimizer):
    """Gradient descent with a fixed step or a rule (armijo | wolfe | bb | exact).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str
        A fixed step τ, or a rule name. Default ``armijo``.
    memory : int
        ``bb`` only: the non-monotone safeguard accepts a step when the loss is
        below the maximum of the last ``memory`` losses (Grippo–Lampariello–Lucidi).
    """

    name = "gd"

    def __init__(self, x, *, step: float | str = "armijo", memory: int = 10,
                 rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, STEP_RULES)
        self.memory = check_int("memory", memory)
        self.t = 0.0                        # last step taken (0: none yet)
        self.f_prev: float | None = None    # loss before the last step (wolfe initial step)
        self.s: np.ndarray | None = None    # x_k − x_{k−1}   (bb)
        self.y: np.ndarray | None = None    # g_k − g_{k−1}   (bb)
        self.recent = np.full(self.memory, -np.inf)   # last losses (bb safeguard)

    def step(self, closure: Closure) -> StepInfo:
        stop = self._start(closure)
        if stop is not None:
            return stop
        x, g = self.x, self.g
        gn = grad_norm(g)
        if gn == 0:
            return StepInfo(self.f, 0.0, 0.0, 0, 0, stop="the gradient is exactly zero")
        d = -g
        if isinstance(self.rule, float):
            info = self._fixed(closure, d, self.rule)
        elif self.rule == "exact":
            probe = self.t if self.t > 0 else 1.0 / max(gn, 1e-300)
            tau, nprobe = exact_step(closure, x, g, d, probe)
            if not np.isfinite(tau):
                return StepInfo(self.f, gn, 0.0, nprobe, nprobe,
                                stop="exact step: no positive curvature along the gradient "
                                "(converged to rounding, or the quadratic is not convex)")
            info = self._fixed(closure, d, tau)
            info.nfev += nprobe
            info.ngev += nprobe
        else:
            info = self._search(closure, d, gn)
        if info.stop is None:
            self.iteration += 1
        return info

    def _fixed(self, closure: Closure, d: np.ndarray, tau: float) -> StepInfo:
        x_new = self.x + tau * d
        f_new, g_new = closure(x_new)
        if not is_finite(f_new, g_new):
            return nonfinite_stop(f_new, tau, 1)
        self._remember(x_new, g_new)
        self.f_prev = self.f
        self._accept(x_new, f_new, g_new)
        self.t = float(tau)
        return StepInfo(self.f, grad_norm(g_new), self.t, 1, 1)

    def _search(self, closure: Closure, d: np.ndarray, gn: float) -> StepInfo:
        dphi0 = -gn * gn
        if self.rule == "bb":
            t0 = self._bb_step(gn)
            self.recent = np.roll(self.recent, 1)
            self.recent[0] = self.f
            ref = float(np.max(self.recent))
            res = ls.armijo(closure, self.x, self.f, dphi0, d, t0, f_ref=ref)
        else:
            t0 = self._initial_step(gn, dphi0)
            if self.rule == "armijo":
                res = ls.armijo(closure, self.x, self.f, dphi0, d, t0)
            else:
                res = ls.wolfe(closure, self.x, self.f, self.g, dphi0, d, t0)
        if not res.ok:
            return StepInfo(self.f, gn, res.t, res.nfev, res.nfev, stop=res.message)
        self._remember(res.x, res.g)
        self.f_prev = self.f
        self._accept(res.x, res.f, res.g)
        self.t = res.t
        return StepInfo(self.f, grad_norm(res.g), res.t, res.nfev, res.nfev)

    def _initial_step(self, gn: float, dphi0: float) -> float:
        """First trial: 1/‖g‖ at start; then the step that repeats the last decrease
        (Nocedal–Wright 3.60) for wolfe, or twice the last step for armijo (lets it grow)."""
        if self.t <= 0:
            return 1.0 / max(gn, 1e-300)
        if self.rule == "wolfe" and self.f_prev is not None:
            t = 2.02 * (self.f - self.f_prev) / dphi0
            if np.isfinite(t) and t > 0:
                return float(t)
        return 2.0 * self.t

    def _remember(self, x_new: np.ndarray, g_new: np.ndarray) -> None:
        if self.rule == "bb":
            self.s = x_new - self.x
            self.y = g_new - self.g

    def _bb_step(self, gn: float) -> float:
        """Barzilai–Borwein τ = sᵀs / sᵀy, safeguarded into [1e-10, 1e10]·(scale)."""
        if self.s is None:
            return 1.0 / max(gn, 1e-300)
        sy = float(np.dot(self.s, self.y))
        if not np.isfinite(sy) or sy <= 0:
            return max(self.t, 1e-10)          # negative curvature: keep the last step
        return float(np.clip(np.dot(self.s, self.s) / sy, 1e-10, 1e10))

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(t=self.t, recent=self.recent.copy())
        if self.f_prev is not None:
            state["f_prev"] = self.f_prev
        put_array(state, "s", self.s)
        put_array(state, "y", self.y)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.t = float(state["t"])
        self.recent = np.array(state["recent"], dtype=float)
        self.f_prev = float(state["f_prev"]) if "f_prev" in state else None
        self.s = get_array(state, "s", self.x)
        self.y = get_array(state, "y", self.x)
