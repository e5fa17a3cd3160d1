"""Warping: sampling an image at arbitrary (row, col) coordinates, as engine primitives.

Two interpolators, each a primitive ``op(image, coords, boundary=...)`` with
a VJP for both inputs:

* ``warp_linear``: bilinear interpolation of the image itself. Agrees with
  ``scipy.ndimage.map_coordinates(order=1)`` (``mode="nearest"`` for
  ``border``, ``mode="grid-constant", cval=0`` for ``zeros``).
* ``warp_cubic``: cubic B-spline interpolation of spline *coefficients*
  (see :func:`spline_coefficients`); with the mirror-prefiltered
  coefficients it agrees with ``map_coordinates(order=3, mode="mirror")`` at
  coordinates clamped to the image. Smoother and much more accurate than
  bilinear for sub-pixel registration (its gradient is continuous).

An output pixel is Σ_k w_k(coords) · image[idx_k(coords)] over the taps k.
The VJP w.r.t. the image is the adjoint of that gather, a scatter-add
(``np.bincount`` over the flat tap indices); the VJP w.r.t. the coordinates is
g · Σ_k ∂w_k/∂coords · image[idx_k] — the derivative of the interpolant.
Coordinates: shape (2, ...) — row then column, in pixels, (0, 0) the centre
of the top-left pixel, as scikit-image's ``warp`` takes them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.linalg import solve_banded

from ..engine import Op, Tensor, apply, register
from ..engine.cases import Case

__all__ = ["BOUNDARIES", "spline_coefficients", "warp", "warp_cubic", "warp_linear",
           "identity_grid", "gradcheck_cases"]

BOUNDARIES = ("border", "zeros")


def _check(image: np.ndarray, coords: np.ndarray, boundary: str) -> None:
    if image.ndim != 2:
        raise ValueError(f"warp: image must be 2-d (H, W), got shape {image.shape}")
    if coords.ndim < 1 or coords.shape[0] != 2:
        raise ValueError(f"warp: coords must have shape (2, ...), got {coords.shape}")
    if boundary not in BOUNDARIES:
        raise ValueError(f"warp: boundary must be one of {BOUNDARIES}, got {boundary!r}")


# -- bilinear -------------------------------------------------------------------------
def _linear_axis(x: np.ndarray, n: int, boundary: str):
    """Per axis: lower tap index, fraction t, tap validity, and d(coordinate used)/dx.

    border: the coordinate is clamped to [0, n-1] (its derivative 0 outside);
    zeros: taps outside [0, n-1] read 0 (grid-constant extension), which keeps
    the interpolant continuous everywhere.
    """
    if boundary == "border":
        xc = np.clip(x, 0, n - 1)
        i0 = np.minimum(np.floor(xc), max(n - 2, 0)).astype(np.intp)
        t = xc - i0
        dx = ((x >= 0) & (x <= n - 1)).astype(x.dtype)
        i1 = np.minimum(i0 + 1, n - 1)
        ones = np.ones(x.shape, dtype=bool)
        return (i0, i1), t, (ones, ones), dx
    f = np.floor(x)
    i0 = f.astype(np.intp)
    t = x - f
    i1 = i0 + 1
    v0, v1 = (i0 >= 0) & (i0 < n), (i1 >= 0) & (i1 < n)
    return (np.clip(i0, 0, n - 1), np.clip(i1, 0, n - 1)), t, (v0, v1), None


def _linear_taps(shape, coords, boundary):
    (H, W) = shape
    (r0, r1), tr, (vr0, vr1), dr = _linear_axis(coords[0], H, boundary)
    (c0, c1), tc, (vc0, vc1), dc = _linear_axis(coords[1], W, boundary)
    idx = (r0 * W + c0, r0 * W + c1, r1 * W + c0, r1 * W + c1)
    valid = (vr0 & vc0, vr0 & vc1, vr1 & vc0, vr1 & vc1)
    return idx, valid, tr, tc, dr, dc


def _gather(flat, idx, valid):
    v = flat[idx]
    return v if valid.all() else np.where(valid, v, 0)


def _linear_fwd(image, coords, boundary="border"):
    _check(image, coords, boundary)
    idx, valid, tr, tc, _, _ = _linear_taps(image.shape, coords, boundary)
    flat = image.ravel()
    v00, v01, v10, v11 = (_gather(flat, i, v) for i, v in zip(idx, valid, strict=True))
    top = v00 + tc * (v01 - v00)
    bot = v10 + tc * (v11 - v10)
    return (top + tr * (bot - top)).astype(np.result_type(image, coords), copy=False)


def _linear_vjp_image(g, out, image, coords, boundary="border"):
    # adjoint of the gather: scatter-add g·w_k into the tap pixels
    idx, valid, tr, tc, _, _ = _linear_taps(image.shape, coords, boundary)
    ws = ((1 - tr) * (1 - tc), (1 - tr) * tc, tr * (1 - tc), tr * tc)
    index = np.concatenate([i.ravel() for i in idx])
    weight = np.concatenate([(g * w * v).ravel() for w, v in zip(ws, valid, strict=True)])
    grad = np.bincount(index, weights=weight, minlength=image.size)
    return grad.reshape(image.shape).astype(image.dtype, copy=False)


def _linear_vjp_coords(g, out, image, coords, boundary="border"):
    # ∂/∂r = (1-tc)(v10-v00) + tc(v11-v01);  ∂/∂c = (1-tr)(v01-v00) + tr(v11-v10)
    idx, valid, tr, tc, dr, dc = _linear_taps(image.shape, coords, boundary)
    flat = image.ravel()
    v00, v01, v10, v11 = (_gather(flat, i, v) for i, v in zip(idx, valid, strict=True))
    gr = (1 - tc) * (v10 - v00) + tc * (v11 - v01)
    gc = (1 - tr) * (v01 - v00) + tr * (v11 - v10)
    if dr is not None:
        gr, gc = gr * dr, gc * dc
    return np.stack([g * gr, g * gc]).astype(coords.dtype, copy=False)


# -- cubic B-spline ------------------------------------------------------------------------
def _bspline_weights(t: np.ndarray):
    """Cubic B-spline weights for taps i-1, i, i+1, i+2 at fraction t, and their derivatives."""
    t2, t3, s = t * t, t * t * t, 1 - t
    w = (s * s * s / 6, (3 * t3 - 6 * t2 + 4) / 6, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6, t3 / 6)
    dw = (-s * s / 2, (3 * t2 - 4 * t) / 2, (-3 * t2 + 2 * t + 1) / 2, t2 / 2)
    return w, dw


def _mirror(i: np.ndarray, n: int) -> np.ndarray:
    """Whole-sample mirror of tap indices (…2 1 | 0 1 … n-1 | n-2 …), scipy's ``mirror``."""
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def _cubic_axis(x: np.ndarray, n: int, boundary: str):
    """Per axis: the 4 tap indices, weights, weight derivatives, validity, d(x used)/dx."""
    if boundary == "border":
        xc = np.clip(x, 0, n - 1)
        dx = ((x >= 0) & (x <= n - 1)).astype(x.dtype)
    else:
        xc, dx = x, None
    f = np.floor(xc)
    base = f.astype(np.intp) - 1
    w, dw = _bspline_weights(xc - f)
    taps = [base + k for k in range(4)]
    if boundary == "border":
        return [_mirror(i, n) for i in taps], w, dw, None, dx
    valid = [(i >= 0) & (i < n) for i in taps]
    return [np.clip(i, 0, n - 1) for i in taps], w, dw, valid, dx


