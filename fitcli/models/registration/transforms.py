"""Registration's pieces on one pyramid level: transforms, similarity terms, the objective.

Minimise  D(moving ∘ φ_θ, fixed) + Σ_k w_k R_k(u)  over θ, where φ_θ(x) = x + u_θ(x) and
moving ∘ φ is sampled by the warp primitives (cubic B-spline by default), level by level
on a Gaussian pyramid, coarsest first; each level's result initialises the next.

Transforms (``transform``), each a parameter vector θ per level:

* ``translation`` θ = t (2,):            u(x) = t
* ``affine``      θ = (a (4,), t (2,)):  u(x) = (a / s)(x − c) + t, c the image centre,
  s the RMS distance of the pixels from c — so a unit change of any entry moves a
  typical pixel by about one pixel (comparable steps for L-BFGS);
* ``displacement`` θ = u (2, H, W):      a dense field (scikit-image's flow convention).

``pre: affine`` runs an affine registration first and adds its field to the dense one:
u = u_affine + u_dense, the regularisers acting on u_dense only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import engine as fe
from ...engine import Tensor
from ...errors import ConfigError
from ...operators.pyramid import pyramid, upsample_field
from ...operators.warp import identity_grid, spline_coefficients, warp_cubic, warp_linear

__all__ = ["TRANSFORMS", "Level", "Similarity", "Transform", "affine_info", "affine_theta",
           "build_levels",
           "coarsen_affine",
           "make_transform"]


@dataclass
class Level:
    """One pyramid level: images, the moving image's interpolation data, the pixel grid."""

    index: int                       # 0 = finest
    fixed: np.ndarray                # (h, w)
    moving: np.ndarray               # (h, w)
    interpolation: str = "cubic"
    boundary: str = "border"
    grid: np.ndarray = field(init=False)      # (2, h, w) pixel coordinates
    source: np.ndarray = field(init=False)    # what the warp samples: image or coefficients

    def __post_init__(self):
        self.grid = identity_grid(self.fixed.shape, self.fixed.dtype)
        self.source = (spline_coefficients(self.moving, self.boundary)
                       if self.interpolation == "cubic" else self.moving)

    @property
    def shape(self) -> tuple[int, int]:
        return self.fixed.shape

    def warp(self, coords) -> Tensor:
        """moving sampled at ``coords`` (2, h, w) (Tensor or array), as an engine op."""
        fn = warp_cubic if self.interpolation == "cubic" else warp_linear
        return fn(self.source, coords, self.boundary)


# -- transforms ------------------------------------------------------------------------------
class Transform:
    """A parameterisation of u on a level; parameters pass from level to level."""

    name = "transform"

    def param_shape(self, shape: tuple[int, int]) -> tuple[int, ...]:
        raise NotImplementedError

    def field(self, theta: Tensor, level: Level) -> Tensor:
        """u_θ on the level's grid, shape (2, h, w) (broadcastable), as engine ops."""
        raise NotImplementedError

    def refine(self, theta: np.ndarray, coarse: Level, fine: Level) -> np.ndarray:
        """θ of a coarse level expressed on the next finer level."""
        raise NotImplementedError

    def displacement(self, theta: np.ndarray, level: Level) -> np.ndarray:
        """u_θ as a numpy array (2, h, w)."""
        with fe.no_grad():
            u = self.field(Tensor(theta), level).data
        return np.broadcast_to(u, (2,) + level.shape).copy()


class Translation(Transform):
    name = "translation"

    def param_shape(self, shape):
        return (2,)

    def field(self, theta, level):
        return fe.reshape(theta, (2, 1, 1))

    def refine(self, theta, coarse, fine):
        return theta * 2.0        # pixels of the finer level


