"""Datasets: ``DATASETS`` maps a built-in name to its :class:`DatasetEntry` (see base.py).

Each data family module lists its own entries (``tabular.TABULAR``, ``sequences.SEQUENCES``);
this table gathers them. To add a family: write the module with its loader and its table,
and add the table here.
"""

from __future__ import annotations

from .base import DataContext, Dataset, DatasetEntry, resolve_path
from .sequences import SEQUENCES
from .tabular import TABULAR

DATASETS: dict[str, DatasetEntry] = {**TABULAR, **SEQUENCES}

__all__ = ["DATASETS", "DataContext", "Dataset", "DatasetEntry", "resolve_path"]
