"""Quasi-Newton methods: limited-memory BFGS (two-loop recursion) and dense BFGS.

lbfgs keeps the last ``history`` pairs s = x_{k+1} − x_k, y = ∇E_{k+1} − ∇E_k in
preallocated ``(history, n)`` arrays used as a ring buffer; the direction
d = −H∇E is the two-loop recursion (Nocedal & Wright Alg. 7.4) with H₀ = γI,
γ = sᵀy / yᵀy, using BLAS dot and axpy (no temporaries). A pair with sᵀy ≤ 0 (or
negligible) is skipped, which keeps H positive definite.

``bounds: [lo, hi]`` turns lbfgs into a projected method in the spirit of L-BFGS-B:
variables at a bound whose gradient pushes outwards are held fixed, the quasi-Newton
direction is computed on the free ones, and a projected Armijo search runs along
P(x + t d). After a non-finite value the history is cleared and the method restarts
from the best iterate (the current one: line searches never accept a non-finite point).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import get_blas_funcs

from ..errors import ConfigError, OptionError
from . import linesearch as ls
from .base import (
    Closure,
    StepInfo,
    check_int,
    check_number,
    check_step,
    get_array,
    grad_norm,
    is_finite,
)
from .gd import SmoothOptimizer, nonfinite_stop


def check_bounds(value) -> tuple[float, float] | None:
    """``bounds: [lo, hi]`` (either may be null for unbounded) or None."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise OptionError("bounds", "a pair [lo, hi]", value)
    lo = -np.inf if value[0] is None else check_number("bounds", value[0])
    hi = np.inf if value[1] is None else check_number("bounds", value[1])
    if not lo < hi:
        raise OptionError("bounds", "lo < hi", value)
    return lo, hi


class QuasiNewton(SmoothOptimizer):
    """Shared step of lbfgs and bfgs: direction from ``_direction``, line search, update."""

    def __init__(self, x, *, step, bounds, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, ("wolfe", "armijo"))
        self.bounds = check_bounds(bounds)
        if self.bounds is not None:
            np.clip(x, *self.bounds, out=x)
        self.best: tuple | None = None        # (x, f, g) of the best iterate (fixed steps)

    def _project(self, v: np.ndarray) -> None:
        np.clip(v, self.bounds[0], self.bounds[1], out=v)

    def _free(self, g: np.ndarray) -> np.ndarray | None:
        """Mask of variables not held at a bound (None without bounds)."""
        if self.bounds is None:
            return None
        lo, hi = self.bounds
        x = self.x
        return ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))

    def step(self, closure: Closure) -> StepInfo:
        stop = self._start(closure)
        if stop is not None:
            return stop
        nfev = 0
        while True:
            g = self.g
            free = self._free(g)
            gf = g if free is None else np.where(free, g, 0)
            d, first = self._direction(gf)
            if free is not None:
                d[~free] = 0
            dphi0 = float(np.dot(g, d))
            if not dphi0 < 0:               # H lost positive definiteness numerically
                self._reset()
                d, first = -gf, True
                dphi0 = -float(np.dot(gf, gf))
                if not dphi0 < 0:           # (projected) gradient is zero: a KKT point
                    return StepInfo(self.f, 0.0, 0.0, nfev, nfev,
                                    stop="the (projected) gradient is exactly zero")
            # the first step (no curvature yet) has length <= 1 (as PyTorch's L-BFGS)
            t0 = min(1.0, 1.0 / float(np.sum(np.abs(gf)))) if first else 1.0
            res = self._search(closure, d, dphi0, t0)
            nfev += res.nfev
            if res.ok:
                break
            if first:
                return StepInfo(self.f, self._pg_norm(g), res.t, nfev, nfev, stop=res.message)
            # a failed search or a non-finite value: clear the history and restart from
            # the best iterate with a scaled steepest-descent step (line searches are
            # monotone, so the best is the current one; fixed steps may have gone uphill)
            self._reset()
            if self.best is not None and self.best[1] < self.f:
                self._accept(*self.best)
        self._update(res.x, res.g)
        self._accept(res.x, res.f, res.g)
        if isinstance(self.rule, float) and (self.best is None or self.f < self.best[1]):
            self.best = (self.x.copy(), self.f, self.g)
        self.iteration += 1
        return StepInfo(self.f, self._pg_norm(res.g), res.t, nfev, nfev)

    def _search(self, closure, d, dphi0, t0):
        if isinstance(self.rule, float):
            x_new = self.x + (self.rule * t0) * d
            if self.bounds is not None:
                self._project(x_new)
            f, g = closure(x_new)
            if not is_finite(f, g):
                return ls.LineResult(False, self.rule * t0, self.f, None, None, 1,
                                     nonfinite_stop(f, self.rule * t0, 1).stop)
            return ls.LineResult(True, self.rule * t0, float(f), g, x_new, 1)
        if self.bounds is not None:
            return ls.armijo(closure, self.x, self.f, dphi0, d, t0, g0=self.g,
                             project=self._project)
        if self.rule == "armijo":
            return ls.armijo(closure, self.x, self.f, dphi0, d, t0)
        return ls.wolfe(closure, self.x, self.f, self.g, dphi0, d, t0)

    def _pg_norm(self, g: np.ndarray) -> float:
        """Norm of the gradient, or of the projected gradient P(x − g) − x with bounds."""
        if self.bounds is None:
            return grad_norm(g)
        pg = np.clip(self.x - g, *self.bounds) - self.x
        return grad_norm(pg)


