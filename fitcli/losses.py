"""Losses: compositions of engine ops; ``LOSSES`` maps the YAML name to the class.

A loss is a class whose keyword-only ``__init__`` arguments are its YAML
options (``loss: {type: huber, delta: 1.0}``); calling it with predictions (a
Tensor) and targets (numpy) returns the scalar data term. ``tasks`` lists the
data tasks it accepts; ``formula`` is printed in the objective.

To add one: subclass :class:`Loss` and list the class in ``LOSSES`` at the bottom
of this file. A loss that only one model kind can use (registration's ``ncc``,
the test functions' ``value``) belongs to that kind instead: its ``Model.losses``,
which the config lays over ``LOSSES`` for configs of that kind.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from . import engine as fe
from .engine import Tensor
from .errors import ConfigError

__all__ = ["LOSSES", "Loss"]


class Loss:
    """Base class: ``loss(pred, target) -> scalar Tensor``."""

    name: ClassVar[str] = "loss"
    tasks: ClassVar[tuple[str, ...]] = ("regression",)
    formula: ClassVar[str] = "loss"          # e.g. "mean logistic(f(x; θ), y)"

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        raise NotImplementedError

    def check_task(self, task: str) -> None:
        """Raise a ConfigError when the data task does not suit this loss."""
        if task not in self.tasks:
            raise ConfigError("loss.type", f"a loss for {task} data (not {self.name}, "
                              f"which needs {' or '.join(self.tasks)} data)")


def _residual(pred: Tensor, target: np.ndarray) -> Tensor:
    return pred - np.asarray(target, dtype=pred.dtype).reshape(pred.shape)


class Logistic(Loss):
    """Mean softmax cross-entropy over samples; binary (one logit) for two classes.

    ``pred``: logits (..., C), or (..., 1) for two classes; ``target``: integer
    labels (...). Per sample: logsumexp(z) − z_y (stable), or for one logit
    softplus(z) − y·z.
    """

    name = "logistic"
    tasks = ("classification",)
    formula = "mean logistic(f(x; θ), y)"

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        labels = np.asarray(target)
        if pred.shape[-1] == 1:
            z = fe.reshape(pred, labels.shape)
            return fe.mean(fe.softplus(z) - z * labels.astype(pred.dtype))
        onehot = np.eye(pred.shape[-1], dtype=pred.dtype)[labels]
        picked = fe.sum(pred * onehot, axis=-1)
        return fe.mean(fe.logsumexp(pred, axis=-1) - picked)


class MSE(Loss):
    """Mean of r² over samples and outputs, r = prediction − target."""

    name = "mse"
    formula = "mean (f(x; θ) − y)²"

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        r = _residual(pred, target)
        return fe.mean(r * r)


class L1(Loss):
    """Mean |r| (gradient 0 at r = 0)."""

    name = "l1"
    formula = "mean |f(x; θ) − y|"

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        return fe.mean(fe.abs(_residual(pred, target)))


class Huber(Loss):
    """Mean Huber(r; δ): ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond.

    Written as ½q² + δ(|r| − q) with q = min(|r|, δ), which is exactly that and
    differentiable everywhere except r = 0 of |r| where both pieces agree.
    """

    name = "huber"
    formula = "mean huber(f(x; θ) − y; δ)"

    def __init__(self, *, delta: float = 1.0):
        if not delta > 0:
            raise ConfigError("loss.delta", "a positive number", delta)
        self.delta = float(delta)

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        a = fe.abs(_residual(pred, target))
        q = fe.minimum(a, self.delta)
        return fe.mean(0.5 * q * q + self.delta * (a - q))


class SSD(Loss):
    """½ Σ r² summed over pixels, r = f(θ) − y: the data term of imaging problems.

    A model may print it in its own terms (``Model.data_formulas``), e.g.
    super-resolution's ½‖S(h⋆x) − y‖².
    """

    name = "ssd"
    tasks = ("image",)
    formula = "½‖f(θ) − y‖²"

    def __call__(self, pred: Tensor, target: np.ndarray) -> Tensor:
        r = _residual(pred, target)
        return 0.5 * fe.sum(r * r)


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (Logistic, MSE, L1, Huber, SSD)}
