"""Regularisers of displacement fields u, shape (..., H, W) (e.g. (2, H, W)), as engine primitives.

Each is a scalar energy summed over pixels and components. ``diffusion`` and ``bending``
are primitives with a closed-form gradient (one pass instead of a chain of slices; the
gradient L u is itself a linear self-adjoint primitive, which gives the JVP); ``tv`` and
``smooth_tv`` are compositions of engine ops.
Differences are taken along the last two axes (rows, columns), and only
inside the image (free/Neumann boundary: no penalty across the edge):

* ``diffusion``  ½ Σ |∇u|²                    — first derivatives (membrane energy)
* ``bending``    ½ Σ u_rr² + 2 u_rc² + u_cc²   — second derivatives (thin-plate energy);
  zero for every affine field, so it does not fight a global rotation or scaling
* ``tv``         Σ |∇u_k|                      — isotropic TV per component (non-smooth:
  the subgradient 0 is used where ∇u_k = 0)
* ``smooth_tv``  Σ √(|∇u_k|² + eps²)           — TV-L1 optical flow's edge-preserving prior

The classes follow the :class:`~fitcli.regularizers.base.Regularizer` protocol (the
fit loop multiplies by ``weight``). ``FIELD_REGULARIZERS`` holds all four: it is the
registration model's own table (``RegistrationModel.regularizers``), not part of the
global ``REGULARIZERS`` (its ``tv`` / ``smooth_tv`` differ from the image ones: they
take a field (..., H, W) and act per component).
"""

from __future__ import annotations

import numpy as np

from ... import engine as fe
from ...engine import Tensor, apply
from ...engine.extend import Case, primitive
from ...errors import ConfigError
from ...optim.prox import tv_prox
from ...regularizers.base import Regularizer

__all__ = ["Bending", "Diffusion", "FIELD_REGULARIZERS", "FieldSmoothTV", "FieldTV", "bending",
           "diffusion", "gradcheck_cases", "smooth_tv", "tv"]


def _sl(ndim: int, axis: int, s: slice) -> tuple:
    idx = [slice(None)] * ndim
    idx[axis] = s
    return tuple(idx)


def _d(u: np.ndarray, axis: int) -> np.ndarray:
    """Forward difference along ``axis`` (length n → n-1): one subtraction of two views."""
    return np.subtract(u[_sl(u.ndim, axis, slice(1, None))],
                       u[_sl(u.ndim, axis, slice(None, -1))])


