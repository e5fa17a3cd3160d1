"""Regularizers: weighted terms ``weight · R(θ)`` added to the data term.

``REGULARIZERS`` maps a config's ``regularization[i].type`` to a class whose
keyword-only ``__init__`` arguments are its YAML options (``weight`` is common
to all and handled by the fit loop). A regularizer is applied to each
parameter block the model lists in ``Model.regularized()``, in the block's
own shape (an image stays (H, W)), and summed over blocks.

Smooth terms: ``reg(theta: Tensor) -> scalar Tensor`` built from engine ops,
part of the closure. Non-smooth terms (``smooth = False``, e.g. l1, tv) also
implement ``value(theta: ndarray) -> float`` and ``prox(theta, step) ->
ndarray`` — the proximal map of ``step · R`` on one block. The fit loop wraps
them with their weight and block layout into :class:`NonSmoothTerm` objects
acting on the flat vector; an optimizer with ``handles_nonsmooth = True``
receives those through ``opt.set_nonsmooth(terms)`` and the closure leaves
them out; for every other optimizer they stay in the closure (subgradient).

To add one: subclass :class:`~.base.Regularizer` (in ``basic.py``, ``image.py`` or
a new module importing ``.base``) and list the class in ``REGULARIZERS`` below.
Penalties that only one model kind can use live in that kind's
``Model.regularizers`` instead: the displacement-field ones of
``fitcli/models/registration/fields.py`` (``diffusion``, ``bending``, and ``tv`` /
``smooth_tv`` per field component) are registration's ``FIELD_REGULARIZERS``.
"""

from __future__ import annotations

from .base import NonSmoothTerm, Regularizer
from .basic import L1, L2
from .image import TV, SmoothTV, Sobolev, Tikhonov

__all__ = ["REGULARIZERS", "NonSmoothTerm", "Regularizer"]

REGULARIZERS: dict[str, type[Regularizer]] = {
    cls.name: cls for cls in (L2, L1, Tikhonov, Sobolev, SmoothTV, TV)}
