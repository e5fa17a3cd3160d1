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

from ..engine import Op, Tensor, apply
from ..engine.extend import Case, grad_enabled, primitive, tsum

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


# -- taps and weights per axis ---------------------------------------------------------------
MAX_ORDER = {"linear": 1, "cubic": 3}   # higher derivatives of the interpolant vanish


def _linear_weights(t: np.ndarray, order: int):
    """Weights of taps i, i+1 at fraction t (order 0) and their derivative (order 1)."""
    if order == 0:
        return [1 - t, t]
    one = np.ones_like(t)
    return [-one, one]


def _bspline_weights(t: np.ndarray, order: int):
    """Cubic B-spline weights of taps i-1, i, i+1, i+2 at fraction t, or their derivative
    of the given order (1: quadratic, 2: linear, 3: constant pieces)."""
    s = 1 - t
    if order == 0:
        # w3 = t³/6, w0 = s³/6, w1 = 2/3 − t² + t³/2 = 2/3 − t²(1 − t/2), w2 = 1 − w0 − w1 − w3
        t2 = t * t
        w3 = t2 * t * (1 / 6)
        w0 = s * s * s * (1 / 6)
        w1 = 2 / 3 - t2 * (1 - 0.5 * t)
        return [w0, w1, 1 - w0 - w1 - w3, w3]
    if order == 1:
        t2 = t * t
        w0, w3 = -0.5 * s * s, 0.5 * t2
        w1 = t * (1.5 * t - 2)
        return [w0, w1, -(w0 + w1 + w3), w3]       # derivatives of a partition of unity: Σ = 0
    if order == 2:
        return [s, 3 * t - 2, 1 - 3 * t, t]
    one = np.ones_like(t)
    return [-one, 3 * one, -3 * one, one]


def _mirror(i: np.ndarray, n: int) -> np.ndarray:
    """Whole-sample mirror of tap indices (…2 1 | 0 1 … n-1 | n-2 …), scipy's ``mirror``."""
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.abs(i)
    if i.size and i.max() <= period:
        # one reflection at most (the taps of clamped coordinates): min(|i|, 2(n−1) − |i|)
        return np.minimum(i, period - i)
    i = i % period
    return np.where(i >= n, period - i, i)


def _axis(kind: str, x: np.ndarray, n: int, boundary: str, orders):
    """Tap indices along one axis, the weights of each requested derivative order, and the
    tap validity (``zeros``) or None (``border``).

    border: the coordinate is clamped to [0, n-1], so derivatives vanish outside
    (taps: clamped for bilinear, mirrored for the B-spline's mirror-symmetric
    coefficients); zeros: taps outside [0, n-1] read 0, which keeps the interpolant
    continuous everywhere.
    """
    if boundary == "border":
        xc = np.clip(x, 0, n - 1)
        inside = ((x >= 0) & (x <= n - 1)).astype(x.dtype)
    else:
        xc, inside = x, None
    f = np.floor(xc)
    if kind == "linear":
        if boundary == "border":
            f = np.minimum(f, max(n - 2, 0))
        t = xc - f
        taps = [f.astype(np.intp) + k for k in range(2)]
        weights = [_linear_weights(t, o) for o in orders]
    else:
        t = xc - f
        taps = [f.astype(np.intp) + (k - 1) for k in range(4)]
        weights = [_bspline_weights(t, o) for o in orders]
    if boundary == "border":
        if kind == "linear":
            taps = [np.minimum(i, n - 1) for i in taps]
        elif n >= 3:   # f in [0, n-1]: taps in [-1, n+1], one reflection at most per side
            p = 2 * (n - 1)
            taps = [np.abs(taps[0]), taps[1], np.minimum(taps[2], p - taps[2]),
                    np.minimum(taps[3], p - taps[3])]
        else:
            taps = [_mirror(i, n) for i in taps]
        weights = [w if o == 0 else [wk * inside for wk in w] for w, o in zip(weights, orders,
                                                                              strict=True)]
        return taps, weights, None
    valid = [(i >= 0) & (i < n) for i in taps]
    return [np.clip(i, 0, n - 1) for i in taps], weights, valid


