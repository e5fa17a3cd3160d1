"""Datasets: ``DATASETS`` maps a built-in name to its :class:`DatasetEntry` (see base.py)."""

from __future__ import annotations

from .base import DataContext, Dataset, DatasetEntry, resolve_path

DATASETS: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry) -> DatasetEntry:
    """Add a named dataset to the registry."""
    DATASETS[entry.name] = entry
    return entry


__all__ = ["DATASETS", "DataContext", "Dataset", "DatasetEntry", "register", "resolve_path"]


from . import tabular  # noqa: E402,F401  (registers digits, spirals, moons)
