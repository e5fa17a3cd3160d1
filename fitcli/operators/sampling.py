"""Subsampling by an integer factor and its adjoint, as engine primitives.

* ``subsample`` keeps pixels 0, f, 2f, … along both image axes:
  (H, W[, C]) → (⌈H/f⌉, ⌈W/f⌉[, C]). Its adjoint is zero-filled upsampling
  (each kept pixel back in place, zeros elsewhere).
* ``subsample_area`` averages each f × f block, then keeps one value per block
  (H and W must be multiples of f). Its adjoint spreads each value, divided
  by f², over its block.
* ``subsample_centre`` samples the pixel-centre grid: low-resolution pixel k sits at
  high-resolution coordinate k·f + (f − 1)/2, the centre of its f-block — the grid of
  ``skimage.transform.resize``/``rescale``, PIL and camera binning. For an odd f that is
  pixel k·f + (f−1)/2; for an even f it falls between two pixels per axis and the value
  is their mean (linear interpolation at the half pixel). H and W must be multiples of f.

Grids: ``subsample`` keeps the *corner* grid (sample k on high-resolution pixel k·f);
``subsample_area`` and ``subsample_centre`` the *pixel-centre* grid. The super-resolution
baselines (:mod:`fitcli.models.superres.baseline`) follow the same grids.
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
    _check_multiple(x.shape, factor, "subsample_area")
    return x.reshape(_blocks(x.shape, factor)).mean(axis=(1, 3))


def area_adjoint(y: np.ndarray, factor: int, shape: tuple) -> np.ndarray:
    """Adjoint of :func:`area_array`: each value / f² spread over its block."""
    b = np.broadcast_to(y[:, None, :, None] / y.dtype.type(factor * factor), _blocks(shape, factor))
    return b.reshape(shape)


def _check_multiple(shape: tuple, factor: int, name: str) -> None:
    if shape[0] % factor or shape[1] % factor:
        raise ValueError(f"{name}: image {shape[0]}x{shape[1]} is not a multiple "
                         f"of the factor {factor}")


def _centre_taps(factor: int) -> tuple[int, ...]:
    """The pixels whose mean is the value at the block centre, per axis: one for an odd
    factor, the two middle ones for an even factor."""
    o = (factor - 1) // 2
    return (o,) if factor % 2 else (o, o + 1)


def centre_array(x: np.ndarray, factor: int) -> np.ndarray:
    """The image at the block centres k·f + (f−1)/2: (H, W[, C]) → (H/f, W/f[, C])."""
    _check(x.shape, factor)
    _check_multiple(x.shape, factor, "subsample_centre")
    taps = _centre_taps(factor)
    out = None
    for a in taps:
        for b in taps:
            v = x[a::factor, b::factor]
            out = np.array(v) if out is None else out.__iadd__(v)
    if len(taps) > 1:
        out *= out.dtype.type(0.25)
    return out


def centre_adjoint(y: np.ndarray, factor: int, shape: tuple) -> np.ndarray:
    """Adjoint of :func:`centre_array`: each value back on its centre pixel(s), shared."""
    out = np.zeros(shape, dtype=y.dtype)
    taps = _centre_taps(factor)
    v = y if len(taps) == 1 else y * y.dtype.type(0.25)
    for a in taps:
        for b in taps:
            out[a::factor, b::factor] = v
    return out


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

SUBSAMPLE_CENTRE = primitive(
    "subsample_centre",
    lambda x, factor: centre_array(x, factor),
    (lambda g, out, x, factor: centre_adjoint(g, factor, x.shape),),
    linear=True,
    doc="the image at the f-block centres (pixel-centre grid); static parameter factor",
)
MODES = {"sample": SUBSAMPLE, "area": SUBSAMPLE_AREA, "centre": SUBSAMPLE_CENTRE}
ARRAYS = {"sample": (subsample_array, upsample_zero), "area": (area_array, area_adjoint),
          "centre": (centre_array, centre_adjoint)}


def subsample(x, factor: int, mode: str = "sample") -> Tensor:
    """Subsample an image Tensor by ``factor``: ``mode`` 'sample' (x[::f, ::f], the corner
    grid), 'area' (f-block means) or 'centre' (the value at the f-block centres)."""
    if mode not in MODES:
        raise ValueError(f"subsample: mode must be 'sample', 'area' or 'centre', got {mode!r}")
    return fe.apply(MODES[mode], x, factor=int(factor))


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
    for shape, f in [((6, 8), 2), ((6, 9, 2), 3), ((8, 4), 4)]:
        cases.append(Case("subsample_centre", f"{shape} factor={f}",
                          lambda x, f=f: subsample(x, f, mode="centre"),
                          (rng.standard_normal(shape),)))
    return cases
