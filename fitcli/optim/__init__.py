"""Optimizers: one protocol (:mod:`.base`), one file per family, one registry.

``OPTIMIZERS`` maps the YAML name (``optimizer.type``) to the class; a class's
keyword-only ``__init__`` arguments (minus ``rng`` and ``n_samples``) are its YAML
options, read by :func:`fitcli.config.options_of` like every other component's.
"""

from .base import Optimizer, Prox, StepInfo
from .gd import GD
from .momentum import HeavyBall, Nesterov
from .newton import NewtonCG
from .primal_dual import PDHG
from .proximal import FISTA, ISTA
from .quasi_newton import BFGS, LBFGS
from .sgd import SGD, SVRG, Adam

OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls
    for cls in (GD, HeavyBall, Nesterov, LBFGS, BFGS, NewtonCG, SGD, Adam, SVRG, ISTA, FISTA,
                PDHG)
}

__all__ = ["OPTIMIZERS", "Optimizer", "Prox", "StepInfo"]