def _evaluate(kind, source, coords, boundary, derivs):
    """Σ_jk wr_j wc_k source[r_j, c_k] for each derivative order (dr, dc) in ``derivs``,
    sharing the gathers; orders beyond the interpolant's degree give zeros."""
    H, W = source.shape
    dtype = np.result_type(source, coords)
    outs = [np.zeros(coords.shape[1:], dtype=dtype) for _ in derivs]
    live = [i for i, (a, b) in enumerate(derivs) if max(a, b) <= MAX_ORDER[kind]]
    if not live:
        return outs
    # distinct orders per axis only: value and ∂r share the column weights, value and ∂c
    # the row weights, so (0,0), (1,0), (0,1) need 2 column sums per row tap, not 3
    rows = sorted({derivs[i][0] for i in live})
    cols = sorted({derivs[i][1] for i in live})
    ir, wr, vr = _axis(kind, coords[0], H, boundary, rows)
    ic, wc, vc = _axis(kind, coords[1], W, boundary, cols)
    flat = source.ravel()
    tmp = np.empty_like(outs[0])         # in-place products: no temporaries per tap
    accs = [np.empty_like(outs[0]) for _ in cols]
    pick = [(i, rows.index(derivs[i][0]), cols.index(derivs[i][1])) for i in live]
    for j in range(len(ir)):
        row = ir[j] * W
        for a in accs:                    # a = Σ_k wc_k source[r_j, c_k]
            a.fill(0)
        for k in range(len(ic)):
            v = flat.take(row + ic[k])
            if vr is not None:
                v = np.where(vr[j] & vc[k], v, 0)
            for n, a in enumerate(accs):
                a += np.multiply(wc[n][k], v, out=tmp)
        for i, r, c in pick:
            outs[i] += np.multiply(wr[r][j], accs[c], out=tmp)
    return outs


def _scatter(kind, g, source_shape, coords, boundary, deriv, dtype):
    """The adjoint of :func:`_evaluate` in the source: Σ over taps of g·w scattered (bincount)."""
    H, W = source_shape
    if max(deriv) > MAX_ORDER[kind]:
        return np.zeros(source_shape, dtype=dtype)
    ir, (wr,), vr = _axis(kind, coords[0], H, boundary, [deriv[0]])
    ic, (wc,), vc = _axis(kind, coords[1], W, boundary, [deriv[1]])
    index, weight = [], []
    for j in range(len(ir)):
        for k in range(len(ic)):
            w = g * wr[j] * wc[k]
            if vr is not None:
                w = np.where(vr[j] & vc[k], w, 0)
            index.append((ir[j] * W + ic[k]).ravel())
            weight.append(w.ravel())
    grad = np.bincount(np.concatenate(index), weights=np.concatenate(weight),
                       minlength=H * W)
    return grad.reshape(source_shape).astype(dtype, copy=False)