def _best_state(opt, state: dict) -> None:
    if opt.best is not None:
        state.update(best_x=opt.best[0].copy(), best_f=opt.best[1], best_g=opt.best[2].copy())


def _load_best(opt, state: dict) -> None:
    opt.best = None
    if "best_x" in state:
        opt.best = (get_array(state, "best_x", opt.x), float(state["best_f"]),
                    get_array(state, "best_g", opt.x))


class LBFGS(QuasiNewton):
    """Limited-memory BFGS.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    history : int           pairs (s, y) kept (default 10)
    step : str or float     ``wolfe`` (default, strong Wolfe), ``armijo``, or a fixed
                            step multiplying the quasi-Newton direction (no search)
    bounds : [lo, hi]       box constraint by projection (default none); ``null`` for ±∞
    """

    name = "lbfgs"

    def __init__(self, x, *, history: int = 10, step: float | str = "wolfe",
                 bounds: list[float | None] | None = None,
                 rng=None, n_samples=None):
        super().__init__(x, step=step, bounds=bounds, rng=rng, n_samples=n_samples)
        m = check_int("history", history)
        self.S = np.zeros((m, x.size), dtype=x.dtype)
        self.Y = np.zeros((m, x.size), dtype=x.dtype)
        self.rho = np.zeros(m)
        self.alpha = np.zeros(m)
        self.q = np.empty_like(x)
        self.count = 0        # pairs stored
        self.head = 0         # slot of the next pair
        self.gamma = 1.0
        self._axpy = get_blas_funcs("axpy", (self.q,))

    def _reset(self) -> None:
        self.count, self.head, self.gamma = 0, 0, 1.0

    def _direction(self, g: np.ndarray) -> tuple[np.ndarray, bool]:
        """d = −H g by the two-loop recursion; (d, True) when there is no history.

        The recursion is linear in its input, so it runs on q = −g and yields d directly;
        q is a preallocated work buffer (d is used within the current step only).
        """
        q, m, axpy = self.q, self.S.shape[0], self._axpy
        np.negative(g, out=q)
        order = [(self.head - 1 - i) % m for i in range(self.count)]     # newest first
        for i in order:
            a = self.rho[i] * float(np.dot(self.S[i], q))
            self.alpha[i] = a
            axpy(self.Y[i], q, a=-a)                                     # q −= a y_i
        if self.gamma != 1.0:
            q *= self.gamma                                              # H₀ = γ I
        for i in reversed(order):
            b = self.rho[i] * float(np.dot(self.Y[i], q))
            axpy(self.S[i], q, a=self.alpha[i] - b)                      # r += (a − b) s_i
        return q, self.count == 0

    def _update(self, x_new: np.ndarray, g_new: np.ndarray) -> None:
        s, y = self.S[self.head], self.Y[self.head]
        np.subtract(x_new, self.x, out=s)
        np.subtract(g_new, self.g, out=y)
        ys, yy = float(np.dot(y, s)), float(np.dot(y, y))
        if ys > 1e-10 * yy and np.isfinite(ys) and yy > 0:
            self.rho[self.head] = 1.0 / ys
            self.gamma = ys / yy
            self.head = (self.head + 1) % self.S.shape[0]
            self.count = min(self.count + 1, self.S.shape[0])
        # else: skip the pair (the slot is overwritten next time)

    def state_dict(self) -> dict:
        state = super().state_dict()
        # store the pairs in order oldest → newest, so the history size may not change silently
        order = [(self.head - self.count + i) % self.S.shape[0] for i in range(self.count)]
        state.update(S=self.S[order].copy(), Y=self.Y[order].copy(), rho=self.rho[order].copy(),
                     gamma=self.gamma)
        _best_state(self, state)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        S, Y, rho = np.asarray(state["S"]), np.asarray(state["Y"]), np.asarray(state["rho"])
        m = self.S.shape[0]
        k = min(len(rho), m)                # a smaller history keeps the newest pairs
        self._reset()
        self.S[:k], self.Y[:k], self.rho[:k] = S[len(rho) - k:], Y[len(rho) - k:], rho[
            len(rho) - k:]
        self.count, self.head = k, k % m
        self.gamma = float(state["gamma"])
        _load_best(self, state)