def _centre_and_scale(shape) -> tuple[np.ndarray, float]:
    c = np.array([(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0])
    # RMS distance of the pixel centres from c: √((h²−1)/12 + (w²−1)/12)
    s = float(np.sqrt((shape[0] ** 2 - 1) / 12.0 + (shape[1] ** 2 - 1) / 12.0))
    return c, max(s, 1.0)


class Affine(Transform):
    """θ = (a00, a01, a10, a11, t0, t1): u(x) = (a / s)(x − c) + t."""

    name = "affine"

    def param_shape(self, shape):
        return (6,)

    def field(self, theta, level):
        h, w = level.shape
        c, s = _centre_and_scale(level.shape)
        xc = (level.grid - c.reshape(2, 1, 1).astype(level.grid.dtype)).reshape(2, h * w)
        a = fe.reshape(theta[0:4], (2, 2)) * (1.0 / s)
        return fe.reshape(fe.matmul(a, xc), (2, h, w)) + fe.reshape(theta[4:6], (2, 1, 1))

    def matrix(self, theta: np.ndarray, level: Level) -> tuple[np.ndarray, np.ndarray]:
        """(I + a / s, t): x + u(x) = c + matrix (x − c) + t in this level's pixels."""
        _, s = _centre_and_scale(level.shape)
        return np.eye(2) + np.asarray(theta[:4]).reshape(2, 2) / s, np.asarray(theta[4:6])

    def refine(self, theta, coarse, fine):
        # the deviation a/s is scale-free and t doubles; x_f = 2X + ½ maps c_coarse to c_fine
        _, s_c = _centre_and_scale(coarse.shape)
        _, s_f = _centre_and_scale(fine.shape)
        out = np.array(theta, dtype=float)
        out[:4] = theta[:4] / s_c * s_f
        out[4:] = theta[4:] * 2.0
        return out.astype(theta.dtype)


class Displacement(Transform):
    name = "displacement"

    def param_shape(self, shape):
        return (2,) + tuple(shape)

    def field(self, theta, level):
        return theta

    def refine(self, theta, coarse, fine):
        return upsample_field(theta, fine.shape).astype(theta.dtype)


TRANSFORMS: dict[str, type[Transform]] = {
    c.name: c for c in (Translation, Affine, Displacement)}


def make_transform(name: str) -> Transform:
    if name not in TRANSFORMS:
        raise ConfigError("model.transform", "one of " + ", ".join(TRANSFORMS), name)
    return TRANSFORMS[name]()


# -- similarity -------------------------------------------------------------------------------
class Similarity:
    """The data term D(warped, fixed) as engine ops.

    ``ssd``: ½ Σ (warped − fixed)². ``ncc``: 1 − NCC over the whole image, or with
    ``window`` (odd, pixels) 1 − the mean of the local NCC in window × window boxes
    (means, variances and covariance by box filters; ``eps`` guards flat windows).
    """

    def __init__(self, type: str = "ssd", window: int | None = None, eps: float = 1e-6):
        if type not in ("ssd", "ncc"):
            raise ConfigError("loss.type", "ssd or ncc for registration", type)
        if window is not None and not (isinstance(window, int) and window >= 3
                                       and window % 2 == 1):
            raise ConfigError("loss.window", "an odd integer >= 3 (or null for global NCC)",
                              window)
        if type == "ssd" and window is not None:
            raise ConfigError("loss.window", "no window for ssd (only ncc takes one)", window)
        self.type, self.window, self.eps = type, window, float(eps)
        self._box = None
        if window is not None:
            from ...operators.blur import Blur
            from ...operators.kernels import box

            self._box = Blur(box(window), "symmetric")

    def __repr__(self) -> str:
        return self.type if self.window is None else f"ncc(window={self.window})"

    def __call__(self, warped: Tensor, fixed: np.ndarray) -> Tensor:
        if self.type == "ssd":
            r = warped - fixed
            return 0.5 * fe.sum(r * r)
        if self._box is None:
            a = warped - fe.mean(warped)
            b = fixed - fixed.mean()
            num = fe.sum(a * b)
            den = fe.sqrt(fe.sum(a * a) * float(np.sum(b * b)) + self.eps)
            return 1.0 - num / den
        from ...operators.blur import blur

        box = self._box
        mw, mf = blur(warped, box), blur(Tensor(fixed), box).data
        cov = blur(warped * fixed, box) - mw * mf
        vw = blur(warped * warped, box) - mw * mw
        vf = blur(Tensor(fixed * fixed), box).data - mf * mf
        cc = cov / fe.sqrt(fe.maximum(vw, 0.0) * np.maximum(vf, 0.0) + self.eps ** 2)
        return 1.0 - fe.mean(cc)


def build_levels(fixed: np.ndarray, moving: np.ndarray, levels: int, interpolation: str,
                 boundary: str) -> list[Level]:
    """Pyramid levels, coarsest first."""
    fp, mp = pyramid(fixed, levels), pyramid(moving, levels)
    return [Level(i, fp[i], mp[i], interpolation, boundary) for i in range(levels - 1, -1, -1)]


def coarsen_affine(theta: np.ndarray, fine: Level, coarse: Level) -> np.ndarray:
    """Inverse of :meth:`Affine.refine`: θ of a fine level expressed on the next coarser."""
    _, s_c = _centre_and_scale(coarse.shape)
    _, s_f = _centre_and_scale(fine.shape)
    out = np.array(theta, dtype=float)
    out[:4] = theta[:4] / s_f * s_c
    out[4:] = theta[4:] / 2.0
    return out.astype(theta.dtype)


def affine_theta(matrix: np.ndarray, level: Level) -> np.ndarray:
    """The affine θ on ``level`` of x ↦ c + matrix (x − c) (no shift): a = (matrix − I) s."""
    _, s = _centre_and_scale(level.shape)
    theta = np.zeros(6, dtype=level.fixed.dtype)
    theta[:4] = ((np.asarray(matrix) - np.eye(2)) * s).ravel()
    return theta


def affine_info(theta: np.ndarray, level: Level) -> dict:
    """Matrix, shift, rotation angle (degrees) and scale of an affine θ on ``level``."""
    m, t = Affine().matrix(theta, level)
    scale = float(np.sqrt(abs(np.linalg.det(m))))
    angle = float(np.degrees(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1])))
    return {"matrix": m, "shift": t, "angle": angle, "scale": scale}
