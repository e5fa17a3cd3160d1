"""The Dataset object models consume, and the context a data loader receives.

A data family (tabular, sequences, images) is one loader function::

    def load_tabular(ctx: DataContext, /, *, dataset: str, validation: float = 0.2,
                     standardize: bool = True, ...) -> Dataset

Its keyword-only arguments are the schema of the config's ``data:`` section
(checked and coerced by the config exactly like a model's options; a
parameter without a default is required). A model kind names its loader in
its class attribute ``load_data``. Named datasets (digits, spirals, adding, reber,
...) are entries of ``fitcli.data.DATASETS`` (see ``DatasetEntry``).
No engine imports here: data is numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["DataContext", "Dataset", "DatasetEntry", "resolve_path"]


@dataclass
class DataContext:
    """What a loader needs besides its YAML options."""

    base_dir: Path                  # the config file's directory: relative paths resolve here
    rng: np.random.Generator        # derived from the config seed
    dtype: np.dtype = np.dtype(np.float64)


@dataclass
class Dataset:
    """Training (and validation) arrays and what kind of task they pose.

    Attributes
    ----------
    name : str
        Dataset name or file path, for logs.
    task : str
        ``"classification"`` (targets are integer labels 0..C-1, shape (N,)),
        ``"regression"`` (targets (N,) or (N, K) floats), or a family-specific kind
        (``"sequence"``, ``"image"``, ...).
    X_train, y_train : arrays, first axis = samples
        Inputs (N, D) and targets; ``X_train`` may be None when the model has
        no inputs (e.g. super-resolution: the target is the observation).
    X_val, y_val : arrays or None
        The held-out part (None when ``validation: 0``).
    n_classes : int
        Number of classes (classification), else 0.
    extras : dict
        Family-specific information (vocabulary, ground-truth image, operator
        settings, standardisation mean/std, feature names ...).
    """

    name: str
    task: str
    X_train: np.ndarray | None
    y_train: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    n_classes: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(len(self.y_train))

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:])) if self.X_train is not None else 0

    @property
    def n_outputs(self) -> int:
        """Outputs a model needs: 1 for binary classification (one logit), C for C > 2 classes,
        K for K regression targets."""
        if self.task == "classification":
            return 1 if self.n_classes == 2 else self.n_classes
        return 1 if self.y_train.ndim == 1 else int(np.prod(self.y_train.shape[1:]))

    @property
    def has_validation(self) -> bool:
        return self.y_val is not None and len(self.y_val) > 0


@dataclass(frozen=True)
class DatasetEntry:
    """A named dataset in the ``DATASETS`` registry.

    ``make(ctx, **options) -> (X, y)`` (or whatever the family's loader expects);
    ``family`` says which loader serves it (``"tabular"``, ``"sequences"``,
    ``"images"``); ``options`` lists the data-section keys it accepts besides the
    family's common ones, with their defaults (for ``fitcli list datasets``).
    """

    name: str
    family: str
    make: Callable
    doc: str = ""
    options: dict = field(default_factory=dict)


def resolve_path(value: str | Path, ctx: DataContext, field_name: str) -> Path:
    """A user path relative to the config's directory; it must exist."""
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = ctx.base_dir / p
    if not p.exists():
        raise InputError(f"{field_name}: file not found: {p}")
    return p
