"""Datasets: ``DATASETS`` maps a built-in name to its :class:`DatasetEntry` (see base.py)."""

from __future__ import annotations

from .base import DataContext, Dataset, DatasetEntry, resolve_path

DATASETS: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry) -> DatasetEntry:
    """Add a named dataset to the registry."""
    DATASETS[entry.name] = entry
    return entry


__all__ = ["DATASETS", "DataContext", "Dataset", "DatasetEntry", "register", "resolve_path"]


def _import_optional(name: str) -> None:
    """Import a data family module when it is present (it registers its datasets)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        importlib.import_module(f".{name}", __name__)


from . import tabular  # noqa: E402,F401  (registers digits, spirals, moons)

for _family in ("sequences", "images"):   # the RNN and imaging data families
    _import_optional(_family)
