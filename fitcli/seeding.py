"""The random generators of a config seed: one independent stream per purpose.

Every random draw of a run derives from ``seed`` through ``SeedSequence(seed).spawn``:
``data`` (splits, synthetic data and noise, deformations), ``init`` (initial
parameters) and ``optimizer`` (minibatches, random directions). Adding a purpose at the
end keeps the earlier streams unchanged.
"""

from __future__ import annotations

import numpy as np

PURPOSES = ("data", "init", "optimizer")


def generators(seed: int) -> dict[str, np.random.Generator]:
    """``{purpose: Generator}`` for :data:`PURPOSES`, all derived from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(PURPOSES))
    return {n: np.random.default_rng(s) for n, s in zip(PURPOSES, children, strict=True)}
