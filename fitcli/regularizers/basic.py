"""The basic penalties on parameter vectors: l2 = ½‖θ‖², l1 = ‖θ‖₁ (with its prox)."""

from __future__ import annotations

import numpy as np

from .. import engine as fe
from ..engine import Tensor
from .base import Regularizer


class L2(Regularizer):
    """½‖θ‖² (weight decay); smooth, gradient θ."""

    name = "l2"
    formula = "½‖θ‖²"

    def __call__(self, theta: Tensor) -> Tensor:
        return 0.5 * fe.sum(theta * theta)

    def value(self, theta: np.ndarray) -> float:
        return 0.5 * float(np.vdot(theta, theta))

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        # argmin ½‖z − θ‖² + (t/2)‖z‖²  →  z = θ / (1 + t)
        return theta / (1.0 + step)


class L1(Regularizer):
    """‖θ‖₁; non-smooth: its prox is soft-thresholding, its subgradient at 0 is 0."""

    name = "l1"
    smooth = False
    formula = "‖θ‖₁"

    def __call__(self, theta: Tensor) -> Tensor:
        return fe.sum(fe.abs(theta))

    def value(self, theta: np.ndarray) -> float:
        return float(np.abs(theta).sum())

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        # soft-thresholding: sign(θ) · max(|θ| − t, 0)
        return np.sign(theta) * np.maximum(np.abs(theta) - step, 0.0)