def _dt(g: np.ndarray, axis: int, out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of :func:`_d` (length n-1 → n): −(backward difference) with zero ends,
    written into slices of one array (added to ``out`` when given)."""
    shape = list(g.shape)
    shape[axis] += 1
    if out is None:
        out = np.zeros(shape, dtype=g.dtype)
    out[_sl(g.ndim, axis, slice(None, -1))] -= g
    out[_sl(g.ndim, axis, slice(1, None))] += g
    return out


def _check_field(u: np.ndarray, name: str) -> None:
    if u.ndim < 2:
        raise ValueError(f"{name}: expected a field of shape (..., H, W), got {u.shape}")


# -- diffusion ½ Σ |D_r u|² + |D_c u|²;  gradient D_rᵀD_r u + D_cᵀD_c u -------------------
def _sumsq(a: np.ndarray) -> float:
    a = a.ravel()
    return float(np.dot(a, a))


def _diffusion_fwd(u):
    _check_field(u, "diffusion")
    return 0.5 * (_sumsq(_d(u, -2)) + _sumsq(_d(u, -1)))


def _diffusion_grad(u):
    return _dt(_d(u, -1), -1, out=_dt(_d(u, -2), -2))


# -- bending ½ Σ (D_rr u)² + 2 (D_rc u)² + (D_cc u)² -------------------------------------
def _bending_terms(u):
    return _d(_d(u, -2), -2), _d(_d(u, -2), -1), _d(_d(u, -1), -1)


def _bending_fwd(u):
    _check_field(u, "bending")
    rr, rc, cc = _bending_terms(u)
    return 0.5 * (_sumsq(rr) + 2 * _sumsq(rc) + _sumsq(cc))


def _bending_grad(u):
    rr, rc, cc = _bending_terms(u)
    rc *= 2
    out = _dt(_dt(rr, -2), -2)
    out = _dt(_dt(rc, -1), -2, out=out)
    return _dt(_dt(cc, -1), -1, out=out)


# -- tv / smooth_tv: Σ √((D_r u)² + (D_c u)² + eps²), differences zero-padded at the far edge --
# (compositions of engine ops: slices, pad, norm — their VJPs and JVPs come for free)
def _padded_differences(u) -> tuple[Tensor, Tensor]:
    lead = [(0, 0)] * (u.ndim - 2)
    gr = fe.pad(u[..., 1:, :] - u[..., :-1, :], lead + [(0, 1), (0, 0)])
    gc = fe.pad(u[..., :, 1:] - u[..., :, :-1], lead + [(0, 0), (0, 1)])
    return gr, gc


def _scalar_op(name, fwd, grad, doc):
    """A quadratic energy ½⟨u, L u⟩ as a primitive, with its gradient L u a linear
    (self-adjoint) primitive of its own — the JVP ⟨L u, t⟩ is then engine ops."""
    grad_op = primitive(name + "_grad", lambda u: grad(u), (lambda g, out, u: grad(g),),
                        linear=True, doc=f"gradient of {doc} (self-adjoint)")

    def f(u):
        return np.asarray(fwd(u), dtype=u.dtype)

    def vjp(g, out, u):
        return g * grad(u)

    def jvp(t, out, u):
        return fe.sum(apply(grad_op, u) * t[0])

    return primitive(name, f, (vjp,), jvp=jvp, doc=doc), grad_op


(diffusion_op, diffusion_grad_op) = _scalar_op("field_diffusion", _diffusion_fwd,
                                               _diffusion_grad, "½ Σ |∇u|²")
(bending_op, bending_grad_op) = _scalar_op("field_bending", _bending_fwd, _bending_grad,
                                           "½ Σ u_rr² + 2u_rc² + u_cc²")


def diffusion(u) -> Tensor:
    """½ Σ |∇u|² over the last two axes of ``u`` (..., H, W)."""
    return apply(diffusion_op, u)


def bending(u) -> Tensor:
    """½ Σ (u_rr² + 2 u_rc² + u_cc²) over the last two axes of ``u`` (..., H, W)."""
    return apply(bending_op, u)


def tv(u) -> Tensor:
    """Σ |∇u_k|: isotropic total variation of each component of ``u`` (..., H, W)
    (subgradient 0 where ∇u_k = 0)."""
    u = u if isinstance(u, Tensor) else Tensor(u)
    _check_field(u.data, "tv")
    gr, gc = _padded_differences(u)
    return fe.sum(fe.norm(fe.stack([gr, gc]), axis=0))


def smooth_tv(u, eps: float = 0.01) -> Tensor:
    """Σ √(|∇u_k|² + eps²): differentiable total variation of ``u`` (..., H, W)."""
    u = u if isinstance(u, Tensor) else Tensor(u)
    _check_field(u.data, "smooth_tv")
    gr, gc = _padded_differences(u)
    return fe.sum(fe.sqrt(gr * gr + gc * gc + float(eps) ** 2))


class _FieldRegularizer(Regularizer):
    """R(u) on a displacement block (..., H, W); the fit loop multiplies by ``weight``."""
    applies_to = "field"

    energy = staticmethod(diffusion)

    def __call__(self, u) -> Tensor:
        return self.energy(u)

    def value(self, u: np.ndarray) -> float:
        return float(self.energy(Tensor(u)).data)


class Diffusion(_FieldRegularizer):
    """½ Σ |∇u|² (membrane energy of a displacement field)."""

    name = "diffusion"
    formula = "½Σ|∇u|²"
    energy = staticmethod(diffusion)


class Bending(_FieldRegularizer):
    """½ Σ (u_rr² + 2 u_rc² + u_cc²) (thin-plate bending energy; zero on affine fields)."""

    name = "bending"
    formula = "½Σ(u_rr² + 2u_rc² + u_cc²)"
    energy = staticmethod(bending)


class FieldTV(_FieldRegularizer):
    """Σ |∇u_k| per component (non-smooth: subgradient in the closure, prox per component)."""

    name = "tv"
    smooth = False
    formula = "Σ_k Σ|∇u_k|"
    energy = staticmethod(tv)

    def prox(self, u: np.ndarray, step: float) -> np.ndarray:
        flat = u.reshape((-1,) + u.shape[-2:])
        return np.stack([tv_prox(c, step, shape=c.shape) for c in flat]).reshape(u.shape)


class FieldSmoothTV(_FieldRegularizer):
    """Σ √(|∇u_k|² + eps²) per component (edge-preserving, differentiable)."""

    name = "smooth_tv"
    formula = "Σ_k Σ√(|∇u_k|² + ε²)"

    def __init__(self, *, eps: float = 0.01):
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (
                np.isfinite(eps) and eps > 0):
            raise ConfigError("regularization.eps", "a positive number", eps)
        self.eps = float(eps)

    def __call__(self, u) -> Tensor:
        return smooth_tv(u, self.eps)


# The displacement-field regularisers by YAML name (tv / smooth_tv here act per field
# component on (..., H, W); the image ones of the same name in REGULARIZERS take (H, W[, C])).
FIELD_REGULARIZERS: dict[str, type[Regularizer]] = {
    c.name: c for c in (Diffusion, Bending, FieldTV, FieldSmoothTV)}


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Gradient-check cases for the field-regulariser primitives on several shapes."""
    cases = []
    for shape in [(4, 5), (2, 3, 4), (2, 6, 6), (1, 3, 3, 2)]:
        u = rng.standard_normal(shape)
        label = str(shape)
        cases.append(Case("field_diffusion", label, diffusion, (u,)))
        cases.append(Case("field_bending", label, bending, (u,)))
        cases.append(Case("field_diffusion_grad", label, lambda a: apply(diffusion_grad_op, a),
                          (u,)))
        cases.append(Case("field_bending_grad", label, lambda a: apply(bending_grad_op, a),
                          (u,)))
    return cases
