"""Model kinds: ``MODELS`` maps a config's ``model.type`` to its class (see base.py).

To add a kind: a module ``fitcli/models/<kind>.py`` (or a package ``<kind>/``) with a
:class:`Model` subclass (class attribute ``name``), and its class in ``MODELS`` below.
Losses and regularizers that only this kind can use are its own class attributes
(``losses``, ``regularizers``).
"""

from __future__ import annotations

from .base import Model, ParamVector
from .mlp import MLP
from .registration import RegistrationModel
from .rnn import RNN
from .superres import SuperRes
from .testfn import TestFunction

MODELS: dict[str, type[Model]] = {
    cls.name: cls for cls in (MLP, RNN, SuperRes, RegistrationModel, TestFunction)
}

__all__ = ["MODELS", "Model", "ParamVector"]