def _cubic_eval(coef, coords, boundary, derivative):
    """Σ_jk wr_j wc_k C[r_j, c_k] (and, with ``derivative``, its d/dr and d/dc)."""
    H, W = coef.shape
    ir, wr, dwr, vr, dr = _cubic_axis(coords[0], H, boundary)
    ic, wc, dwc, vc, dc = _cubic_axis(coords[1], W, boundary)
    flat = coef.ravel()
    val = np.zeros(coords.shape[1:], dtype=np.result_type(coef, coords))
    gr = np.zeros_like(val) if derivative else None
    gc = np.zeros_like(val) if derivative else None
    for j in range(4):
        row = ir[j] * W
        acc = np.zeros_like(val)   # Σ_k wc_k C[r_j, c_k]
        dacc = np.zeros_like(val) if derivative else None
        for k in range(4):
            v = flat[row + ic[k]]
            if vr is not None:
                v = np.where(vr[j] & vc[k], v, 0)
            acc += wc[k] * v
            if derivative:
                dacc += dwc[k] * v
        val += wr[j] * acc
        if derivative:
            gr += dwr[j] * acc
            gc += wr[j] * dacc
    if derivative and dr is not None:
        gr *= dr
        gc *= dc
    return val, gr, gc


def _cubic_fwd(coef, coords, boundary="border"):
    _check(coef, coords, boundary)
    return _cubic_eval(coef, coords, boundary, derivative=False)[0]


def _cubic_vjp_coef(g, out, coef, coords, boundary="border"):
    H, W = coef.shape
    ir, wr, _, vr, _ = _cubic_axis(coords[0], H, boundary)
    ic, wc, _, vc, _ = _cubic_axis(coords[1], W, boundary)
    index, weight = [], []
    for j in range(4):
        for k in range(4):
            w = g * wr[j] * wc[k]
            if vr is not None:
                w = np.where(vr[j] & vc[k], w, 0)
            index.append((ir[j] * W + ic[k]).ravel())
            weight.append(w.ravel())
    grad = np.bincount(np.concatenate(index), weights=np.concatenate(weight), minlength=coef.size)
    return grad.reshape(coef.shape).astype(coef.dtype, copy=False)


