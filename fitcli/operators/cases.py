"""Gradient-check cases of the imaging primitives, in the engine's battery format.

Shapes: grayscale and colour (channels last), odd and tiny sizes; every blur
path (separable, direct, fft) under both boundaries. Small enough (≤ 512
elements per input) that the checker compares every element.
"""

from __future__ import annotations

import numpy as np

from ..engine.cases import Case
from . import kernels
from .blur import Blur, blur
from .decimate import BlurSubsample
from .differences import divergence, gradient, magnitude
from .sampling import subsample

IMAGE_SHAPES = [(7, 9), (5, 6, 3), (3, 3), (1, 4)]


def _blur_ops() -> list[tuple[str, Blur]]:
    ops = []
    for boundary in ("periodic", "symmetric"):
        ops.append((f"gaussian(0.5) separable {boundary}",
                    Blur(kernels.gaussian(0.5), boundary, "separable")))
        ops.append((f"box(2) direct {boundary}", Blur(kernels.box(2), boundary, "direct")))
        ops.append((f"motion(3, 30°) fft {boundary}",
                    Blur(kernels.motion(3, 30), boundary, "fft")))
    return ops


def make_cases(seed: int = 0) -> list[Case]:
    """Every imaging-primitive case, points drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    for label, op in _blur_ops():
        for shape in [(7, 9), (6, 5, 3), (5, 6)]:
            cases.append(Case("blur", f"{shape} {label}", lambda x, op=op: blur(x, op),
                              (rng.standard_normal(shape),)))
    for shape, f, boundary, sampling in [((7, 9), 2, "symmetric", "sample"),
                                         ((6, 5, 3), 3, "periodic", "sample"),
                                         ((6, 8), 2, "symmetric", "area")]:
        op = BlurSubsample(kernels.gaussian(0.5), boundary, f, sampling, shape)
        cases.append(Case("blur_subsample", f"{shape} factor={f} {boundary} {sampling}",
                          lambda x, op=op: op(x), (rng.standard_normal(shape),)))
    for shape in [(7, 9), (6, 5, 3), (3, 3), (1, 4)]:
        for f in (1, 2, 3):
            cases.append(Case("subsample", f"{shape} factor={f}",
                              lambda x, f=f: subsample(x, f), (rng.standard_normal(shape),)))
    for shape, f in [((6, 8), 2), ((6, 9, 2), 3), ((4, 4), 4)]:
        cases.append(Case("subsample_area", f"{shape} factor={f}",
                          lambda x, f=f: subsample(x, f, mode="area"),
                          (rng.standard_normal(shape),)))
    for shape in IMAGE_SHAPES:
        cases.append(Case("gradient", str(shape), gradient, (rng.standard_normal(shape),)))
        cases.append(Case("divergence", str((2,) + shape), divergence,
                          (rng.standard_normal((2,) + shape),)))
    for shape, eps in [((2, 5, 6), 0.1), ((2, 4, 3, 2), 0.5), ((2, 3, 4), 0.0)]:
        # eps = 0: entries away from |p| = 0, where the norm has its kink
        p = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.5, shape)
        cases.append(Case("magnitude", f"{shape} eps={eps}",
                          lambda a, eps=eps: magnitude(a, eps), (p,)))
    return cases
