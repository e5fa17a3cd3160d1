"""Blur: convolution with a kernel h, an engine primitive whose VJP is the exact adjoint.

``y = h ⋆ x`` (convolution, kernel centred on its middle element) over the two
image axes of a grayscale ``(H, W)`` or colour ``(H, W, C)`` image, with one of
two boundary conditions:

* ``periodic``: the image wraps around; the adjoint is the correlation with h
  (the conjugate spectrum in the Fourier domain).
* ``symmetric``: the image is extended by half-sample reflection
  (``d c b a | a b c d``), i.e. ``A = C K P`` with P the reflective pad, K the
  (valid) convolution and C the crop. The adjoint ``Aᵀ = Pᵀ Kᵀ Cᵀ`` zero-fills,
  correlates, and folds the padded margins back onto the pixels they copied
  (Pᵀ, a fold-back sum), so it is exact to rounding.

Three interchangeable paths compute the same operator: ``separable`` (two 1-D
passes of scipy.ndimage, for gaussian and box kernels), ``direct`` (one 2-D
ndimage correlation, small non-separable kernels) and ``fft`` (rfft2 with the
kernel spectrum cached per image shape and dtype, large kernels).
"""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Tensor
from ..engine.extend import Case, primitive
from .kernels import Kernel, box, from_array, gaussian, motion

BOUNDARIES = ("periodic", "symmetric")
METHODS = ("auto", "separable", "direct", "fft")


def _fold(p: np.ndarray, lo: int, hi: int, n: int, axis: int) -> np.ndarray:
    """Adjoint of the half-sample reflective pad of ``n`` samples by (lo, hi) along ``axis``.

    The pad copies x[lo-1-i] to position i and x[n-1-j] to position lo+n+j, so its
    adjoint adds those margins back, reversed, onto the first lo / last hi samples.
    """
    p = np.moveaxis(p, axis, 0)
    out = p[lo:lo + n].copy()
    if lo:
        out[:lo] += p[lo - 1::-1]
    if hi:
        out[n - hi:] += p[lo + n:][::-1]
    return np.moveaxis(out, 0, axis)


