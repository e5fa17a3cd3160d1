"""Registration pairs and metrics: synthetic deformations with an exact ground truth, image
checks, endpoint error, similarity and Jacobian measures (numpy only, no engine graph).

Convention (scikit-image's optical flow): a displacement u has shape (2, H, W), row
component then column component, defined on the *fixed* image's grid, and registers
the pair when ``moving(x + u(x)) ≈ fixed(x)``.

A synthetic pair is exact: given ``fixed`` and u, the moving image at a grid point y
is ``fixed(x*)`` where x* solves ``x* + u(x*) = y`` (fixed-point iteration
x ← y − u(x), u interpolated by cubic B-splines; a contraction while |∇u| < 1, which
is also the no-folding condition), so ``moving(x + u(x)) = fixed(x)`` holds for the
continuous images, not only to first order in u.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...data.base import DataContext, Dataset
from ...errors import ConfigError, InputError
from ...operators.warp import _cubic_fwd, identity_grid, spline_coefficients

__all__ = ["DEFORMATIONS", "affine_field", "check_pair", "endpoint_error", "fold_fraction",
           "invert_displacement", "jacobian_determinant", "load_registration_data",
           "make_deformation", "make_moving", "ncc_value", "pair_metrics", "registration_pair",
           "resize_image", "rotation_scale_matrix", "smooth_random_field", "ssd_value"]

DEFORMATIONS = ("smooth_random", "rotation", "affine")
DEFORMATION_KEYS = ("type", "magnitude", "seed", "smoothness", "angle", "scale", "shift")
INVERT_ITERATIONS = 100
INVERT_TOL = 1e-10


# -- images ---------------------------------------------------------------------------------
def resize_image(image: np.ndarray, size: int | tuple[int, int] | None) -> np.ndarray:
    """Resample an image to ``size`` (N or (H, W)) with anti-aliasing (scikit-image)."""
    if size is None:
        return image
    from skimage.transform import resize

    hw = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
    return resize(image, hw, order=3, anti_aliasing=True, mode="edge").astype(image.dtype)


def check_pair(fixed: np.ndarray, moving: np.ndarray) -> None:
    """Raise InputError unless both are finite 2-d images of the same shape (at least 8×8)."""
    for name, img in (("fixed", fixed), ("moving", moving)):
        if img.ndim != 2:
            raise InputError(f"data.{name}: expected a 2-d (grayscale) image, got shape "
                             f"{img.shape}")
        if not np.all(np.isfinite(img)):
            raise InputError(f"data.{name}: the image has {int(np.sum(~np.isfinite(img)))} "
                             "non-finite pixels (NaN or inf)")
        if min(img.shape) < 8:
            raise InputError(f"data.{name}: expected at least 8x8 pixels, got {img.shape}")
    if fixed.shape != moving.shape:
        raise InputError(f"data: fixed {fixed.shape[0]}x{fixed.shape[1]} and moving "
                         f"{moving.shape[0]}x{moving.shape[1]} differ in size (resample or crop"
                         " one of them, e.g. with data.resize)")


# -- deformations -----------------------------------------------------------------------------
def smooth_random_field(shape: tuple[int, int], magnitude: float, rng: np.random.Generator,
                        smoothness: float | None = None) -> np.ndarray:
    """A smooth random displacement (2, H, W) whose largest length is ``magnitude`` pixels.

    White noise per component, Gaussian-filtered with σ = ``smoothness`` pixels
    (default: a tenth of the larger side, and at least 2.5 × magnitude, which keeps
    |∇u| well below 1 — no folding — on small images too), scaled so that
    max_x |u(x)| = magnitude.
    """
    if smoothness is None:
        sigma = max(max(shape) / 10.0, 2.5 * magnitude)
    else:
        sigma = float(smoothness)
    u = np.stack([ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
                  for _ in range(2)])
    peak = float(np.sqrt((u ** 2).sum(axis=0)).max())
    return u * (magnitude / peak) if peak > 0 else u


def affine_field(shape: tuple[int, int], matrix: np.ndarray, shift=(0.0, 0.0)) -> np.ndarray:
    """u(x) = (matrix − I)(x − c) + shift about the image centre c, shape (2, H, W).

    x ↦ x + u(x) = c + matrix (x − c) + shift is the affine map in (row, col) coordinates.
    """
    grid = identity_grid(shape)
    c = np.array([(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0]).reshape(2, 1, 1)
    d = np.asarray(matrix, dtype=float) - np.eye(2)
    return np.einsum("ij,jhw->ihw", d, grid - c) + np.asarray(shift, float).reshape(2, 1, 1)


def rotation_scale_matrix(angle_deg: float, scale: float = 1.0) -> np.ndarray:
    """scale · R(angle) in (row, col) coordinates: positive angles turn the picture
    counter-clockwise on screen (rows point down)."""
    a = np.deg2rad(angle_deg)
    return scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def make_deformation(shape: tuple[int, int], rng: np.random.Generator, *,
                     type: str = "smooth_random", magnitude: float = 4.0,
                     smoothness: float | None = None, angle: float | None = None,
                     scale: float = 1.0, shift=(0.0, 0.0)) -> tuple[np.ndarray, tuple | None]:
    """The true displacement (2, H, W) of a synthetic pair, and ``(matrix, shift)`` when affine.

    ``smooth_random``: max length ``magnitude`` px, smoothness σ px. ``rotation``: by
    ``angle`` degrees (default: ``magnitude`` degrees) about the centre. ``affine``:
    rotation ``angle`` and ``scale`` about the centre plus ``shift`` (row, col) px; with
    neither angle nor scale given, a random affine map moving no pixel more than
    ``magnitude`` px.
    """
    if type not in DEFORMATIONS:
        raise ConfigError("data.deformation.type", "one of " + ", ".join(DEFORMATIONS), type)
    if not (isinstance(magnitude, (int, float)) and np.isfinite(magnitude) and magnitude >= 0):
        raise ConfigError("data.deformation.magnitude", "a non-negative number", magnitude)
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ConfigError("data.deformation.scale", "a positive number", scale)
    if type == "smooth_random":
        return smooth_random_field(shape, float(magnitude), rng, smoothness), None
    if type == "rotation" or angle is not None or scale != 1.0:
        ang = float(magnitude) if angle is None else float(angle)
        m = rotation_scale_matrix(ang, scale)
        return affine_field(shape, m, shift), (m, np.asarray(shift, float))
    # a random affine: normal perturbation of the identity scaled to the requested magnitude
    d = rng.standard_normal((2, 2))
    t = rng.standard_normal(2)
    corner = np.array([(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0])
    reach = np.abs(d) @ corner + np.abs(t)
    k = float(magnitude) / float(np.linalg.norm(reach)) if np.any(reach) else 0.0
    m = np.eye(2) + k * d
    return affine_field(shape, m, k * t), (m, k * t)


def invert_displacement(u: np.ndarray, affine: tuple | None = None
                        ) -> tuple[np.ndarray, float]:
    """Points x*(y) with x* + u(x*) = y for every grid point y, shape (2, H, W), and the
    largest residual |x* + u(x*) − y| (pixels).

    An affine u (``affine = (matrix, shift)``, as :func:`affine_field`) is inverted in
    closed form, x* = c + matrix⁻¹ (y − c − shift); any other by the fixed-point iteration
    x ← y − u(x) (u evaluated by cubic B-spline interpolation).
    """
    shape = u.shape[1:]
    grid = identity_grid(shape)
    if affine is not None:
        matrix, shift = affine
        c = np.array([(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0]).reshape(2, 1, 1)
        rhs = grid - c - np.asarray(shift, float).reshape(2, 1, 1)
        return c + np.einsum("ij,jhw->ihw", np.linalg.inv(matrix), rhs), 0.0
    coef = [spline_coefficients(c) for c in u]
    x = grid.copy()
    res = np.inf
    for _ in range(INVERT_ITERATIONS):
        ux = np.stack([_cubic_fwd(c, x) for c in coef])
        r = x + ux - grid
        res = float(np.abs(r).max())
        if res < INVERT_TOL:
            break
        x = grid - ux
    return x, res


def make_moving(fixed: np.ndarray, u: np.ndarray, affine: tuple | None = None
                ) -> np.ndarray:
    """The moving image of an exact pair: moving(y) = fixed(x*(y)), with x* + u(x*) = y.

    Raises ConfigError when the deformation folds (the inversion does not converge).
    """
    jac = jacobian_determinant(u)
    if jac.min() <= 0:
        raise ConfigError("data.deformation.magnitude", "a deformation that does not fold",
                          hint=f"the Jacobian determinant reaches {jac.min():.3g}; lower the "
                               "magnitude or raise the smoothness")
    x, res = invert_displacement(u, affine)
    if not res < 1e-6:
        raise ConfigError("data.deformation", "an invertible deformation",
                          hint=f"x + u(x) = y inverted only to {res:.2g} px; lower the "
                               "magnitude or raise the smoothness")
    return _cubic_fwd(spline_coefficients(fixed), x).astype(fixed.dtype)


# -- metrics ------------------------------------------------------------------------------------
def jacobian_determinant(u: np.ndarray) -> np.ndarray:
    """det(I + ∇u) per pixel (central differences), shape (H, W); ≤ 0 where x + u(x) folds."""
    dr = np.gradient(u[0], axis=(0, 1))
    dc = np.gradient(u[1], axis=(0, 1))
    return (1 + dr[0]) * (1 + dc[1]) - dr[1] * dc[0]


def fold_fraction(u: np.ndarray) -> float:
    """Fraction of pixels whose Jacobian determinant is ≤ 0."""
    return float(np.mean(jacobian_determinant(u) <= 0))


def endpoint_error(u: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean and 95th-percentile of |u − truth| over all pixels (pixels)."""
    e = np.sqrt(((u - truth) ** 2).sum(axis=0))
    return {"epe_mean": float(e.mean()), "epe_p95": float(np.percentile(e, 95)),
            "epe_max": float(e.max())}


