"""Model kinds: ``MODELS`` maps a config's ``model.type`` to its class (see base.py).

To add a kind: a module ``fitcli/models/<kind>.py`` (or a package ``<kind>/``) with a
:class:`Model` subclass (class attribute ``name``), and one line ``"<name>":
"<module>:<Class>"`` in ``MODELS`` below. Losses and regularizers that only this kind can
use are its own class attributes (``losses``, ``regularizers``).

The registry is explicit but lazy: a kind's module is imported the first time its class is
looked up, so an MLP run does not pay for registration's figures (matplotlib) or the
imaging operators (scipy.fft) — 0.25 s of a 1-iteration ``fitcli train`` (measured with
``python -X importtime``). ``name in MODELS`` and iterating the names import nothing;
``MODELS[name]``, ``.values()`` and ``.items()`` import what they return.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

from .base import Model, ParamVector


class Kinds(Mapping):
    """A read-only mapping name -> Model class over a plain dict name -> "module:Class"
    (module relative to this package), importing each module on first lookup."""

    def __init__(self, paths: dict[str, str]):
        self._paths, self._classes = dict(paths), {}

    def __getitem__(self, name: str) -> type[Model]:
        if name not in self._classes:
            module, _, cls = self._paths[name].partition(":")   # KeyError: not a kind
            self._classes[name] = getattr(import_module(f".{module}", __name__), cls)
        return self._classes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"Kinds({self._paths!r})"


MODELS: Mapping[str, type[Model]] = Kinds({
    "mlp": "mlp:MLP",
    "rnn": "rnn:RNN",
    "superres": "superres:SuperRes",
    "registration": "registration:RegistrationModel",
    "testfn": "testfn:TestFunction",
})

__all__ = ["MODELS", "Kinds", "Model", "ParamVector"]