def _cubic_vjp_coords(g, out, coef, coords, boundary="border"):
    _, gr, gc = _cubic_eval(coef, coords, boundary, derivative=True)
    return np.stack([g * gr, g * gc]).astype(coords.dtype, copy=False)


warp_linear_op = register(Op("warp_linear", _linear_fwd, (_linear_vjp_image, _linear_vjp_coords),
                             doc="bilinear sampling of image (H, W) at coords (2, ...)"))
warp_cubic_op = register(Op("warp_cubic", _cubic_fwd, (_cubic_vjp_coef, _cubic_vjp_coords),
                            doc="cubic B-spline sampling of coefficients (H, W) at (2, ...)"))


# -- public functions ---------------------------------------------------------------------
def warp_linear(image, coords, boundary: str = "border") -> Tensor:
    """Bilinear samples of ``image`` (H, W) at ``coords`` (2, ...) → shape ``coords.shape[1:]``."""
    return apply(warp_linear_op, image, coords, boundary=boundary)


def warp_cubic(coef, coords, boundary: str = "border") -> Tensor:
    """Cubic B-spline samples of spline coefficients ``coef`` (H, W) at ``coords`` (2, ...).

    Pass ``spline_coefficients(image)`` to interpolate ``image`` itself.
    """
    return apply(warp_cubic_op, coef, coords, boundary=boundary)


def spline_coefficients(image: np.ndarray, boundary: str = "border") -> np.ndarray:
    """Cubic B-spline coefficients (H, W) whose interpolant passes through ``image``'s pixels.

    ``border``: mirror-symmetric prefilter (matches :func:`warp_cubic`'s mirrored taps);
    ``zeros``: coefficients outside the image are zero (what :func:`warp_cubic` assumes), so
    per axis the coefficients solve the tridiagonal system (c[i-1] + 4 c[i] + c[i+1]) / 6 = f[i].
    """
    image = np.asarray(image)
    if boundary == "border":
        return ndimage.spline_filter(image, order=3, mode="mirror", output=image.dtype)
    coef = image
    for axis in range(image.ndim):
        n = image.shape[axis]
        bands = np.empty((3, n))
        bands[0], bands[1], bands[2] = 1 / 6, 4 / 6, 1 / 6
        moved = np.moveaxis(coef, axis, 0).reshape(n, -1)
        coef = np.moveaxis(solve_banded((1, 1), bands, moved).reshape(
            np.moveaxis(coef, axis, 0).shape), 0, axis)
    return coef.astype(image.dtype, copy=False)


def identity_grid(shape: tuple[int, int], dtype=np.float64) -> np.ndarray:
    """The coordinates (2, H, W) of every pixel centre: row index, column index."""
    return np.stack(np.meshgrid(np.arange(shape[0], dtype=dtype),
                                np.arange(shape[1], dtype=dtype), indexing="ij"))


def warp(image: np.ndarray, displacement: np.ndarray, *, order: int = 3,
         boundary: str = "border") -> np.ndarray:
    """``image(x + u(x))`` on the grid of ``displacement`` (2, H', W'), plain numpy (no graph).

    ``order`` 1 (bilinear) or 3 (cubic B-spline, prefiltered here).
    """
    coords = identity_grid(displacement.shape[1:], displacement.dtype) + displacement
    if order == 1:
        return _linear_fwd(np.asarray(image), coords, boundary)
    if order == 3:
        return _cubic_fwd(spline_coefficients(image, boundary), coords, boundary)
    raise ValueError(f"warp: order must be 1 or 3, got {order}")


# -- gradcheck battery ------------------------------------------------------------------------
def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Gradient-check cases for both warp primitives, both boundaries, several shapes.

    Coordinates are kept a margin away from integers and from the image edge
    (the interpolants are only piecewise smooth across pixel lines).
    """
    def coords_for(hw, out_shape):
        n = int(np.prod(out_shape))
        frac = rng.uniform(0.1, 0.9, (2, n))
        base = np.stack([rng.integers(-1, hw[0], n), rng.integers(-1, hw[1], n)])
        return (base + frac).reshape((2,) + tuple(out_shape))

    cases = []
    for hw, out_shape in [((4, 5), (3, 4)), ((6, 3), (7,)), ((2, 2), (2, 3, 2)), ((5, 5), (5, 5))]:
        for boundary in BOUNDARIES:
            img = rng.standard_normal(hw)
            crd = coords_for(hw, out_shape)
            label = f"{hw} at {(2,) + tuple(out_shape)} {boundary}"
            cases.append(Case("warp_linear", label,
                              lambda a, c, b=boundary: warp_linear(a, c, b), (img, crd)))
            cases.append(Case("warp_cubic", label,
                              lambda a, c, b=boundary: warp_cubic(a, c, b), (img, crd)))
    return cases
