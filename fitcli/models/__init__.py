"""Model kinds: ``MODELS`` maps a config's ``model.type`` to its class (see base.py).

To add a kind: write ``fitcli/models/<kind>.py`` with a :class:`Model` subclass and
add its import and entry below.
"""

from __future__ import annotations

from .base import Model, ParamVector

MODELS: dict[str, type[Model]] = {}


def register(cls: type[Model]) -> type[Model]:
    """Add a model class under its ``name`` (usable as a decorator)."""
    MODELS[cls.name] = cls
    return cls


__all__ = ["MODELS", "Model", "ParamVector", "register"]

from .mlp import MLP  # noqa: E402

register(MLP)