def ssd_value(a: np.ndarray, b: np.ndarray) -> float:
    """½ Σ (a − b)²."""
    return 0.5 * float(np.sum((a - b) ** 2))


def ncc_value(a: np.ndarray, b: np.ndarray) -> float:
    """Global normalised cross-correlation of two images (1 for an affine intensity match)."""
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / den) if den > 0 else 0.0


def pair_metrics(fixed: np.ndarray, moving: np.ndarray, warped: np.ndarray, u: np.ndarray,
                 truth: np.ndarray | None = None) -> dict[str, float]:
    """SSD and NCC before (moving vs fixed) and after (warped vs fixed), folds, and the
    endpoint error against ``truth`` when known."""
    m = {"ssd_before": ssd_value(moving, fixed), "ssd_after": ssd_value(warped, fixed),
         "ncc_before": ncc_value(moving, fixed), "ncc_after": ncc_value(warped, fixed),
         "fold_fraction": fold_fraction(u),
         "min_jacobian": float(jacobian_determinant(u).min())}
    if truth is not None:
        m.update(endpoint_error(u, truth))
        m["epe_mean_before"] = endpoint_error(np.zeros_like(truth), truth)["epe_mean"]
    return m


# -- data ----------------------------------------------------------------------------------------
def _load(source, ctx: DataContext, field_name: str, size, resize, notes: list) -> np.ndarray:
    from ...data.images import load_image, read_image

    raw = read_image(source, ctx.base_dir)
    if raw.ndim == 3:
        notes.append(f"data.{field_name}: colour image converted to gray")
    img = load_image(source, size=size, gray=True, base_dir=ctx.base_dir)
    return resize_image(img, resize).astype(ctx.dtype, copy=False)


