"""The ``superres`` model kind: the unknown sharp image behind a blurred, subsampled one.

``model.py`` — the operator A x = S(h ⋆ x), the data loader and the Model hooks;
``baseline.py`` — the synthetic observation, the aligned bicubic baseline, PSNR/SSIM;
``figures.py`` — recovered.png, observed.png, bicubic.png, comparison.png.
"""

from .model import SuperRes, load_superres

__all__ = ["SuperRes", "load_superres"]
