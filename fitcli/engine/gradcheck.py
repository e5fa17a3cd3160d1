"""The gradient checker shared by the tests and ``fitcli gradcheck``.

For a function ``f`` of several arrays, with a random output cotangent ``u``
the scalar φ(x) = ⟨u, f(x)⟩ has gradient Jᵀu, which one reverse sweep gives.
Small inputs are checked element by element against central differences of φ;
large ones by random projections: (φ(x + εv) − φ(x − εv)) / 2ε against
⟨Jᵀu, v⟩. Everything in float64. An element passes when
``|numerical − analytical| <= atol + rtol·|numerical|`` (torch's defaults).
:func:`check_jvp` checks forward mode the same way, output element by element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .tensor import Tensor, backward

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
MAX_FULL = 512  # inputs with more elements are checked by random projections
PROJECTIONS = 4


@dataclass
class CheckResult:
    """The comparison for one input (or parameter block) of one function."""

    name: str                 # the op or objective checked
    input: str                # which input / parameter block
    shape: tuple
    method: str               # "full" (every element), "projection" or "jvp" (forward mode)
    max_abs_err: float
    max_rel_err: float
    worst: tuple | int        # worst element index (full) or projection number
    numerical: float
    analytical: float
    passed: bool
    label: str = ""           # e.g. the shapes of the case

    def failure_line(self) -> str:
        where = {"full": f"element {self.worst}", "projection": f"projection {self.worst}",
                 "jvp": f"output element {self.worst} (forward mode)"}[self.method]
        return (
            f"{self.name} {self.label}: input {self.input}, {where}: numerical "
            f"{self.numerical:.10g} vs analytical {self.analytical:.10g} "
            f"(abs err {self.max_abs_err:.3g}, rel err {self.max_rel_err:.3g})"
        )


def _phi(f, arrays, u) -> float:
    out = f(*arrays)
    out = out.data if isinstance(out, Tensor) else np.asarray(out)
    return float(np.sum(u * out))


def _compare(num, ana, atol, rtol):
    err = np.abs(num - ana)
    rel = err / np.maximum(np.maximum(np.abs(num), np.abs(ana)), 1e-300)
    bad = err - (atol + rtol * np.abs(num))
    k = int(np.argmax(bad)) if num.size else 0
    return err, rel, k, bool(np.all(bad <= 0))


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
    rng = np.random.default_rng(0) if rng is None else rng
    arrays = [np.array(a, dtype=np.float64) for a in args]
    argnums = list(range(len(arrays))) if argnums is None else list(argnums)
    names = list(input_names) if input_names is not None else [str(i) for i in range(len(arrays))]

    leaves = [Tensor(a, requires_grad=(i in argnums)) for i, a in enumerate(arrays)]
    out = f(*leaves)
    out_data = out.data if isinstance(out, Tensor) else np.asarray(out)
    u = rng.standard_normal(out_data.shape)
    if isinstance(out, Tensor) and out.requires_grad:
        backward(out, seed=u)

    results = []
    for i in argnums:
        x = arrays[i]
        ana_full = leaves[i].grad if leaves[i].grad is not None else np.zeros_like(x)

        def phi_at(xi, i=i):
            return _phi(f, arrays[:i] + [xi] + arrays[i + 1:], u)

        if x.size <= max_full:
            method = "full"
            num = np.empty(x.size)
            flat = x.ravel()
            for j in range(x.size):  # one pair of evaluations per element (the point of FD)
                xp, xm = flat.copy(), flat.copy()
                xp[j] += eps
                xm[j] -= eps
                num[j] = (phi_at(xp.reshape(x.shape)) - phi_at(xm.reshape(x.shape))) / (2 * eps)
            ana = ana_full.ravel()
        else:
            method = "projection"
            vs = rng.standard_normal((projections,) + x.shape)
            num = np.array([(phi_at(x + eps * v) - phi_at(x - eps * v)) / (2 * eps) for v in vs])
            ana = np.array([np.sum(ana_full * v) for v in vs])
        results.append(_result(num, ana, atol, rtol, method, x.shape if method == "full"
                               else None, name=name, input=names[i], shape=x.shape,
                               label=label))
    return results


def _result(num, ana, atol, rtol, method, index_shape, **fields) -> CheckResult:
    """Compare and report the worst element (its index in ``index_shape``, or its
    position in the list when ``index_shape`` is None)."""
    err, rel, k, ok = _compare(num, ana, atol, rtol)
    if index_shape is None:
        worst = k
    else:
        worst = tuple(int(w) for w in np.unravel_index(k, index_shape)) if index_shape else ()
    return CheckResult(
        method=method, max_abs_err=float(err.max(initial=0.0)),
        max_rel_err=float(rel.max(initial=0.0)), worst=worst,
        numerical=float(num[k]) if num.size else 0.0,
        analytical=float(ana[k]) if ana.size else 0.0, passed=ok, **fields)


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

    rng = np.random.default_rng(0) if rng is None else rng
    arrays = [np.array(a, dtype=np.float64) for a in args]
    argnums = list(range(len(arrays))) if argnums is None else list(argnums)
    names = list(input_names) if input_names is not None else [str(i) for i in range(len(arrays))]

    def value(xs):
        out = f(*xs)
        return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)

    results = []
    for i in argnums:
        v = rng.standard_normal(arrays[i].shape)
        tangents = [np.zeros_like(a) for a in arrays]
        tangents[i] = v
        ana = np.asarray(jvp(f, arrays, tangents)[1], dtype=np.float64).ravel()
        plus = arrays[:i] + [np.asarray(arrays[i] + eps * v)] + arrays[i + 1:]
        minus = arrays[:i] + [np.asarray(arrays[i] - eps * v)] + arrays[i + 1:]
        num = ((value(plus) - value(minus)) / (2 * eps)).ravel()
        results.append(_result(num, ana, atol, rtol, "jvp", value(arrays).shape, name=name,
                               input=names[i], shape=arrays[i].shape, label=label))
    return results