def load_registration_data(ctx: DataContext, /, *, fixed: str | None = None,
                           moving: str | None = None, image: str | None = None,
                           deformation: dict | None = None, size: int | None = None,
                           resize: int | None = None, noise: float = 0.0,
                           truth: str | None = None) -> Dataset:
    """A registration pair: ``fixed`` + ``moving`` (built-in names or paths), or ``image`` +
    ``deformation`` (a synthetic pair with its exact displacement as ground truth).

    ``size`` crops the centre, ``resize`` resamples to resize × resize (both optional).
    ``deformation``: ``{type: smooth_random | rotation | affine, magnitude, seed,
    smoothness, angle, scale, shift}`` (see :func:`fitcli.registration.make_deformation`).
    ``noise``: σ of Gaussian noise added to both images (seeded). ``truth``: a .npy file
    with the true displacement (2, H, W) of a user pair (endpoint error, endpoint_error.png).
    """
    notes: list[str] = []
    truth_file, truth, affine = truth, None, None
    if image is not None and truth_file is not None:
        raise ConfigError("data.truth", "no file for a synthetic pair (data.image + "
                          "deformation has its own truth); give it with data.fixed + moving")
    if image is not None:
        if fixed is not None or moving is not None:
            raise ConfigError("data", "either image (+ deformation) or fixed + moving, not both")
        f = _load(image, ctx, "image", size, resize, notes)
        spec = dict(deformation or {"type": "smooth_random"})
        unknown = sorted(set(spec) - set(DEFORMATION_KEYS))
        if unknown:
            raise ConfigError(f"data.deformation.{unknown[0]}",
                              "one of " + ", ".join(DEFORMATION_KEYS))
        seed = spec.pop("seed", None)
        rng = ctx.rng if seed is None else np.random.default_rng(int(seed))
        truth, affine = make_deformation(f.shape, rng, **spec)
        m = make_moving(f, truth, affine)
        name = f"{image} + {spec.get('type', 'smooth_random')}"
    else:
        if fixed is None or moving is None:
            raise ConfigError("data.fixed" if fixed is None else "data.moving",
                              "an image (built-in name or path), or give data.image")
        f = _load(fixed, ctx, "fixed", size, resize, notes)
        m = _load(moving, ctx, "moving", size, resize, notes)
        name = f"{fixed} / {moving}"
        if truth_file is not None:
            truth = _load_truth(truth_file, ctx, f.shape)
    if not (isinstance(noise, (int, float)) and np.isfinite(noise) and noise >= 0):
        raise ConfigError("data.noise", "a non-negative number (σ of the added noise)", noise)
    if noise > 0:
        f = (f + noise * ctx.rng.standard_normal(f.shape)).astype(f.dtype)
        m = (m + noise * ctx.rng.standard_normal(m.shape)).astype(m.dtype)
    return registration_pair(f, m, truth, affine, notes, name)


