"""Super-resolution's synthetic observation, its baselines and its quality metrics.

The baseline sits on the operator's sampling grid: subsampling keeps pixels 0, f, 2f,
…, so the cubic baseline interpolates from there (:func:`aligned_cubic`); block means
(``sampling: area``) sit at block centres (:func:`centred_cubic`). Both are Keys' cubic
convolution (a = −0.5), what "bicubic" means in MATLAB and PIL, as separable matrices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...errors import InputError


# -- the synthetic observation and the baselines ----------------------------------------------
def observe(x: np.ndarray, forward: Callable[[np.ndarray], np.ndarray], noise: float,
            rng: np.random.Generator) -> np.ndarray:
    """y = A x + σ ε with ε ~ N(0, 1) drawn from ``rng`` (same dtype as x)."""
    y = forward(x)
    if noise > 0:
        y = y + (noise * rng.standard_normal(y.shape)).astype(y.dtype, copy=False)
    return y


def _keys(d: np.ndarray, a: float = -0.5) -> np.ndarray:
    """Keys' cubic convolution kernel (a = −0.5: the usual "bicubic" of MATLAB, PIL)."""
    d = np.abs(d)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _bicubic_matrix(n: int, out: int, factor: int) -> np.ndarray:
    """(out, n) interpolation matrix: output pixel i reads the samples around t = i / f."""
    t = np.arange(out) / factor
    k0 = np.floor(t).astype(int)
    taps = k0[:, None] + np.arange(-1, 3)[None, :]            # 4 neighbours
    w = _keys(t[:, None] - taps)
    # whole-sample mirror beyond the edges (index −1 → 1, n → n − 2)
    period = 2 * (n - 1) if n > 1 else 1
    idx = np.abs(taps) % period
    idx = np.where(idx >= n, period - idx, idx)
    M = np.zeros((out, n))
    np.add.at(M, (np.repeat(np.arange(out), 4), idx.ravel()), w.ravel())
    return M


def aligned_cubic(y: np.ndarray, factor: int, shape: Sequence[int]) -> np.ndarray:
    """Bicubic upsampling on the subsampling grid: low-res sample k at high-res pixel k·f.

    Keys' cubic convolution (a = −0.5, what "bicubic" means in MATLAB and PIL),
    separable, with whole-sample mirror beyond the edges. Output pixel i reads
    the interpolant at coordinate i / f, so it reproduces the observed samples
    exactly: ``aligned_cubic(y, f, shape)[::f, ::f] == y``. (``skimage.transform.
    resize`` assumes pixel centres, i / f + (1 − f) / 2f, half a block off this grid.)
    """
    H, W = (int(s) for s in shape[:2])
    Mr = _bicubic_matrix(y.shape[0], H, factor)
    Mc = _bicubic_matrix(y.shape[1], W, factor)
    rows = np.tensordot(Mr, np.asarray(y, dtype=np.float64), axes=(1, 0))   # (H, w, ...)
    up = np.moveaxis(np.tensordot(rows, Mc, axes=(1, 1)), -1, 1)            # (H, W, ...)
    return np.ascontiguousarray(up, dtype=y.dtype)


def centred_cubic(y: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """skimage.transform.resize's cubic upsampling (pixel-centre convention), for comparison."""
    from skimage.transform import resize

    out = resize(np.asarray(y, dtype=np.float64), tuple(shape[:2]) + tuple(y.shape[2:]),
                 order=3, mode="symmetric", anti_aliasing=False)
    return out.astype(y.dtype, copy=False)


def nearest_upscale(y: np.ndarray, factor: int) -> np.ndarray:
    """Each low-res pixel as an f × f block (for viewing the observation)."""
    return np.repeat(np.repeat(y, factor, axis=0), factor, axis=1)


# -- metrics -----------------------------------------------------------------------------------
def quality(truth: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and SSIM of ``x`` (clipped to [0, 1], as saved) against ``truth``."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    t = np.asarray(truth, dtype=np.float64)
    xc = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if t.shape != xc.shape:
        raise InputError(f"metrics: image shapes differ, {t.shape} vs {xc.shape}")
    ch = -1 if t.ndim == 3 else None
    return {"psnr": float(peak_signal_noise_ratio(t, xc, data_range=1.0)),
            "ssim": float(structural_similarity(t, xc, data_range=1.0, channel_axis=ch))}
