"""From parsed columns to the model's input matrix, with statistics of the training part only.

:class:`Encoder` is fitted on the training rows (imputation values, category
vocabularies, standardisation mean/std) and then applied unchanged to the
training rows, the validation rows and, later, new data for ``predict``:

- a numeric column is one input; a missing cell gets the column's training
  mean or median (``data.missing: mean | median``);
- a string column is one-hot encoded over the sorted categories seen in the
  training part (inputs named ``column=category``); a category the training
  part never had encodes as an all-zero row; a missing cell gets the most
  frequent training category;
- standardisation (``data.standardize``) scales the numeric inputs to zero
  mean and unit variance of the training part; one-hot inputs stay 0/1
  (their stored mean is 0 and std 1, so ``(X - mean) / std`` applies to all).

``to_extras`` / ``from_extras`` give the plain description (lists, dicts and
float arrays, no pickle) that a run keeps for ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .csvfile import Column

__all__ = ["MAX_CATEGORIES", "Encoder", "take"]

MAX_CATEGORIES = 1000   # more distinct strings than this is an ID or a typo, not a category


def take(col: Column, rows: np.ndarray) -> Column:
    """The column restricted to ``rows`` (an index or boolean array)."""
    return Column(col.name, col.kind, col.values[rows], col.missing[rows])


def _example_strings(values: np.ndarray) -> str:
    """A few cells of a string column that do not read as numbers (for an error message).
    A Python loop over at most a few thousand distinct values: only on the error path."""
    def is_number(s):
        try:
            float(s)
            return True
        except ValueError:
            return False

    odd = [v for v in np.unique(values)[:5000] if not is_number(v)][:3]
    return ", ".join(repr(str(v)) for v in odd)


@dataclass
class Encoder:
    """The preprocessing fitted on the training part (see the module docstring)."""

    columns: list[str]                                    # input columns, in order
    categories: dict[str, list[str]] = field(default_factory=dict)
    impute: dict[str, float | str] = field(default_factory=dict)
    mean: np.ndarray | None = None                        # per encoded input
    std: np.ndarray | None = None

    @property
    def features(self) -> list[str]:
        """Names of the encoded inputs (``column`` or ``column=category``)."""
        out = []
        for name in self.columns:
            cats = self.categories.get(name)
            out += [name] if cats is None else [f"{name}={c}" for c in cats]
        return out

    def onehot_mask(self) -> np.ndarray:
        """True at the encoded inputs that are one-hot indicators."""
        sizes = [len(self.categories[n]) if n in self.categories else 1 for n in self.columns]
        flags = [n in self.categories for n in self.columns]
        return np.repeat(np.array(flags, dtype=bool), sizes)

    @classmethod
    def fit(cls, train: list[Column], *, missing: str, standardize: bool, source: str,
            dtype=np.float64) -> Encoder:
        """Imputation, vocabularies and statistics from the training columns ``train``."""
        enc = cls([c.name for c in train])
        for col in train:
            present = col.values[~col.missing]
            if missing in ("mean", "median") and col.missing.any():
                if len(present) == 0:
                    raise InputError(f"{source}: column {col.name!r} has no value in the "
                                     f"training part to impute from")
                enc.impute[col.name] = _fill_value(col.kind, present, missing)
            if col.kind == "string":
                cats = np.unique(present)
                if len(cats) > MAX_CATEGORIES:
                    raise InputError(
                        f"{source}: column {col.name!r} has {len(cats)} distinct non-numeric "
                        f"values (e.g. {_example_strings(present)}); a categorical column may "
                        f"have at most {MAX_CATEGORIES} (exclude it with data.drop)")
                enc.categories[col.name] = cats.tolist()
        if standardize:
            X = enc.transform(train, dtype, scale=False)
            enc.mean, enc.std = X.mean(axis=0), X.std(axis=0)
            enc.std[enc.std == 0] = 1.0          # constant inputs (digits' blank corners) stay 0
            onehot = enc.onehot_mask()
            enc.mean[onehot], enc.std[onehot] = 0.0, 1.0
        return enc

    def transform(self, cols: list[Column], dtype=np.float64, scale: bool = True) -> np.ndarray:
        """The input matrix (N, D) of ``cols`` (the same columns, in ``self.columns`` order)."""
        blocks = []
        for col in cols:
            values = col.values
            if col.missing.any() and col.name in self.impute:
                values = np.where(col.missing, self.impute[col.name], values)
            cats = self.categories.get(col.name)
            if cats is None:
                blocks.append(values.astype(np.float64))
                continue
            vocab = np.asarray(cats, dtype=str)
            idx = np.clip(np.searchsorted(vocab, values), 0, max(len(vocab) - 1, 0))
            known = vocab[idx] == values if len(vocab) else np.zeros(len(values), bool)
            # unseen categories (and missing cells left as "") are all-zero rows
            onehot = (idx[:, None] == np.arange(len(vocab))) & known[:, None]
            blocks.extend(onehot.T.astype(np.float64))
        X = np.column_stack(blocks).astype(dtype) if blocks else np.zeros((0, 0), dtype)
        if scale and self.mean is not None:
            X = (X - self.mean) / self.std
        return X

    def to_extras(self) -> dict:
        """The plain description a run keeps (see ``from_extras``)."""
        out = {"columns": list(self.columns), "features": self.features,
               "categories": {k: list(v) for k, v in self.categories.items()},
               "impute": dict(self.impute)}
        if self.mean is not None:
            out.update(mean=self.mean, std=self.std)
        return out

    @classmethod
    def from_extras(cls, extras: dict) -> Encoder:
        """The encoder described by ``to_extras`` (e.g. read back from a run)."""
        mean, std = extras.get("mean"), extras.get("std")
        return cls(list(extras["columns"]), {k: list(v) for k, v in extras["categories"].items()},
                   dict(extras.get("impute", {})),
                   None if mean is None else np.asarray(mean),
                   None if std is None else np.asarray(std))


def _fill_value(kind: str, present: np.ndarray, how: str):
    if kind == "number":
        return float(np.mean(present) if how == "mean" else np.median(present))
    cats, counts = np.unique(present, return_counts=True)
    return str(cats[np.argmax(counts)])        # most frequent; ties: the first in sort order
