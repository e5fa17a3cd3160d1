"""The small combinators the forward-mode (JVP) rules are written with."""

from __future__ import annotations

import numpy as np


def tsum(*terms):
    """Sum of the terms that are present (a missing input tangent contributes nothing)."""
    present = [t for t in terms if t is not None]
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def on(t, f):
    """``f(t)`` for a present tangent, ``None`` otherwise."""
    return None if t is None else f(t)


def raw(x) -> np.ndarray:
    """The array of a Tensor or a constant (for masks: piecewise-constant derivatives)."""
    return x.data if hasattr(x, "data") and not isinstance(x, np.ndarray) else np.asarray(x)
