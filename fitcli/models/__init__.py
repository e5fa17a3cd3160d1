"""Model kinds: ``MODELS`` maps a config's ``model.type`` to its class (see base.py).

To add a kind: write ``fitcli/models/<kind>.py`` with a :class:`Model` subclass (class
attribute ``name``) and list the module in ``KIND_MODULES`` below. Every Model subclass
defined in a listed module with its own ``name`` is registered. A listed module that is
not present in this checkout yet is skipped; an error inside a present module propagates.
"""

from __future__ import annotations

import importlib
import importlib.util

from .base import Model, ParamVector

MODELS: dict[str, type[Model]] = {}
KIND_MODULES = ("mlp", "rnn", "superres", "registration", "testfn")


def register(cls: type[Model]) -> type[Model]:
    """Add a model class under its ``name`` (usable as a decorator)."""
    MODELS[cls.name] = cls
    return cls


def _register_module(module_name: str) -> None:
    if importlib.util.find_spec(f"{__name__}.{module_name}") is None:
        return
    module = importlib.import_module(f".{module_name}", __name__)
    for obj in vars(module).values():
        if (isinstance(obj, type) and issubclass(obj, Model) and obj.__module__ == module.__name__
                and "name" in vars(obj)):
            register(obj)


for _m in KIND_MODULES:
    _register_module(_m)

__all__ = ["KIND_MODULES", "MODELS", "Model", "ParamVector", "register"]