def _load_truth(path: str, ctx: DataContext, shape: tuple[int, int]) -> np.ndarray:
    """A user pair's true displacement from a .npy file: (2, H, W), finite."""
    from pathlib import Path

    p = Path(path) if Path(path).is_absolute() else Path(ctx.base_dir) / path
    try:
        u = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"data.truth: cannot read {p} as a .npy array "
                         f"({type(exc).__name__})") from None
    if u.shape != (2,) + tuple(shape) or not np.issubdtype(u.dtype, np.number):
        raise InputError(f"data.truth: expected a displacement of shape (2, {shape[0]}, "
                         f"{shape[1]}) (rows, cols; skimage's flow convention), got "
                         f"{u.shape} {u.dtype}")
    if not np.all(np.isfinite(u)):
        raise InputError(f"data.truth: {p.name} has non-finite values")
    return u.astype(ctx.dtype)


def registration_pair(fixed: np.ndarray, moving: np.ndarray, truth: np.ndarray | None = None,
                      affine_truth: tuple | None = None, notes: list | None = None,
                      name: str = "pair") -> Dataset:
    """The Dataset of a registration model from two (H, W) arrays (checked)."""
    check_pair(fixed, moving)
    extras = {"fixed": fixed, "moving": moving, "truth": truth, "affine_truth": affine_truth,
              "notes": list(notes or [])}
    return Dataset(name, "image", None, fixed[None], extras=extras)
