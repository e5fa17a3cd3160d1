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

To add regularizers (image ones: tikhonov, sobolev, smooth_tv, tv, ...): write
a module with classes decorated by :func:`register` and import it at the
bottom of this file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from ..engine import Tensor

__all__ = ["REGULARIZERS", "NonSmoothTerm", "Regularizer", "register"]

REGULARIZERS: dict[str, type[Regularizer]] = {}


def register(cls: type[Regularizer]) -> type[Regularizer]:
    """Add a regularizer class to ``REGULARIZERS`` under its ``name``."""
    REGULARIZERS[cls.name] = cls
    return cls


class Regularizer:
    """Base class. ``__call__`` is R on one block (unweighted), as engine ops."""

    name: ClassVar[str] = "regularizer"
    smooth: ClassVar[bool] = True
    formula: ClassVar[str] = "R(θ)"          # printed with its weight: 1e-4·½‖θ‖²

    def __call__(self, theta: Tensor) -> Tensor:
        raise NotImplementedError

    def value(self, theta: np.ndarray) -> float:
        """R(θ) on a numpy block (non-smooth terms; default: through the engine)."""
        return float(self(Tensor(theta)).data)

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        """argmin_z ½‖z − θ‖² + step·R(z) on one block (non-smooth terms must implement)."""
        raise NotImplementedError(f"{self.name} has no proximal map")


class NonSmoothTerm:
    """``weight · R`` on the blocks ``names`` of a flat vector (what prox optimizers get).

    Parameters
    ----------
    reg : Regularizer
    weight : float
    slices, shapes : mapping name -> slice / shape
        Where each block lives in the flat vector ``x`` and its shape.
    names : the blocks it applies to.
    """

    def __init__(self, reg: Regularizer, weight: float, slices: Mapping[str, slice],
                 shapes: Mapping[str, tuple], names: Sequence[str]):
        self.reg, self.weight, self.name = reg, float(weight), reg.name
        self.blocks = [(slices[k], shapes[k]) for k in names]

    def value(self, x: np.ndarray) -> float:
        """weight · Σ_blocks R(block of x)."""
        return self.weight * sum(self.reg.value(x[sl].reshape(sh)) for sl, sh in self.blocks)

    def prox(self, x: np.ndarray, step: float) -> np.ndarray:
        """prox of step·weight·R: a new flat array (blocks not covered pass through)."""
        out = np.array(x, copy=True)
        for sl, sh in self.blocks:
            out[sl] = self.reg.prox(x[sl].reshape(sh), step * self.weight).reshape(-1)
        return out

    def state_dict(self) -> dict:
        """The regularizer's own state (e.g. a warm-started prox), for checkpoints."""
        return self.reg.state_dict() if hasattr(self.reg, "state_dict") else {}

    def load_state_dict(self, state: dict) -> None:
        if hasattr(self.reg, "load_state_dict"):
            self.reg.load_state_dict(state)


def _import_optional(name: str) -> None:
    """Import a regularizer module when it is present (its classes register themselves)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        importlib.import_module(f".{name}", __name__)


from . import basic  # noqa: E402,F401  (registers l2, l1)

_import_optional("image")   # tikhonov, sobolev, smooth_tv, tv (imaging)


def _register_fields() -> None:
    """Displacement-field penalties (registration): those of ``fields.FIELD_REGULARIZERS``
    whose names are not taken yet (diffusion, bending; tv / smooth_tv stay image.py's)."""
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.fields") is None:
        return
    from . import fields

    for name, cls in getattr(fields, "FIELD_REGULARIZERS", {}).items():
        REGULARIZERS.setdefault(name, cls)


_register_fields()
