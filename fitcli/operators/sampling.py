"""Subsampling by an integer factor and its adjoint, as engine primitives.

* ``subsample`` keeps pixels 0, f, 2f, … along both image axes:
  (H, W[, C]) → (⌈H/f⌉, ⌈W/f⌉[, C]). Its adjoint is zero-filled upsampling
  (each kept pixel back in place, zeros elsewhere).
* ``subsample_area`` averages each f × f block, then keeps one value per block
  (H and W must be multiples of f). Its adjoint spreads each value, divided
  by f², over its block.

Sample k of the low-resolution grid sits on high-resolution pixel k·f (not at a
block centre); the bicubic baseline (:mod:`fitcli.models.superres.baseline`) uses the same grid.
"""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Tensor
from ..engine.extend import Case, primitive


def _check(shape: tuple, factor: int) -> None:
    if len(shape) not in (2, 3):
        raise ValueError(f"subsample: expected an image (H, W) or (H, W, C), got shape {shape}")
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"subsample: factor must be a positive integer, got {factor!r}")


def subsample_array(x: np.ndarray, factor: int) -> np.ndarray:
    """x[::f, ::f] as a contiguous array."""
    _check(x.shape, factor)
    return np.ascontiguousarray(x[::factor, ::factor])


def upsample_zero(y: np.ndarray, factor: int, shape: tuple) -> np.ndarray:
    """Adjoint of :func:`subsample_array`: y placed at pixels (k·f, l·f) of zeros(shape)."""
    out = np.zeros(shape, dtype=y.dtype)
    out[::factor, ::factor] = y
    return out


def _blocks(shape: tuple, factor: int) -> tuple:
    h, w = shape[0] // factor, shape[1] // factor
    return (h, factor, w, factor) + tuple(shape[2:])


def area_array(x: np.ndarray, factor: int) -> np.ndarray:
    """Mean over each f × f block: (H, W[, C]) → (H/f, W/f[, C])."""
    _check(x.shape, factor)
    if x.shape[0] % factor or x.shape[1] % factor:
        raise ValueError(f"subsample_area: image {x.shape[0]}x{x.shape[1]} is not a multiple "
                         f"of the factor {factor}")
    return x.reshape(_blocks(x.shape, factor)).mean(axis=(1, 3))


def area_adjoint(y: np.ndarray, factor: int, shape: tuple) -> np.ndarray:
    """Adjoint of :func:`area_array`: each value / f² spread over its block."""
    b = np.broadcast_to(y[:, None, :, None] / y.dtype.type(factor * factor), _blocks(shape, factor))
    return b.reshape(shape)


SUBSAMPLE = primitive(
    "subsample",
    lambda x, factor: subsample_array(x, factor),
    (lambda g, out, x, factor: upsample_zero(g, factor, x.shape),),   # Sᵀ: zero-fill
    linear=True,
    doc="keep pixels 0, f, 2f, ... of both image axes; static parameter factor",
)
SUBSAMPLE_AREA = primitive(
    "subsample_area",
    lambda x, factor: area_array(x, factor),
    (lambda g, out, x, factor: area_adjoint(g, factor, x.shape),),    # spread / f²
    linear=True,
    doc="average f x f blocks then keep one value per block; static parameter factor",
)


def subsample(x, factor: int, mode: str = "sample") -> Tensor:
    """Subsample an image Tensor by ``factor``: ``mode`` 'sample' (x[::f, ::f]) or 'area'."""
    if mode == "sample":
        return fe.apply(SUBSAMPLE, x, factor=int(factor))
    if mode == "area":
        return fe.apply(SUBSAMPLE_AREA, x, factor=int(factor))
    raise ValueError(f"subsample: mode must be 'sample' or 'area', got {mode!r}")


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Every factor on odd, colour and tiny images; area sampling on whole blocks."""
    cases = []
    for shape in [(7, 9), (6, 5, 3), (3, 3), (1, 4)]:
        for f in (1, 2, 3):
            cases.append(Case("subsample", f"{shape} factor={f}",
                              lambda x, f=f: subsample(x, f), (rng.standard_normal(shape),)))
    for shape, f in [((6, 8), 2), ((6, 9, 2), 3), ((4, 4), 4)]:
        cases.append(Case("subsample_area", f"{shape} factor={f}",
                          lambda x, f=f: subsample(x, f, mode="area"),
                          (rng.standard_normal(shape),)))
    return cases