def _zero_embed(y: np.ndarray, pads: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Adjoint of the crop: y placed in zeros of the padded shape."""
    return np.pad(y, pads + ((0, 0),) * (y.ndim - len(pads)))


class Blur:
    """The linear operator x ↦ h ⋆ x with a boundary rule; its ``adjoint`` is exact.

    Parameters
    ----------
    kernel : Kernel
        The blur kernel h (odd sizes, centre in the middle).
    boundary : {'periodic', 'symmetric'}
    method : {'auto', 'separable', 'direct', 'fft'}
        How to compute it; all give the same operator to rounding.

    Calling the object on a Tensor applies the registered ``blur`` primitive.
    """

    def __init__(self, kernel: Kernel, boundary: str = "symmetric", method: str = "auto"):
        if boundary not in BOUNDARIES:
            raise ValueError(f"blur: boundary must be one of {BOUNDARIES}, got {boundary!r}")
        if method not in METHODS:
            raise ValueError(f"blur: method must be one of {METHODS}, got {method!r}")
        if method == "separable" and kernel.factors is None:
            raise ValueError(f"blur: the {kernel.name} kernel is not separable")
        self.kernel, self.boundary = kernel, boundary
        self.method = self._choose(kernel) if method == "auto" else method
        self._spectra: dict = {}

    @staticmethod
    def _choose(kernel: Kernel) -> str:
        kh, kw = kernel.array.shape
        # forward + adjoint on 512², one thread: fft 5.8 ms whatever the kernel; separable
        # 4.2 ms (5×5), 6.0 (13×13), 7.0 (17×17); direct 3.1 ms (3×5), 4.5 (5×7), 5.8 (7×9)
        if kernel.factors is not None and kh + kw <= 24:
            return "separable"
        if kh * kw <= 40:
            return "direct"
        return "fft"

    def __repr__(self) -> str:
        return f"Blur({self.kernel.name}, boundary={self.boundary}, method={self.method})"

    def __call__(self, x) -> Tensor:
        return fe.apply(BLUR, x, blur=self)

    # -- shape checks ---------------------------------------------------------------------
    def check_shape(self, shape: tuple) -> None:
        """Raise ValueError unless ``shape`` is (H, W) or (H, W, C) and holds the kernel."""
        if len(shape) not in (2, 3):
            raise ValueError(f"blur: expected an image (H, W) or (H, W, C), got shape {shape}")
        kh, kw = self.kernel.array.shape
        if kh > shape[0] or kw > shape[1]:
            raise ValueError(f"blur: the {kh}x{kw} kernel is larger than the "
                             f"{shape[0]}x{shape[1]} image")

    # -- the operator and its adjoint on arrays ------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """h ⋆ x, same shape and dtype as x."""
        self.check_shape(x.shape)
        if self.method == "fft":
            return self._fft(x, adjoint=False)
        return self._spatial(x, adjoint=False)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """Aᵀ y: correlation with h (then the fold-back of the reflective pad)."""
        self.check_shape(y.shape)
        if self.method == "fft":
            return self._fft(y, adjoint=True)
        return self._spatial(y, adjoint=True)

    # -- spatial paths (scipy.ndimage) ---------------------------------------------------
    def _weights(self, adjoint: bool):
        """Correlation weights: convolution with h is correlation with h flipped."""
        k = self.kernel
        if self.method == "separable":
            w = [f if adjoint else f[::-1] for f in k.factors]
            return w
        return k.array if adjoint else k.array[::-1, ::-1]

    def _spatial(self, x: np.ndarray, adjoint: bool) -> np.ndarray:
        w = self._weights(adjoint)
        r = (self.kernel.array.shape[0] // 2, self.kernel.array.shape[1] // 2)
        if self.boundary == "periodic":
            return self._correlate(x, w, "wrap")
        if not adjoint:  # ndimage's 'reflect' is exactly the half-sample reflective pad
            return self._correlate(x, w, "reflect")
        pads = ((r[0], r[0]), (r[1], r[1]))
        p = self._correlate(_zero_embed(x, pads), w, "constant")
        p = _fold(p, r[0], r[0], x.shape[0], 0)
        return _fold(p, r[1], r[1], x.shape[1], 1)

    def _correlate(self, x: np.ndarray, w, mode: str) -> np.ndarray:
        # scipy is imported where it is used: `import fitcli.operators` comes with every
        # run (optim's prox), and scipy.ndimage + scipy.fft are ~0.5 s to import
        from scipy import ndimage

        if self.method == "separable":
            y = ndimage.correlate1d(x, w[1], axis=1, mode=mode)
            return ndimage.correlate1d(y, w[0], axis=0, mode=mode, output=y)
        w2 = w if x.ndim == 2 else w[:, :, None]
        return ndimage.correlate(x, w2, mode=mode)

    # -- FFT path ----------------------------------------------------------------------
    def _pads(self, shape: tuple) -> tuple[tuple[int, int], tuple[int, int]]:
        """Reflective padding for the symmetric boundary: at least the kernel radius,
        widened on the far side to a fast FFT length (any extra width is still exact)."""
        if self.boundary == "periodic":
            return ((0, 0), (0, 0))
        import scipy.fft as sfft

        out = []
        for n, k in zip(shape[:2], self.kernel.array.shape, strict=True):
            r = k // 2
            m = sfft.next_fast_len(n + 2 * r, real=True)
            out.append((r, min(m - n - r, n)))
        return tuple(out)

    def _spectrum(self, shape: tuple, dtype) -> np.ndarray:
        key = (shape, np.dtype(dtype).str)
        spec = self._spectra.get(key)
        if spec is None:
            h = self.kernel.array
            kh, kw = h.shape
            big = np.zeros(shape, dtype=dtype)
            big[:kh, :kw] = h
            # centre the kernel on pixel (0, 0): circular convolution theorem
            big = np.roll(big, (-(kh // 2), -(kw // 2)), axis=(0, 1))
            import scipy.fft as sfft

            spec = sfft.rfft2(big)
            if len(self._spectra) > 8:
                self._spectra.clear()
            self._spectra[key] = spec
        return spec

    def _fft(self, x: np.ndarray, adjoint: bool) -> np.ndarray:
        pads = self._pads(x.shape)
        rest = ((0, 0),) * (x.ndim - 2)
        padded = pads != ((0, 0), (0, 0))
        if padded:
            x = _zero_embed(x, pads) if adjoint else np.pad(x, pads + rest, mode="symmetric")
        shape = x.shape[:2]
        spec = self._spectrum(shape, x.dtype)
        if adjoint:
            spec = spec.conj()
        if x.ndim == 3:
            spec = spec[:, :, None]
        import scipy.fft as sfft

        X = sfft.rfft2(x, axes=(0, 1))
        X *= spec
        y = sfft.irfft2(X, s=shape, axes=(0, 1))
        if not padded:
            return y
        (t, b), (lft, rgt) = pads
        if adjoint:
            y = _fold(y, t, b, shape[0] - t - b, 0)
            return _fold(y, lft, rgt, shape[1] - lft - rgt, 1)
        return np.ascontiguousarray(y[t:shape[0] - b, lft:shape[1] - rgt])


BLUR = primitive(
    "blur",
    lambda x, blur: blur.forward(x),
    (lambda g, out, x, blur: blur.adjoint(g),),        # (h ⋆ ·)ᵀ = correlation with h
    linear=True,
    doc="convolution with a blur kernel; static parameter blur: Blur",
)


def blur(x, op: Blur) -> Tensor:
    """Apply the blur operator ``op`` to an image Tensor (H, W) or (H, W, C)."""
    return fe.apply(BLUR, x, blur=op)


# -- gradient-check cases ----------------------------------------------------------------------
def _case_blurs() -> list[tuple[str, Blur]]:
    ops = []
    for boundary in ("periodic", "symmetric"):
        ops.append((f"gaussian(0.5) separable {boundary}",
                    Blur(gaussian(0.5), boundary, "separable")))
        ops.append((f"box(2) direct {boundary}", Blur(box(2), boundary, "direct")))
        ops.append((f"motion(3, 30°) fft {boundary}",
                    Blur(motion(3, 30), boundary, "fft")))
    return ops


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Every blur path (separable, direct, fft) under both boundaries, grayscale and colour."""
    cases = []
    for label, op in _case_blurs():
        for shape in [(7, 9), (6, 5, 3), (5, 6)]:
            cases.append(Case("blur", f"{shape} {label}", lambda x, op=op: blur(x, op),
                              (rng.standard_normal(shape),)))
    # a kernel that is not point-symmetric: for h(−x) = h(x) the adjoint's flip (direct)
    # or conjugate spectrum (fft) changes nothing, so a dropped one would pass
    asymmetric = from_array(ASYMMETRIC, "asymmetric")
    for boundary in ("periodic", "symmetric"):
        for method in ("direct", "fft"):
            op = Blur(asymmetric, boundary, method)
            for shape in [(7, 9), (6, 8, 2)]:
                cases.append(Case("blur", f"{shape} asymmetric {method} {boundary}",
                                  lambda x, op=op: blur(x, op), (rng.standard_normal(shape),)))
    return cases


ASYMMETRIC = np.array([[0.0, 0.1, 0.0, 0.0, 0.05],
                       [0.3, 0.0, 0.2, 0.0, 0.0],
                       [0.0, 0.0, 0.6, 0.1, 0.0]])
