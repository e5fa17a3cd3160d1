"""Images for the imaging problems: reading, writing, synthetic observations, the
phase-aligned cubic baseline, quality metrics and figures.

Images are float arrays in [0, 1], grayscale ``(H, W)`` or colour ``(H, W, C)``
(channels last). No engine imports: this module is numpy, scipy.ndimage and
scikit-image (I/O, built-in images, metrics) plus matplotlib for figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import ConfigError, InputError

# scikit-image built-ins that ship with the package (no download needed)
BUILTIN_IMAGES = (
    "astronaut", "brick", "camera", "cat", "cell", "checkerboard", "chelsea", "clock",
    "coffee", "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina", "rocket",
    "shepp_logan_phantom", "text",
)
READABLE = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".npy")
WRITABLE = (".png", ".tif", ".tiff", ".npy")


# -- reading ---------------------------------------------------------------------------------
def _to_float(img: np.ndarray, source: str) -> np.ndarray:
    """Float64 image in [0, 1]: integer types scaled by their range, RGBA → RGB."""
    from skimage.util import img_as_float

    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3) or min(img.shape[:2]) < 1:
        raise InputError(f"{source}: expected a grayscale (H, W) or RGB (H, W, 3) image, "
                         f"got shape {img.shape}")
    if img.dtype == bool or np.issubdtype(img.dtype, np.integer):
        return img_as_float(img).astype(np.float64)
    img = img.astype(np.float64)
    if not np.all(np.isfinite(img)):
        raise InputError(f"{source}: the image has non-finite values")
    return img


def read_image(source: str | Path, base_dir: str | Path | None = None) -> np.ndarray:
    """A scikit-image built-in by name, or an image file (PNG/JPEG/TIFF/BMP/GIF or .npy).

    Returns float64 in [0, 1] for integer images (floats from .npy/TIFF as stored),
    shape (H, W) or (H, W, 3). Raises InputError naming the file when unreadable.
    """
    name = str(source)
    if name in BUILTIN_IMAGES:
        import skimage.data

        return _to_float(getattr(skimage.data, name)(), name)
    path = Path(name).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    if not path.exists():
        hint = "" if path.suffix else f" (nor a built-in image: {', '.join(BUILTIN_IMAGES[:6])}, …)"
        raise InputError(f"{path}: file not found{hint}")
    if path.suffix.lower() not in READABLE:
        raise InputError(f"{path}: unsupported image format (expected {', '.join(READABLE)})")
    try:
        if path.suffix.lower() == ".npy":
            img = np.load(path, allow_pickle=False)
        else:
            import skimage.io

            img = skimage.io.imread(path)
    except Exception as exc:  # any decoder failure is the file's fault: one clear line
        raise InputError(f"{path}: cannot read the image ({type(exc).__name__}: {exc})") from None
    return _to_float(img, str(path))


def to_gray(img: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R 601, skimage.color.rgb2gray) of a colour image; gray stays as is."""
    if img.ndim == 2:
        return img
    from skimage.color import rgb2gray

    return rgb2gray(img)


def center_crop(img: np.ndarray, size: int | Sequence[int] | None,
                field: str = "data.size") -> np.ndarray:
    """The central ``size`` × ``size`` (or (h, w)) window of ``img``; None keeps it whole."""
    if size is None:
        return img
    hw = (size, size) if np.isscalar(size) else tuple(size)
    if len(hw) != 2 or any(int(s) != s or s < 1 for s in hw):
        raise ConfigError(field, "a positive integer or [height, width]", size)
    h, w = int(hw[0]), int(hw[1])
    if h > img.shape[0] or w > img.shape[1]:
        raise ConfigError(field, f"at most the image size {img.shape[0]}x{img.shape[1]}", size)
    t, left = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[t:t + h, left:left + w])


def load_image(source: str | Path, *, size=None, gray: bool = False,
               base_dir: str | Path | None = None, dtype=np.float64) -> np.ndarray:
    """:func:`read_image`, then optional gray conversion and centre crop, cast to ``dtype``."""
    img = read_image(source, base_dir)
    if gray:
        img = to_gray(img)
    return center_crop(img, size).astype(dtype, copy=False)


