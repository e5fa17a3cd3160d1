"""Imaging operators with exact adjoints, as engine primitives.

``blur``, ``blur_subsample`` (fused, separable kernels), ``subsample``,
``subsample_area``, ``subsample_centre``, ``gradient``, ``divergence`` and ``magnitude``
are defined with
:mod:`fitcli.engine.extend`, each module with its ``gradcheck_cases(rng)``; the
warps live in :mod:`fitcli.operators.warp`. ``fitcli.battery`` lists them all.
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
    SUBSAMPLE_CENTRE,
    area_adjoint,
    area_array,
    centre_adjoint,
    centre_array,
    subsample,
    subsample_array,
    upsample_zero,
)

__all__ = [
    "BLUR", "BLUR_SUBSAMPLE", "DIVERGENCE", "GRADIENT", "KERNELS", "SUBSAMPLE",
    "SUBSAMPLE_AREA", "SUBSAMPLE_CENTRE", "MAGNITUDE", "Blur", "BlurSubsample", "magnitude",
    "magnitude_array", "centre_adjoint", "centre_array",
    "Kernel", "area_adjoint", "area_array", "blur", "box", "divergence", "divergence_array",
    "from_array", "from_file", "gaussian", "gradient", "gradient_adjoint", "gradient_array",
    "kernel_from_spec", "motion", "subsample", "subsample_array", "upsample_zero",
]
