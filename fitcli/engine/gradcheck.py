"""The gradient checker shared by the tests and ``fitcli gradcheck``.

For a function ``f`` of several arrays, with a random output cotangent ``u``
the scalar φ(x) = ⟨u, f(x)⟩ has gradient Jᵀu, which one reverse sweep gives.
Small inputs are checked element by element against central differences of φ;
large ones by random projections: (φ(x + εv) − φ(x − εv)) / 2ε against
⟨Jᵀu, v⟩. Everything in float64. An element passes when
``|numerical − analytical| <= atol + rtol·|numerical|`` (torch's defaults).

* :func:`check_jvp` checks forward mode the same way, output element by element;
* :func:`check_modes` compares reverse with forward directly: ⟨u, J v⟩ = ⟨Jᵀu, v⟩
  (no finite differences, so agreement to rounding is required);
* :func:`check_adjoint` is the dot-product test of a linear map A:
  ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ (Aᵀ being the VJP), the sharpest check of a linear operator
  (``op.linear`` in the op table);
* :func:`check` runs the checks of a ``mode`` and turns an exception raised inside
  them into one failed result naming the function, so a battery goes on.

Kinks: the finite-difference stencil [x − ε, x + ε] may straddle a point where the
function is not differentiable (abs, relu, max at a tie, clip at a bound). Central
differences then average the two one-sided slopes, which need not be the derivative
the rule returns. Each element's one-sided slopes (φ(x ± ε) against φ(x)) are compared;
where they differ by more than smooth curvature could explain (:func:`_kinks` checks
that at two more step sizes), the result counts a kink and, for the worst element,
carries both slopes (:attr:`CheckResult.one_sided`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .tensor import Tensor, backward

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
EXACT_RTOL = 1e-9   # rev-fwd and adjoint: both sides exact up to rounding
KINK = 10.0         # one-sided slopes differing by KINK·(atol + rtol·|slope|) mark a kink
MAX_FULL = 512      # inputs with more elements are checked by random projections
PROJECTIONS = 4
MODES = ("reverse", "forward", "all", "adjoint")

_WHERE = {"full": "element {}", "projection": "projection {}",
          "jvp": "output element {} (forward mode)",
          "rev-fwd": "direction {} (reverse ⟨Jᵀu, v⟩ vs forward ⟨u, Jv⟩)",
          "adjoint": "dot-product test ⟨Ax, y⟩ vs ⟨x, Aᵀy⟩"}
_SIDES = {"rev-fwd": ("forward", "reverse"), "adjoint": ("⟨Ax, y⟩", "⟨x, Aᵀy⟩")}


@dataclass
class CheckResult:
    """The comparison for one input (or parameter block) of one function."""

    name: str                 # the op or objective checked
    input: str                # which input / parameter block
    shape: tuple
    method: str               # full, projection, jvp, rev-fwd, adjoint or error
    max_abs_err: float
    max_rel_err: float
    worst: tuple | int        # worst element index (full) or projection number
    numerical: float          # (rev-fwd: the forward value; adjoint: ⟨Ax, y⟩)
    analytical: float         # (rev-fwd: the reverse value; adjoint: ⟨x, Aᵀy⟩)
    passed: bool
    label: str = ""           # e.g. the shapes of the case
    kinks: int = 0            # elements whose stencil straddles a kink
    one_sided: tuple | None = None   # the worst element's (left, right) slopes at a kink
    error: str = ""           # the exception that stopped the check (method "error")

    def failure_line(self) -> str:
        if self.error:
            return f"{self.name} {self.label}: raised {self.error}"
        num, ana = _SIDES.get(self.method, ("numerical", "analytical"))
        line = (f"{self.name} {self.label}: input {self.input}, "
                f"{_WHERE[self.method].format(self.worst)}: {num} {self.numerical:.10g} vs "
                f"{ana} {self.analytical:.10g} (abs err {self.max_abs_err:.3g}, "
                f"rel err {self.max_rel_err:.3g})")
        return line + (f"; {self.kink_hint()}" if self.one_sided else "")

    def kink_hint(self) -> str:
        left, right = self.one_sided
        return (f"the finite-difference stencil straddles a kink (one-sided slopes "
                f"{left:.6g} and {right:.6g}): central differences average them; move the "
                f"point off the kink or lower --eps")


def errored(name: str, label: str, exc: BaseException) -> CheckResult:
    """A failed result for a check that raised ``exc``."""
    return CheckResult(name, "-", (), "error", np.nan, np.nan, 0, np.nan, np.nan, False,
                       label=label, error=f"{type(exc).__name__}: {exc}")


def _value(f, arrays) -> np.ndarray:
    out = f(*arrays)
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def _compare(num, ana, atol, rtol):
    err = np.abs(num - ana)
    rel = err / np.maximum(np.maximum(np.abs(num), np.abs(ana)), 1e-300)
    bad = err - (atol + rtol * np.abs(num))
    k = int(np.argmax(bad)) if num.size else 0
    return err, rel, k, bool(np.all(bad <= 0))


def _kinks(plus, zero, minus, eps, atol, rtol, at):
    """Per element: does the stencil straddle a kink? Returns (mask, left, right slopes).

    Cheap test first: the one-sided slopes differ by more than KINK·(atol + rtol·|slope|).
    Curvature also makes them differ (by ε·φ''), so each element flagged is confirmed at
    two more scales: for a smooth φ the jump right − left is proportional to the step
    (jump(ε) ≈ 2·jump(ε/2), jump(2ε) ≈ 2·jump(ε)); a kink within 2ε breaks one of the
    two. ``at(h, idx) -> (φ(x + h·eᵢ), φ(x − h·eᵢ))`` for the flagged elements ``idx``.
    """
    right, left = (plus - zero) / eps, (zero - minus) / eps
    scale = atol + rtol * np.maximum(np.abs(left), np.abs(right))
    mask = np.abs(right - left) > KINK * scale
    idx = np.flatnonzero(mask)
    if idx.size:
        z = zero.ravel()[idx] if np.ndim(zero) else zero

        def jump(h):
            p, m = at(h, idx)
            return (np.asarray(p) - 2 * z + np.asarray(m)) / h

        j1, j2, j4 = jump(eps / 2), (right - left).ravel()[idx], jump(2 * eps)
        tol = atol + rtol * scale.ravel()[idx]
        smooth = (np.abs(j2 - 2 * j1) <= 0.25 * np.abs(j2) + tol) & (
            np.abs(j4 - 2 * j2) <= 0.25 * np.abs(j4) + tol)
        mask.ravel()[idx[smooth]] = False
    return mask, left, right


def _result(num, ana, atol, rtol, method, index_shape, kinks=None, **fields) -> CheckResult:
    """Compare and report the worst element (its index in ``index_shape``, or its
    position in the list when ``index_shape`` is None); ``kinks`` = (mask, left, right)."""
    err, rel, k, ok = _compare(num, ana, atol, rtol)
    if index_shape is None:
        worst = k
    else:
        worst = tuple(int(w) for w in np.unravel_index(k, index_shape)) if index_shape else ()
    n_kinks, one_sided = 0, None
    if kinks is not None:
        mask, left, right = kinks
        n_kinks = int(np.count_nonzero(mask))
        if n_kinks and mask.ravel()[k]:
            one_sided = (float(left.ravel()[k]), float(right.ravel()[k]))
    return CheckResult(
        method=method, max_abs_err=float(err.max(initial=0.0)),
        max_rel_err=float(rel.max(initial=0.0)), worst=worst,
        numerical=float(num[k]) if num.size else 0.0,
        analytical=float(ana[k]) if ana.size else 0.0, passed=ok, kinks=n_kinks,
        one_sided=one_sided, **fields)


def _setup(args, argnums, input_names, rng):
    rng = np.random.default_rng(0) if rng is None else rng
    arrays = [np.array(a, dtype=np.float64) for a in args]
    argnums = list(range(len(arrays))) if argnums is None else list(argnums)
    names = list(input_names) if input_names is not None else [str(i) for i in range(len(arrays))]
    return rng, arrays, argnums, names


def _reverse(f, arrays, argnums, u=None, rng=None):
    """(output, cotangent u, gradients ⟨u, f⟩ per input) by one reverse sweep."""
    leaves = [Tensor(a, requires_grad=(i in argnums)) for i, a in enumerate(arrays)]
    out = f(*leaves)
    out_data = np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)
    if u is None:
        u = rng.standard_normal(out_data.shape)
    if isinstance(out, Tensor) and out.requires_grad:
        backward(out, seed=u)
    grads = [leaf.grad if leaf.grad is not None else np.zeros_like(a)
             for leaf, a in zip(leaves, arrays, strict=True)]
    return out_data, u, grads


def check_grad(
    f: Callable,
    args: Sequence[np.ndarray],
    *,
    name: str = "f",
    label: str = "",
    input_names: Sequence[str] | None = None,
    argnums: Sequence[int] | None = None,
    rng: np.random.Generator | None = None,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    max_full: int = MAX_FULL,
    projections: int = PROJECTIONS,
) -> list[CheckResult]:
    """Compare the reverse-mode VJP of ``f`` with central differences, per input.

    Parameters
    ----------
    f : callable
        ``f(*args) -> Tensor`` (any shape), built from engine functions.
    args : sequence of arrays
        The point; converted to float64.
    argnums : inputs to check (default: all).
    """
    rng, arrays, argnums, names = _setup(args, argnums, input_names, rng)
    out0, u, grads = _reverse(f, arrays, argnums, rng=rng)
    phi0 = float(np.sum(u * out0))
    results = []
    for i in argnums:
        x = arrays[i]

        def phi_at(xi, i=i):
            return float(np.sum(u * _value(f, arrays[:i] + [xi] + arrays[i + 1:])))

        if x.size <= max_full:
            method, dirs = "full", None
            flat = x.ravel()
            plus, minus = np.empty(x.size), np.empty(x.size)
            for j in range(x.size):  # one pair of evaluations per element (the point of FD)
                xp, xm = flat.copy(), flat.copy()
                xp[j] += eps
                xm[j] -= eps
                plus[j], minus[j] = phi_at(xp.reshape(x.shape)), phi_at(xm.reshape(x.shape))
            ana = grads[i].ravel()
        else:
            method = "projection"
            dirs = rng.standard_normal((projections,) + x.shape)
            plus = np.array([phi_at(x + eps * v) for v in dirs])
            minus = np.array([phi_at(x - eps * v) for v in dirs])
            ana = np.array([np.sum(grads[i] * v) for v in dirs])
        num = (plus - minus) / (2 * eps)

        def at(h, idx, x=x, dirs=dirs, phi_at=phi_at):
            """φ at x ± h along element (full) or projection (projection) ``idx``."""
            if dirs is None:
                steps = [np.eye(1, x.size, j).reshape(x.shape) for j in idx]
            else:
                steps = [dirs[j] for j in idx]
            return ([phi_at(x + h * e) for e in steps], [phi_at(x - h * e) for e in steps])

        results.append(_result(num, ana, atol, rtol, method,
                               x.shape if method == "full" else None,
                               _kinks(plus, phi0, minus, eps, atol, rtol, at), name=name,
                               input=names[i], shape=x.shape, label=label))
    return results


def check_jvp(
    f: Callable,
    args: Sequence[np.ndarray],
    *,
    name: str = "f",
    label: str = "",
    input_names: Sequence[str] | None = None,
    argnums: Sequence[int] | None = None,
    rng: np.random.Generator | None = None,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
) -> list[CheckResult]:
    """Compare forward mode J·v with central differences (f(x+εv) − f(x−εv)) / 2ε, per input.

    ``v`` is a random direction on input ``i`` (zero elsewhere); every output
    element is compared, the worst one is reported.
    """
    from .functional import jvp

    rng, arrays, argnums, names = _setup(args, argnums, input_names, rng)
    zero = _value(f, arrays)
    results = []
    for i in argnums:
        v = rng.standard_normal(arrays[i].shape)
        tangents = [np.zeros_like(a) for a in arrays]
        tangents[i] = v
        ana = np.asarray(jvp(f, arrays, tangents)[1], dtype=np.float64).ravel()
        plus = _value(f, arrays[:i] + [np.asarray(arrays[i] + eps * v)] + arrays[i + 1:])
        minus = _value(f, arrays[:i] + [np.asarray(arrays[i] - eps * v)] + arrays[i + 1:])
        num = ((plus - minus) / (2 * eps)).ravel()

        def at(h, idx, i=i, v=v):
            """f at x ± h·v (input i), the output elements ``idx``."""
            moved = [_value(f, arrays[:i] + [np.asarray(arrays[i] + sign * h * v)]
                            + arrays[i + 1:]).ravel()[idx] for sign in (1, -1)]
            return moved[0], moved[1]

        results.append(_result(num, ana, atol, rtol, "jvp", zero.shape,
                               _kinks(plus.ravel(), zero.ravel(), minus.ravel(), eps, atol, rtol,
                                      at),
                               name=name, input=names[i], shape=arrays[i].shape, label=label))
    return results


def _exact(lhs: float, rhs: float, scale: float, method, **fields) -> CheckResult:
    """Two values that must agree to rounding: |lhs − rhs| <= EXACT_RTOL·scale, where
    ``scale`` is the sum of the absolute terms of the inner products (cancellation-proof)."""
    err = abs(lhs - rhs)
    rel = err / max(abs(lhs), abs(rhs), 1e-300)
    return CheckResult(method=method, max_abs_err=err, max_rel_err=rel, worst=0,
                       numerical=lhs, analytical=rhs, passed=err <= EXACT_RTOL * scale + 1e-300,
                       **fields)


def check_modes(f: Callable, args: Sequence[np.ndarray], *, name: str = "f", label: str = "",
                input_names: Sequence[str] | None = None, argnums: Sequence[int] | None = None,
                rng: np.random.Generator | None = None, **_tolerances) -> list[CheckResult]:
    """Reverse against forward mode directly, per input: ⟨u, J v⟩ (one JVP) must equal
    ⟨Jᵀu, v⟩ (one VJP) for random u, v up to rounding — no finite differences."""
    from .functional import jvp

    rng, arrays, argnums, names = _setup(args, argnums, input_names, rng)
    _, u, grads = _reverse(f, arrays, argnums, rng=rng)
    results = []
    for i in argnums:
        v = rng.standard_normal(arrays[i].shape)
        tangents = [np.zeros_like(a) for a in arrays]
        tangents[i] = v
        jv = np.asarray(jvp(f, arrays, tangents)[1], dtype=np.float64)
        fwd, rev = float(np.sum(u * jv)), float(np.sum(grads[i] * v))
        scale = float(np.sum(np.abs(u * jv)) + np.sum(np.abs(grads[i] * v)))
        results.append(_exact(fwd, rev, scale, "rev-fwd", name=name, input=names[i],
                              shape=arrays[i].shape, label=label))
    return results


def check_adjoint(f: Callable, args: Sequence[np.ndarray], *, name: str = "f", label: str = "",
                  rng: np.random.Generator | None = None, **_tolerances) -> list[CheckResult]:
    """The dot-product test of a linear ``f`` (jointly linear in all its inputs):
    ⟨f(x), y⟩ = Σᵢ ⟨xᵢ, Aᵢᵀ y⟩ for a random y, Aᵢᵀ y being the VJP. An affine ``f``
    (e.g. pad with a constant value) is tested through f(x) − f(0)."""
    rng = checker_rng(0) if rng is None else rng
    rng, arrays, argnums, _ = _setup(args, None, None, rng)
    out, y, grads = _reverse(f, arrays, argnums, rng=rng)
    out = out - _value(f, [np.zeros_like(a) for a in arrays])
    lhs = float(np.sum(out * y))
    rhs = float(sum(np.sum(x * g) for x, g in zip(arrays, grads, strict=True)))
    scale = float(np.sum(np.abs(out * y)) + sum(np.sum(np.abs(x * g))
                                                for x, g in zip(arrays, grads, strict=True)))
    return [_exact(lhs, rhs, scale, "adjoint", name=name, input="all",
                   shape=out.shape, label=label)]


def checker_rng(seed: int) -> np.random.Generator:
    """The generator of the random cotangents and directions for ``seed``: a stream of
    its own, so that y never equals a point drawn from the same seed (the battery's), for
    ⟨Ax, x⟩ = ⟨x, Aᵀx⟩ holds for any A and would blind the dot-product test."""
    return np.random.default_rng((seed, 1))


_CHECKS = {"reverse": (check_grad,), "forward": (check_jvp,),
           "all": (check_grad, check_jvp, check_modes), "adjoint": (check_adjoint,)}


def check(f: Callable, args: Sequence[np.ndarray], mode: str = "reverse", *,
          seed: int = 0, name: str = "f", label: str = "", **options) -> list[CheckResult]:
    """The checks of ``mode`` (reverse, forward, all = both + rev-fwd, adjoint), each from
    :func:`checker_rng` of ``seed``. An exception raised inside a check becomes one
    failed result naming ``name`` (the other checks still run)."""
    results = []
    for fn in _CHECKS[mode]:
        try:
            results += fn(f, args, name=name, label=label,
                          rng=checker_rng(seed), **options)
        except Exception as exc:  # noqa: BLE001 — any bug in a rule is a FAIL row, not a crash
            results.append(errored(name, f"{label} ({fn.__name__})".strip(), exc))
    return results
