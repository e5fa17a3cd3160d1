"""Images as data: reading (scikit-image built-ins or files), cropping, gray conversion,
writing (8-bit PNG, 16-bit TIFF, float .npy).

Images are float arrays in [0, 1], grayscale ``(H, W)`` or colour ``(H, W, C)``
(channels last). numpy and scikit-image only (no engine imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError

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


def _path(source: str | Path, base_dir: str | Path | None) -> Path:
    path = Path(str(source)).expanduser()
    return Path(base_dir) / path if base_dir is not None and not path.is_absolute() else path


def image_size(source: str | Path, base_dir: str | Path | None = None
               ) -> tuple[int, int] | None:
    """(height, width) of an image file from its header, without decoding the pixels, for
    a memory estimate; None for a built-in or when the header cannot tell (the reader
    then reports the file)."""
    if str(source) in BUILTIN_IMAGES:
        return None
    p = _path(source, base_dir)
    try:
        if not p.is_file():
            return None
        if p.suffix.lower() == ".npy":
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
            return (int(arr.shape[0]), int(arr.shape[1])) if arr.ndim >= 2 else None
        import warnings

        from PIL import Image

        limit = Image.MAX_IMAGE_PIXELS
        try:   # only the header: PIL's decompression-bomb guard is for decoding
            Image.MAX_IMAGE_PIXELS = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(p) as im:
                    return int(im.size[1]), int(im.size[0])
        finally:
            Image.MAX_IMAGE_PIXELS = limit
    except Exception:  # noqa: BLE001 - any unreadable header: the reader says why
        return None


def read_image(source: str | Path, base_dir: str | Path | None = None) -> np.ndarray:
    """A scikit-image built-in by name, or an image file (PNG/JPEG/TIFF/BMP/GIF or .npy).

    Returns float64 in [0, 1] for integer images (floats from .npy/TIFF as stored),
    shape (H, W) or (H, W, 3). Raises InputError naming the file when unreadable.
    """
    name = str(source)
    if name in BUILTIN_IMAGES:
        import skimage.data

        return _to_float(getattr(skimage.data, name)(), name)
    path = _path(name, base_dir)
    if not path.exists():
        hint = "" if path.suffix else f" (nor a built-in image: {', '.join(BUILTIN_IMAGES[:6])}, …)"
        raise InputError(f"{path}: file not found{hint}")
    if path.suffix.lower() not in READABLE:
        raise InputError(f"{path}: unsupported image format (expected {', '.join(READABLE)})")
    if not path.is_file():      # /dev/zero, a FIFO, a folder would be read forever or fail
        raise InputError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: an empty file, not an image")
    try:
        if path.suffix.lower() == ".npy":
            img = np.load(path, allow_pickle=False)
        else:
            import skimage.io

            img = skimage.io.imread(path)
    except Exception as exc:  # any decoder failure is the file's fault: one clear line
        why = (str(exc).strip().splitlines() or [""])[0][:120]  # decoders' advice is noise
        raise InputError(f"{path}: cannot read the image, not a valid "
                         f"{path.suffix.lstrip('.').upper()} file ({type(exc).__name__}: {why})"
                         ) from None
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
