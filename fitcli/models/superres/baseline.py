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


def _bicubic_taps(n: int, out: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """The 4 taps of each output pixel: (out, 4) sample indices into a length-n axis and
    their weights. Output pixel i reads the samples around t = i / f. Banded: O(out)
    memory, where the (out, n) matrix of the same map would be dense and quadratic."""
    t = np.arange(out) / factor
    k0 = np.floor(t).astype(np.int64)
    taps = k0[:, None] + np.arange(-1, 3)[None, :]            # 4 neighbours
    w = _keys(t[:, None] - taps)
    # whole-sample mirror beyond the edges (index −1 → 1, n → n − 2)
    period = 2 * (n - 1) if n > 1 else 1
    idx = np.abs(taps) % period
    idx = np.where(idx >= n, period - idx, idx)
    return idx, w


def _interpolate(y: np.ndarray, axis: int, out: int, factor: int) -> np.ndarray:
    """``y`` upsampled along ``axis`` to ``out`` samples. Output i = f·m + r reads samples
    m − 1 … m + 2 with weights that depend on the phase r only, so each (phase, tap) is
    one strided slice of the mirror-padded input times a scalar: no gather, no matrix,
    one output-sized array plus a padded copy of the input."""
    n = y.shape[axis]
    if n < 3 or out > n * factor:     # mirror beyond one period: the general gather
        idx, w = _bicubic_taps(n, out, factor)
        shape = [1] * y.ndim
        shape[axis] = out
        return np.sum([np.take(y, idx[:, k], axis=axis) * w[:, k].reshape(shape)
                       for k in range(4)], axis=0)
    def along(sl: slice) -> tuple:                    # index ``sl`` on ``axis`` only
        return (slice(None),) * axis + (sl,)

    pad = [(0, 0)] * y.ndim
    pad[axis] = (1, 2)
    padded = np.pad(y, pad, mode="reflect")
    shape = list(y.shape)
    shape[axis] = out
    res = np.zeros(shape)
    for r in range(min(factor, out)):
        dst = res[along(slice(r, None, factor))]     # outputs f·m + r, m = 0 … len − 1
        m = dst.shape[axis]
        weights = _keys(r / factor - np.arange(-1, 3))
        tmp = np.empty_like(dst)
        for k in range(4):                            # sample m + k − 1 = padded[m + k]
            np.multiply(padded[along(slice(k, k + m))], weights[k], out=tmp)
            dst += tmp
    return res


def aligned_cubic(y: np.ndarray, factor: int, shape: Sequence[int]) -> np.ndarray:
    """Bicubic upsampling on the subsampling grid: low-res sample k at high-res pixel k·f.

    Keys' cubic convolution (a = −0.5, what "bicubic" means in MATLAB and PIL),
    separable, with whole-sample mirror beyond the edges. Output pixel i reads
    the interpolant at coordinate i / f, so it reproduces the observed samples
    exactly: ``aligned_cubic(y, f, shape)[::f, ::f] == y``. (``skimage.transform.
    resize`` assumes pixel centres, i / f + (1 − f) / 2f, half a block off this grid.)
    Rows then columns, 4 taps each: an 8000² input ×2 takes seconds and a few times
    the output's memory (dense (16000, 8000) matrices took minutes and 5.7 GB).
    """
    H, W = (int(s) for s in shape[:2])
    rows = _interpolate(np.asarray(y, dtype=np.float64), 0, H, factor)   # (H, w, ...)
    up = _interpolate(rows, 1, W, factor)                                 # (H, W, ...)
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
