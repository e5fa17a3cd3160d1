"""Imaging operators with exact adjoints, registered as engine primitives.

Importing this package registers ``blur``, ``subsample``, ``subsample_area``,
``gradient`` and ``divergence`` in ``fitcli.engine.OPS``; their gradient-check
cases are :func:`fitcli.operators.cases.make_cases`.
"""

from .blur import BLUR, Blur, blur
from .differences import (
    DIVERGENCE,
    GRADIENT,
    divergence,
    divergence_array,
    gradient,
    gradient_adjoint,
    gradient_array,
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

OPS = [BLUR, SUBSAMPLE, SUBSAMPLE_AREA, GRADIENT, DIVERGENCE]

__all__ = [
    "BLUR", "DIVERGENCE", "GRADIENT", "KERNELS", "OPS", "SUBSAMPLE", "SUBSAMPLE_AREA", "Blur",
    "Kernel", "area_adjoint", "area_array", "blur", "box", "divergence", "divergence_array",
    "from_array", "from_file", "gaussian", "gradient", "gradient_adjoint", "gradient_array",
    "kernel_from_spec", "motion", "subsample", "subsample_array", "upsample_zero",
]
