"""Gaussian pyramids of images and displacement fields (plain numpy, outside any graph).

Geometry: a coarse pixel ``X`` covers the fine pixels ``2X`` and ``2X + 1``,
so the fine coordinate of a coarse pixel centre is ``x = 2X + 0.5`` (and
``X = (x − 0.5) / 2``). A level of shape (H, W) has a coarser level of shape
(⌈H/2⌉, ⌈W/2⌉). Displacements are in pixels of their own level: halved going
down, doubled going up.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["coarse_shape", "downsample", "downsample_field", "pyramid", "upsample",
           "upsample_field"]

# Anti-aliasing blur before taking every other pixel: σ = 2·factor/6 as
# skimage.transform.pyramid_reduce uses for factor 2.
SIGMA = 2.0 / 3.0


def coarse_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The shape one level coarser: (⌈H/2⌉, ⌈W/2⌉)."""
    return ((shape[-2] + 1) // 2, (shape[-1] + 1) // 2)


def _sample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, order: int) -> np.ndarray:
    coords = np.stack(np.meshgrid(rows, cols, indexing="ij"))
    return ndimage.map_coordinates(image, coords, order=order, mode="nearest",
                                   output=image.dtype)


def downsample(image: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """One level down: Gaussian blur (σ in fine pixels), then sample at the coarse centres.

    Parameters
    ----------
    image : (H, W) array
    Returns
    -------
    (⌈H/2⌉, ⌈W/2⌉) array of the same dtype.
    """
    image = np.asarray(image)
    blurred = ndimage.gaussian_filter(image, sigma, mode="nearest") if sigma > 0 else image
    h, w = coarse_shape(image.shape)
    rows = np.minimum(2 * np.arange(h) + 0.5, image.shape[0] - 1)
    cols = np.minimum(2 * np.arange(w) + 0.5, image.shape[1] - 1)
    return _sample(blurred, rows, cols, order=1)


def upsample(image: np.ndarray, shape: tuple[int, int], order: int = 3) -> np.ndarray:
    """One level up to ``shape`` (H, W): spline interpolation at X = (x − 0.5) / 2."""
    image = np.asarray(image)
    rows = np.clip((np.arange(shape[0]) - 0.5) / 2, 0, image.shape[0] - 1)
    cols = np.clip((np.arange(shape[1]) - 0.5) / 2, 0, image.shape[1] - 1)
    return _sample(image, rows, cols, order=order)


def downsample_field(u: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """A displacement (2, H, W) one level down: each component downsampled and halved."""
    return np.stack([downsample(c, sigma) for c in u]) * 0.5


def upsample_field(u: np.ndarray, shape: tuple[int, int], order: int = 3) -> np.ndarray:
    """A displacement (2, h, w) one level up to (2, *shape): interpolated and doubled."""
    return np.stack([upsample(c, shape, order) for c in u]) * 2.0


def pyramid(image: np.ndarray, levels: int, sigma: float = SIGMA) -> list[np.ndarray]:
    """``[image, down(image), down(down(image)), ...]``: ``levels`` images, finest first."""
    out = [np.asarray(image)]
    for _ in range(levels - 1):
        out.append(downsample(out[-1], sigma))
    return out
