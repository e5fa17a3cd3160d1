"""The regularizer protocol and the wrapper prox optimizers receive (see ``__init__``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from ..engine import Tensor

__all__ = ["NonSmoothTerm", "Regularizer"]


class Regularizer:
    """Base class. ``__call__`` is R on one block (unweighted), as engine ops."""

    name: ClassVar[str] = "regularizer"
    smooth: ClassVar[bool] = True
    formula: ClassVar[str] = "R(θ)"          # printed with its weight: 1e-4·½‖θ‖²
    # the blocks it makes sense on: "any" parameters (l1, l2), an "image" (H, W[, C]) or a
    # displacement "field"; a model kind lists those it has in Model.regularizer_kinds
    applies_to: ClassVar[str] = "any"

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