# -- writing ---------------------------------------------------------------------------------
def save_image(path: str | Path, img: np.ndarray) -> Path:
    """Write ``img`` ((H, W) or (H, W, 3), values in [0, 1]): PNG 8-bit, TIFF 16-bit,
    or .npy (float, unclipped). Raises InputError for another extension."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITABLE:
        raise InputError(f"{path}: cannot write this format (expected {', '.join(WRITABLE)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".npy":
        np.save(path, np.asarray(img))
        return path
    import skimage.io

    x = np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)
    scale, dt = (255.0, np.uint8) if ext == ".png" else (65535.0, np.uint16)
    skimage.io.imsave(path, np.round(x * scale).astype(dt), check_contrast=False)
    return path


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


# -- figures -----------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _title(name: str, m: dict | None) -> str:
    if not m:
        return name
    return f"{name}\nPSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}"


def comparison_figure(path: str | Path, panels: Sequence[tuple[str, np.ndarray, dict | None]],
                      suptitle: str = "") -> Path:
    """Images side by side, each titled with its name (and PSNR / SSIM when given).

    ``panels``: (name, image in [0, 1] (H, W) or (H, W, 3), metrics dict or None).
    """
    plt = _pyplot()
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.6), squeeze=False)
    for ax, (name, img, m) in zip(axes[0], panels, strict=True):
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(_title(name, m), fontsize=11)
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94) if suptitle else None)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def write_figures(run_dir: str | Path, *, recovered: np.ndarray, observed: np.ndarray,
                  baseline: np.ndarray, factor: int, truth: np.ndarray | None = None,
                  metrics: dict | None = None, suptitle: str = "") -> list[str]:
    """recovered.png, observed.png (nearest-neighbour ×factor), bicubic.png, comparison.png.

    ``metrics``: ``{"recovered": {psnr, ssim}, "bicubic": {...}}`` when the truth is known.
    Returns the file names written.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = metrics or {}
    obs_view = nearest_upscale(observed, factor)
    save_image(run_dir / "recovered.png", recovered)
    save_image(run_dir / "observed.png", obs_view)
    save_image(run_dir / "bicubic.png", baseline)
    panels = [] if truth is None else [("ground truth", truth, None)]
    panels += [(f"observed (×{factor}, nearest)", obs_view[:recovered.shape[0],
                                                           :recovered.shape[1]], None),
               ("bicubic (aligned)", baseline, metrics.get("bicubic")),
               ("recovered", recovered, metrics.get("recovered"))]
    comparison_figure(run_dir / "comparison.png", panels, suptitle)
    return ["recovered.png", "observed.png", "bicubic.png", "comparison.png"]


def sweep_figure(path: str | Path, key: str, values: Sequence[float],
                 results: Sequence[dict], baseline: dict | None = None) -> Path:
    """PSNR and SSIM against a swept value (log axis when all positive), best PSNR marked.

    ``results``: one ``{psnr, ssim}`` per value; ``baseline``: the bicubic's, drawn dashed.
    """
    plt = _pyplot()
    v = np.asarray(values, dtype=float)
    psnr = np.array([r["psnr"] for r in results])
    ssim = np.array([r["ssim"] for r in results])
    best = int(np.argmax(psnr))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(v, psnr, "o-", color="C0", label="PSNR (recovered)")
    ax.plot(v[best], psnr[best], "*", color="C3", markersize=16,
            label=f"best: {key} = {v[best]:g}, {psnr[best]:.2f} dB")
    if baseline:
        ax.axhline(baseline["psnr"], color="C0", ls="--", lw=1, label="PSNR (bicubic)")
    ax.set_xlabel(key)
    ax.set_ylabel("PSNR (dB)", color="C0")
    if np.all(v > 0):
        ax.set_xscale("log")
    ax2 = ax.twinx()
    ax2.plot(v, ssim, "s-", color="C1", label="SSIM")
    ax2.set_ylabel("SSIM", color="C1")
    ax.legend(loc="lower center", fontsize=8)
    ax.set_title(f"regularisation sweep over {key}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
