"""Line searches shared by every optimizer with a ``step:`` rule.

Along x(t) = x + t d (projected onto a box when ``project`` is given) with
φ(t) = E(x(t)) and φ'(0) = ∇E(x)ᵀd < 0:

- :func:`armijo` — backtracking until φ(t) ≤ φ_ref + c1 t φ'(0) (c1 = 1e-4), with
  safeguarded quadratic interpolation of the next trial; ``φ_ref = φ(0)`` unless a
  non-monotone reference is given (Barzilai–Borwein).
- :func:`wolfe` — strong Wolfe conditions φ(t) ≤ φ(0) + c1 t φ'(0) and
  |φ'(t)| ≤ c2 |φ'(0)| (c1 = 1e-4, c2 = 0.9): bracketing then a zoom by safeguarded
  cubic interpolation (Nocedal & Wright, Alg. 3.5/3.6; the safeguards of minFunc).

A non-finite loss at a trial point counts as "too far": the search backs off. Every
search is bounded in evaluations; a failed search returns ``ok=False`` with a message
saying why, and the caller stops the fit with it. A search that fails because no
decrease is measurable — the predicted decrease |φ'(0)|·t, or every change |φ(t) − φ(0)|
the search saw, is within the rounding of the loss (:func:`rounding_level`) — is a
convergence, not a failure: ``converged=True`` and a message starting "converged:".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .base import Closure


@dataclass
class LineResult:
    """Outcome of a line search: the accepted step and the loss/gradient/point there."""

    ok: bool
    t: float
    f: float
    g: np.ndarray | None
    x: np.ndarray | None
    nfev: int
    message: str = ""
    converged: bool = False   # failed only because no decrease is measurable (see module)


def _point(x: np.ndarray, t: float, d: np.ndarray, project: Callable | None) -> np.ndarray:
    """x + t d (projected): one new array, formed in place (no second temporary)."""
    xt = np.multiply(d, t)
    xt += x
    if project is not None:
        project(xt)
    return xt


def _finite(f) -> float:
    f = float(f)
    return f if np.isfinite(f) else np.inf


def armijo(closure: Closure, x: np.ndarray, f0: float, dphi0: float, d: np.ndarray,
           t0: float, *, c1: float = 1e-4, f_ref: float | None = None,
           g0: np.ndarray | None = None, project: Callable | None = None,
           max_evals: int = 40) -> LineResult:
    """Backtracking to sufficient decrease.

    With ``project`` (a function clipping its argument in place) the path is
    x(t) = P(x + t d) and the condition reads φ(t) ≤ φ_ref + c1 ∇E(x)ᵀ(x(t) − x)
    (Bertsekas' projected Armijo rule); ``g0`` = ∇E(x) is then required.
    """
    if not dphi0 < 0:
        return LineResult(False, 0.0, f0, None, None, 0,
                          "armijo line search: not a descent direction")
    ref = f0 if f_ref is None else max(f_ref, f0)
    t, change = float(t0), np.inf
    for nfev in range(1, max_evals + 1):
        xt = _point(x, t, d, project)
        f, g = closure(xt)
        f = _finite(f)
        change = _change(f, f0, change)
        decrease = c1 * (t * dphi0 if project is None else float(np.dot(g0, xt - x)))
        if f <= ref + decrease and np.isfinite(np.dot(g, g)):
            return LineResult(True, t, f, g, xt, nfev)
        if np.isfinite(f) and f > f0:
            # minimiser of the quadratic through φ(0), φ'(0), φ(t), kept in [0.1 t, 0.5 t]
            t_q = -dphi0 * t * t / (2.0 * (f - f0 - dphi0 * t))
            t = float(np.clip(t_q, 0.1 * t, 0.5 * t))
        else:
            t *= 0.5                       # non-finite, or a non-monotone miss: halve
        if t * float(np.max(np.abs(d))) < 1e-16 * max(1.0, float(np.max(np.abs(x)))):
            return _failed("armijo", "the step no longer changes x at machine precision",
                           f0, dphi0, t0, change, x, t, nfev)
    return _failed("armijo", f"no sufficient decrease after {max_evals} evaluations (last "
                   f"step {t:.3g})", f0, dphi0, t0, change, x, t, max_evals)


def rounding_level(f0: float, dtype) -> float:
    """The smallest change of the loss that is not rounding noise: 1e-10·|f| in float64
    (a mean over many samples carries more than one ulp of error), 100 ulps in float32."""
    return max(1e-10, 100 * float(np.finfo(dtype).eps)) * max(abs(f0), 1e-300)


def _failed(name: str, why: str, f0: float, dphi0: float, t0: float, change: float,
            x: np.ndarray, t: float, nfev: int) -> LineResult:
    """A failed search: a convergence when no decrease is measurable (``change``: the
    largest |φ(t) − φ(0)| over the finite trials, inf when none was finite)."""
    level = rounding_level(f0, x.dtype)
    predicted = abs(dphi0) * max(t0, 1.0)
    if predicted <= level or change <= level:
        what = (f"predicted decrease {predicted:.3g}" if predicted <= level
                else f"largest change seen {change:.3g}")
        return LineResult(False, t, f0, None, None, nfev,
                          f"converged: no decrease possible at rounding level ({what} <= "
                          f"{level:.3g}, the rounding level of the loss {f0:.6g})",
                          converged=True)
    return LineResult(False, t, f0, None, None, nfev, f"{name} line search failed: {why}")


def _change(f: float, f0: float, change: float) -> float:
    """The running max of |φ(t) − φ(0)| over finite trials (inf until one is finite)."""
    if not np.isfinite(f):
        return change
    return abs(f - f0) if not np.isfinite(change) else max(change, abs(f - f0))


def cubic_min(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float,
              lo: float | None = None, hi: float | None = None) -> float:
    """Minimiser of the cubic through (t1, f1, g1) and (t2, f2, g2), clipped to [lo, hi];
    the midpoint when the cubic has no minimiser or a value is not finite."""
    lo = min(t1, t2) if lo is None else lo
    hi = max(t1, t2) if hi is None else hi
    if not all(np.isfinite(v) for v in (f1, g1, f2, g2)) or t1 == t2:
        return 0.5 * (lo + hi)
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (t1 - t2)
    d2sq = d1 * d1 - g1 * g2
    if d2sq < 0:
        return 0.5 * (lo + hi)
    d2 = np.sqrt(d2sq)
    if t1 <= t2:
        den = g2 - g1 + 2.0 * d2
        tmin = t2 - (t2 - t1) * (g2 + d2 - d1) / den if den != 0 else 0.5 * (lo + hi)
    else:
        den = g1 - g2 + 2.0 * d2
        tmin = t1 - (t1 - t2) * (g1 + d2 - d1) / den if den != 0 else 0.5 * (lo + hi)
    if not np.isfinite(tmin):
        return 0.5 * (lo + hi)
    return float(min(max(tmin, lo), hi))


class _Phi:
    """φ(t) with its derivative; remembers each evaluated point for the caller."""

    def __init__(self, closure, x, d, t0, f0):
        self.closure, self.x, self.d, self.nfev, self.t0 = closure, x, d, 0, t0
        self.f0, self.change = f0, np.inf

    def __call__(self, t: float):
        xt = _point(self.x, t, self.d, None)
        f, g = self.closure(xt)
        self.nfev += 1
        f = _finite(f)
        self.change = _change(f, self.f0, self.change)
        dphi = float(np.dot(g, self.d))
        if not np.isfinite(dphi):
            f, dphi = np.inf, np.nan
        return [t, f, dphi, g, xt]


def wolfe(closure: Closure, x: np.ndarray, f0: float, g0: np.ndarray, dphi0: float,
          d: np.ndarray, t0: float, *, c1: float = 1e-4, c2: float = 0.9,
          max_evals: int = 25, tol_change: float = 1e-12) -> LineResult:
    """Strong Wolfe line search (bracketing + cubic zoom), at most ``max_evals`` evaluations.

    When the evaluations run out, the best point found that satisfies sufficient
    decrease is accepted; the search fails only when there is none.
    """
    if not dphi0 < 0:
        return LineResult(False, 0.0, f0, None, None, 0,
                          "wolfe line search: not a descent direction")
    phi = _Phi(closure, x, d, float(t0), f0)
    prev = [0.0, f0, dphi0, g0, x]
    cur = phi(float(t0))
    bracket = None
    while phi.nfev < max_evals:
        t, f, dp = cur[0], cur[1], cur[2]
        if f > f0 + c1 * t * dphi0 or (phi.nfev > 1 and f >= prev[1]):
            bracket = [prev, cur]
            break
        if abs(dp) <= -c2 * dphi0:
            return LineResult(True, t, f, cur[3], cur[4], phi.nfev)
        if dp >= 0:
            bracket = [prev, cur]
            break
        # extrapolate: cubic step in [t + 0.01 (t − t_prev), 10 t]
        t_new = cubic_min(prev[0], prev[1], prev[2], t, f, dp,
                          t + 0.01 * (t - prev[0]), 10.0 * t)
        prev, cur = cur, phi(t_new)
    if bracket is None:
        bracket = [prev, cur]
        if cur[1] <= f0 + c1 * cur[0] * dphi0 and abs(cur[2]) <= -c2 * dphi0:
            return LineResult(True, cur[0], cur[1], cur[3], cur[4], phi.nfev)
    return _zoom(phi, bracket, f0, dphi0, c1, c2, max_evals, tol_change)


def _zoom(phi: _Phi, bracket: list, f0: float, dphi0: float, c1: float, c2: float,
          max_evals: int, tol_change: float) -> LineResult:
    dmax = float(np.max(np.abs(phi.d)))
    low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    insufficient = False
    while phi.nfev < max_evals:
        a, b = bracket[0][0], bracket[1][0]
        if abs(b - a) * dmax < tol_change:
            break
        t = cubic_min(*bracket[0][:3], *bracket[1][:3])
        lo, hi = min(a, b), max(a, b)
        eps = 0.1 * (hi - lo)
        # keep the trial away from the ends of the bracket (minFunc's safeguard)
        if min(hi - t, t - lo) < eps:
            if insufficient or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        cur = phi(t)
        if cur[1] > f0 + c1 * t * dphi0 or cur[1] >= bracket[low][1]:
            bracket[high] = cur
        else:
            if abs(cur[2]) <= -c2 * dphi0:
                return LineResult(True, t, cur[1], cur[3], cur[4], phi.nfev)
            if cur[2] * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = cur
        low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    best = bracket[low]
    if best[0] > 0 and best[1] <= f0 + c1 * best[0] * dphi0:
        return LineResult(True, best[0], best[1], best[3], best[4], phi.nfev,
                          "wolfe: curvature condition not met, sufficient decrease accepted")
    return _failed("wolfe", f"no sufficient decrease after {phi.nfev} evaluations", f0, dphi0,
                   phi.t0, phi.change, phi.x, best[0], phi.nfev)


def estimate_lipschitz(closure: Closure, x: np.ndarray, g: np.ndarray) -> tuple[float, int]:
    """A secant estimate ‖∇E(x + h) − ∇E(x)‖ / ‖h‖ along h ∝ −g (one evaluation).

    Usually an underestimate of L; :func:`lipschitz_backtracking` raises it as needed.
    """
    gn = float(np.sqrt(np.dot(g, g)))
    if gn == 0 or not np.isfinite(gn):
        return 1.0, 0
    h = g * (-1e-3 * max(1.0, float(np.sqrt(np.dot(x, x)))) / gn)
    _, g1 = closure(x + h)
    diff = g1 - g
    L = float(np.sqrt(np.dot(diff, diff) / np.dot(h, h)))
    return (L if np.isfinite(L) and L > 0 else 1.0), 1


def lipschitz_backtracking(closure: Closure, y: np.ndarray, f_y: float, g_y: np.ndarray,
                           L: float, prox: Callable | None = None, *, eta: float = 2.0,
                           max_evals: int = 60):
    """Beck–Teboulle backtracking: the smallest L·ηⁱ with
    E(p) ≤ E(y) + ∇E(y)ᵀ(p − y) + (L/2)‖p − y‖², p = prox_{1/L}(y − ∇E(y)/L).

    ``prox(v, step)`` defaults to the identity (plain gradient step). Returns
    ``(L, p, E(p), evaluations, ok)``; only values (no gradients) are evaluated.
    """
    for nfev in range(1, max_evals + 1):
        p = y - g_y * (1.0 / L)
        if prox is not None:
            p = prox(p, 1.0 / L)
        f_p, _ = closure(p, need_grad=False)
        f_p = _finite(f_p)
        diff = p - y
        model = f_y + float(np.dot(g_y, diff)) + 0.5 * L * float(np.dot(diff, diff))
        # relative slack: at convergence both sides agree to rounding
        if f_p <= model + 1e-12 * abs(f_y):
            return L, p, f_p, nfev, True
        L *= eta
    return L, y, f_y, max_evals, False
