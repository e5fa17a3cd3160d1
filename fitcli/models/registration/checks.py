"""Registration's start and its doubts: where the affine stage begins, the pyramid depth
when not given, and the checks that say when a solved registration is doubtful.

Gradient-based registration only sees displacements up to about a pixel of its coarsest
level, and an affine fit from the identity stops at the nearest local optimum (a 30°
rotation found as 12°). So the affine stage starts from a coarse search over rotations and
scales on a small level, and after the solve the summary says when the result is
doubtful rather than reporting it as success.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..superres.auto import noise_sigma

__all__ = ["auto_levels", "doubts", "best_ncc", "noise_floor",
           "search_affine"]

COARSEST = 8                      # auto levels: the coarsest level's shorter side in [8, 16)
SEARCH_SIDE = 64                  # the rotation search runs on a level at most this big
ANGLES = np.arange(-180.0, 180.0, 4.0)
SCALES = (0.8, 0.9, 1.0, 1.1, 1.25)
GAIN = 0.5                        # share of the possible NCC gain a good solve reaches
FLOOR_RATIO = 0.5                 # residual RMS below half the pair's noise: fits the noise
ANGLE_DISAGREE = 3.0              # degrees between the last two affine levels
SCALE_DISAGREE = 0.03
SCALE_BOUNDS = (0.5, 2.0)         # an affine scale outside is almost surely a wrong optimum


def auto_levels(shape: tuple[int, int]) -> int:
    """Pyramid depth from the image size: halve until the shorter side is below 16 px
    (at least 8), so a displacement of ~2^(levels-1) px is one pixel at the coarsest."""
    return max(1, int(np.floor(np.log2(min(shape) / COARSEST))) + 1)


def _disc_ncc(fixed: np.ndarray, moving: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """NCC of fixed and moving(c + M (x − c)) inside the central disc, for each M (n, 2, 2)."""
    h, w = fixed.shape
    c = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    rr, cc = np.mgrid[0:h, 0:w].astype(float)
    inside = (rr - c[0]) ** 2 + (cc - c[1]) ** 2 <= (0.45 * min(h, w)) ** 2
    x = np.stack([rr[inside] - c[0], cc[inside] - c[1]])              # (2, p)
    f = fixed[inside] - fixed[inside].mean()
    pts = np.einsum("nij,jp->nip", matrices, x) + c[None, :, None]   # (n, 2, p)
    coords = pts.transpose(1, 0, 2).reshape(2, -1)
    m = ndimage.map_coordinates(moving, coords, order=1, mode="nearest").reshape(len(matrices),
                                                                                 -1)
    m = m - m.mean(axis=1, keepdims=True)
    den = np.sqrt((m * m).sum(axis=1) * (f * f).sum()) + 1e-30
    return (m @ f) / den


def search_affine(levels: list) -> tuple[np.ndarray, int, float, float]:
    """The rotation about the centre and the scale (a grid of ANGLES × SCALES) that best
    match the pair on the finest level at most SEARCH_SIDE px: (matrix, level position,
    angle, scale). The identity is on the grid, so a pair needing none keeps it."""
    small = [i for i, lv in enumerate(levels) if max(lv.shape) <= SEARCH_SIDE]
    pos = small[-1] if small else 0           # levels run coarsest first
    lv = levels[pos]
    a = np.deg2rad(ANGLES)[:, None]
    s = np.asarray(SCALES)[None, :]
    cos, sin = (s * np.cos(a)).ravel(), (s * np.sin(a)).ravel()
    mats = np.stack([np.stack([cos, -sin], 1), np.stack([sin, cos], 1)], 1)
    score = _disc_ncc(lv.fixed, lv.moving, mats)
    best = int(np.argmax(score))
    i, j = np.unravel_index(best, (len(ANGLES), len(SCALES)))
    return mats[best], pos, float(ANGLES[i]), float(SCALES[j])


def noise_floor(fixed: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """The noise σ of each image, estimated from its finest Haar detail (Donoho)."""
    return noise_sigma(fixed), noise_sigma(moving)


def best_ncc(fixed: np.ndarray, moving: np.ndarray, noise: tuple[float, float]) -> float:
    """The NCC a perfect registration reaches with this noise: the noise-free share of each
    image's standard deviation, multiplied."""
    share = [max(1.0 - s * s / max(float(np.var(x)), 1e-30), 0.0)
             for x, s in zip((fixed, moving), noise, strict=True)]
    return float(np.sqrt(share[0] * share[1]))


def doubts(m: dict, noise: tuple[float, float], fixed: np.ndarray, moving: np.ndarray,
           residual_rms: float) -> list[str]:
    """Warnings from the final metrics of a solve (see RegistrationModel.warnings)."""
    out = []
    before, after, best = m["ncc_before"], m["ncc_after"], best_ncc(fixed, moving, noise)
    if after <= before + 1e-3 * (1 - before):
        out.append(f"the registration did not improve the match (NCC {before:.4f} "
                   f"before, {after:.4f} after): the regularizer may be too strong "
                   "or the displacement beyond the pyramid's reach")
    elif best > before and (after - before) < GAIN * (best - before):
        out.append(f"the registration gained only {100 * (after - before) / (best - before):.0f}%"
                   f" of the match the noise allows (NCC {before:.4f} before, {after:.4f} "
                   f"after, about {best:.4f} possible): the regularizer may be too strong")
    floor = float(np.hypot(*noise))
    if floor > 1e-3 * (float(np.ptp(fixed)) or 1.0) and residual_rms < FLOOR_RATIO * floor:
        out.append(f"the residual (RMS {residual_rms:.3g}) is below the noise of the pair "
                   f"(about {floor:.3g}): the displacement fits the noise; raise the "
                   "regularizer weight")
    return out