def _make_op(kind: str, doc: str) -> Op:
    """The primitive ``warp_<kind>(source, coords, boundary, deriv=(0, 0))``: the interpolant
    (or its partial derivative of order ``deriv`` in (row, col)) at ``coords``."""

    # The coordinates' VJP needs the interpolant's two partials at the same taps: when
    # gradients are on, the forward derives them from its one gather of the taps and
    # keeps them for the VJP (one entry, matched by identity; the VJP takes it).
    cache: dict = {}

    def fwd(source, coords, boundary="border", deriv=(0, 0)):
        _check(source, coords, boundary)
        a, b = deriv
        cache.clear()
        if not grad_enabled():
            return _evaluate(kind, source, coords, boundary, [(a, b)])[0]
        out, dr, dc = _evaluate(kind, source, coords, boundary, [(a, b), (a + 1, b),
                                                                 (a, b + 1)])
        cache.update(key=(source, coords, boundary, (a, b)), partials=(dr, dc))
        return out

    def vjp_source(g, out, source, coords, boundary="border", deriv=(0, 0)):
        return _scatter(kind, g, source.shape, coords, boundary, tuple(deriv), source.dtype)

    def vjp_coords(g, out, source, coords, boundary="border", deriv=(0, 0)):
        # ∂/∂r and ∂/∂c of the order-deriv interpolant: one order higher along each axis
        a, b = deriv
        key = cache.get("key")
        if (key is not None and key[0] is source and key[1] is coords
                and key[2:] == (boundary, (a, b))):
            dr, dc = cache.pop("partials")
            cache.clear()
        else:
            dr, dc = _evaluate(kind, source, coords, boundary, [(a + 1, b), (a, b + 1)])
        return np.stack([g * dr, g * dc]).astype(coords.dtype, copy=False)

    def jvp(t, out, source, coords, boundary="border", deriv=(0, 0)):
        # d out = warp(d source) + ∂_r out · d r + ∂_c out · d c (all engine ops)
        a, b = deriv
        terms = []
        if t[0] is not None:
            terms.append(apply(op, t[0], coords, boundary=boundary, deriv=(a, b)))
        if t[1] is not None:
            dr = apply(op, source, coords, boundary=boundary, deriv=(a + 1, b))
            dc = apply(op, source, coords, boundary=boundary, deriv=(a, b + 1))
            terms.append(dr * t[1][0] + dc * t[1][1])
        return tsum(*terms)

    op = primitive(f"warp_{kind}", fwd, (vjp_source, vjp_coords), jvp=jvp, doc=doc)
    return op


warp_linear_op = _make_op("linear", "bilinear sampling of image (H, W) at coords (2, ...)")
warp_cubic_op = _make_op("cubic", "cubic B-spline sampling of coefficients (H, W) at (2, ...)")

# the forward on raw arrays, for numpy-only callers (synthetic pairs, figures)
_linear_fwd = warp_linear_op.fwd
_cubic_fwd = warp_cubic_op.fwd


# -- public functions ---------------------------------------------------------------------
def warp_linear(image, coords, boundary: str = "border", deriv=(0, 0)) -> Tensor:
    """Bilinear samples of ``image`` (H, W) at ``coords`` (2, ...) → shape ``coords.shape[1:]``
    (``deriv`` (a, b): the interpolant's ∂^a/∂r^a ∂^b/∂c^b instead)."""
    return apply(warp_linear_op, image, coords, boundary=boundary, deriv=tuple(deriv))


def warp_cubic(coef, coords, boundary: str = "border", deriv=(0, 0)) -> Tensor:
    """Cubic B-spline samples of spline coefficients ``coef`` (H, W) at ``coords`` (2, ...)
    (``deriv`` (a, b): the interpolant's ∂^a/∂r^a ∂^b/∂c^b instead).

    Pass ``spline_coefficients(image)`` to interpolate ``image`` itself.
    """
    return apply(warp_cubic_op, coef, coords, boundary=boundary, deriv=tuple(deriv))


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
    for deriv in [(1, 0), (0, 1), (2, 1)]:     # derivatives of the interpolant (the JVP's)
        img, crd = rng.standard_normal((5, 6)), coords_for((5, 6), (4, 3))
        cases.append(Case("warp_cubic", f"(5, 6) at (2, 4, 3) deriv={deriv}",
                          lambda a, c, d=deriv: warp_cubic(a, c, "zeros", d), (img, crd)))
    cases.append(Case("warp_linear", "(5, 6) at (2, 4, 3) deriv=(1, 0)",
                      lambda a, c: warp_linear(a, c, "border", (1, 0)),
                      (rng.standard_normal((5, 6)), coords_for((5, 6), (4, 3)))))
    return cases
