"""Imaging operators with exact adjoints, registered as engine primitives.

Importing this package registers ``blur``, ``blur_subsample`` (fused, separable
kernels), ``subsample``, ``subsample_area``,
``gradient``, ``divergence`` and ``magnitude`` in ``fitcli.engine.OPS``; their gradient-check
cases are :func:`fitcli.operators.cases.make_cases`.
"""

from .blur import BLUR, Blur, blur
from .decimate import BLUR_SUBSAMPLE, BlurSubsample
from .differences import (
    DIVERGENCE,
    GRADIENT,
    MAGNITUDE,
    divergence,
    divergence_array,
    gradient,
    gradient_adjoint,
    gradient_array,
    magnitude,
    magnitude_array,
)
from .kernels import KERNELS, Kernel, box, from_array, from_file, gaussian, kernel_from_spec, motion
from .sampling import (
    SUBSAMPLE,
    SUBSAMPLE_AREA,
    area_adjoint,
    area_array,
    subsample,
    subsample_array,
    upsample_zero,
)

OPS = [BLUR, BLUR_SUBSAMPLE, SUBSAMPLE, SUBSAMPLE_AREA, GRADIENT, DIVERGENCE, MAGNITUDE]

__all__ = [
    "BLUR", "BLUR_SUBSAMPLE", "DIVERGENCE", "GRADIENT", "KERNELS", "OPS", "SUBSAMPLE",
    "SUBSAMPLE_AREA", "MAGNITUDE", "Blur", "BlurSubsample", "magnitude", "magnitude_array",
    "Kernel", "area_adjoint", "area_array", "blur", "box", "divergence", "divergence_array",
    "from_array", "from_file", "gaussian", "gradient", "gradient_adjoint", "gradient_array",
    "kernel_from_spec", "motion", "subsample", "subsample_array", "upsample_zero",
]
