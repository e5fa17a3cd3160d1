"""Blur kernels: gaussian, box, motion, or a 2-D array from a .npy file.

A :class:`Kernel` holds the 2-D array h (odd sizes, centred on the middle
element; an even size gets a zero row/column appended so the centre is
defined) and, for separable kernels, its two 1-D factors (h = outer(f0, f1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from ..resources import regular_file

KERNELS = ("gaussian", "box", "motion", "file")


@dataclass(frozen=True, eq=False)
class Kernel:
    """A blur kernel: ``array`` (kh, kw) with odd kh, kw; ``factors`` for separable ones."""

    name: str
    array: np.ndarray
    factors: tuple[np.ndarray, np.ndarray] | None = None


def _odd(v: np.ndarray) -> np.ndarray:
    """Append a zero to an even-length 1-D factor so its centre is an element."""
    return np.append(v, 0.0) if v.size % 2 == 0 else v


def _separable(name: str, f0: np.ndarray, f1: np.ndarray) -> Kernel:
    f0, f1 = _odd(np.asarray(f0, float)), _odd(np.asarray(f1, float))
    return Kernel(name, np.outer(f0, f1), (f0, f1))


def gaussian(sigma: float, truncate: float = 4.0) -> Kernel:
    """Normalised Gaussian of standard deviation ``sigma`` pixels, radius ⌈truncate·σ⌉."""
    if not sigma > 0:
        raise ValueError(f"gaussian kernel: sigma must be positive, got {sigma}")
    r = int(np.ceil(truncate * sigma))
    t = np.arange(-r, r + 1, dtype=float)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    return _separable(f"gaussian(sigma={sigma:g})", g, g)


def box(size: int) -> Kernel:
    """Uniform ``size`` × ``size`` average (even sizes: centre at index size // 2)."""
    if int(size) != size or size < 1:
        raise ValueError(f"box kernel: size must be a positive integer, got {size}")
    f = np.full(int(size), 1.0 / size)
    return _separable(f"box(size={int(size)})", f, f)


def motion(length: float, angle: float) -> Kernel:
    """Linear motion blur: a segment of ``length`` pixels at ``angle`` degrees
    (counter-clockwise from the column axis), rasterised with bilinear weights."""
    if not length >= 1:
        raise ValueError(f"motion kernel: length must be at least 1 pixel, got {length}")
    r = int(np.ceil(length / 2)) + 1
    n = 2 * r + 1
    # dense samples along the segment, each spread bilinearly on its 4 neighbours
    s = np.linspace(-length / 2, length / 2, int(np.ceil(length)) * 8 + 1)
    a = np.deg2rad(angle)
    rows, cols = r - s * np.sin(a), r + s * np.cos(a)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    h = np.zeros((n, n))
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)),
                      (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):
        np.add.at(h, (r0 + dr, c0 + dc), w)
    h /= h.sum()
    # drop all-zero outer row pairs and column pairs (symmetrically: the centre stays put)
    while h.shape[0] > 1 and not (h[0].any() or h[-1].any()):
        h = h[1:-1]
    while h.shape[1] > 1 and not (h[:, 0].any() or h[:, -1].any()):
        h = h[:, 1:-1]
    return Kernel(f"motion(length={length:g}, angle={angle:g})", h)


def from_array(h: np.ndarray, name: str = "array") -> Kernel:
    """A kernel from a 2-D array, used as given (not normalised)."""
    h = np.asarray(h, dtype=float)
    if h.ndim != 2 or h.size == 0 or not np.all(np.isfinite(h)):
        raise ValueError(f"kernel {name}: expected a finite 2-D array, got shape {h.shape}")
    if h.shape[0] % 2 == 0:
        h = np.vstack([h, np.zeros((1, h.shape[1]))])
    if h.shape[1] % 2 == 0:
        h = np.hstack([h, np.zeros((h.shape[0], 1))])
    return Kernel(name, h)


def from_file(path: str | Path) -> Kernel:
    """A kernel from a .npy file holding a 2-D float array."""
    p = regular_file(path, "a .npy kernel", 1 << 30)
    try:
        h = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{p}: cannot read a .npy kernel ({exc})") from None
    try:
        return from_array(h, name=f"file({p.name})")
    except ValueError as exc:
        raise InputError(f"{p}: {exc}") from None


def _number(spec: dict, key: str, field: str, integer: bool = False) -> float:
    if key not in spec:
        raise ConfigError(f"{field}.{key}", f"a {'positive integer' if integer else 'number'}",
                          hint=f"the {spec.get('kernel')} kernel needs {key}")
    v = spec[key]
    try:
        f = float(v) if not isinstance(v, bool) else None
    except (TypeError, ValueError):
        f = None
    if f is None or not np.isfinite(f) or (integer and f != int(f)):
        raise ConfigError(f"{field}.{key}", "a positive integer" if integer else "a number", v)
    return int(f) if integer else f


_KEYS = {"gaussian": {"sigma", "truncate"}, "box": {"size"}, "motion": {"length", "angle"},
         "file": {"path"}}


def kernel_from_spec(spec: dict, base_dir: str | Path | None = None,
                     field: str = "model.blur") -> Kernel:
    """Build a kernel from a config mapping such as ``{kernel: gaussian, sigma: 2.0}``.

    Raises ConfigError naming ``field`` for an unknown kernel, a missing or bad
    option; a ``path`` is relative to ``base_dir`` (the config's folder).
    """
    if not isinstance(spec, dict):
        raise ConfigError(field, "a mapping such as {kernel: gaussian, sigma: 2.0}", spec)
    name = spec.get("kernel", "gaussian")
    if name not in KERNELS:
        raise ConfigError(f"{field}.kernel", f"one of {', '.join(KERNELS)}", name)
    extra = set(spec) - _KEYS[name] - {"kernel"}
    if extra:
        raise ConfigError(f"{field}.{sorted(extra)[0]}",
                          f"an option of the {name} kernel ({', '.join(sorted(_KEYS[name]))})")
    try:
        if name == "gaussian":
            trunc = _number(spec, "truncate", field) if "truncate" in spec else 4.0
            return gaussian(_number(spec, "sigma", field), trunc)
        if name == "box":
            return box(_number(spec, "size", field, integer=True))
        if name == "motion":
            return motion(_number(spec, "length", field), _number(spec, "angle", field))
    except ValueError as exc:
        raise ConfigError(field, "valid kernel options", hint=str(exc)) from None
    if not isinstance(spec.get("path"), str):
        raise ConfigError(f"{field}.path", "the path of a .npy file", spec.get("path"))
    p = Path(spec["path"])
    if base_dir is not None and not p.is_absolute():
        p = Path(base_dir) / p
    return from_file(p)