class BFGS(QuasiNewton):
    """Dense BFGS on the inverse Hessian (n² memory: for small problems, n ≤ 5000).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : str or float     ``wolfe`` (default), ``armijo`` or a fixed step
    bounds : [lo, hi]       box constraint by projection (default none)
    """

    name = "bfgs"

    def __init__(self, x, *, step: float | str = "wolfe",
                 bounds: list[float | None] | None = None, rng=None, n_samples=None):
        super().__init__(x, step=step, bounds=bounds, rng=rng, n_samples=n_samples)
        if x.size > 5000:
            raise ConfigError("optimizer.type", "lbfgs for more than 5000 parameters",
                              "bfgs", f"bfgs stores an {x.size}² matrix")
        self.H: np.ndarray | None = None

    def _reset(self) -> None:
        self.H = None

    def _direction(self, g: np.ndarray) -> tuple[np.ndarray, bool]:
        if self.H is None:
            return -g, True
        return -(self.H @ g), False

    def _update(self, x_new: np.ndarray, g_new: np.ndarray) -> None:
        s, y = x_new - self.x, g_new - self.g
        ys, yy = float(np.dot(y, s)), float(np.dot(y, y))
        if not (ys > 1e-10 * yy and np.isfinite(ys) and yy > 0):
            return
        if self.H is None:                  # scale H₀ = γ I before the first update (N&W 6.20)
            self.H = np.eye(x_new.size, dtype=x_new.dtype) * (ys / yy)
        # H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ = H + ρ (u sᵀ + s uᵀ),
        # u = ½(1 + ρ yᵀH y) s − H y: two in-place BLAS rank-1 updates, no n² temporaries
        rho = 1.0 / ys
        hy = self.H @ y
        u = (0.5 * (1.0 + rho * float(np.dot(y, hy)))) * s - hy
        ger = get_blas_funcs("ger", (self.H,))
        Ht = self.H.T                       # F-ordered view of the C-ordered H (in place)
        ger(rho, u, s, a=Ht, overwrite_a=True)
        ger(rho, s, u, a=Ht, overwrite_a=True)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.H is not None:
            state["H"] = self.H.copy()
        _best_state(self, state)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.H = get_array(state, "H", self.x)
        _load_best(self, state)
