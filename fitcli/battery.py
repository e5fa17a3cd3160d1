"""The gradient-check battery of every registered primitive: the engine's own ops, the
imaging operators, the warps, the displacement-field regularizers and the fused
recurrent cells.

``fitcli gradcheck --ops`` and the engine tests run :func:`all_cases`; importing
this module imports every module that registers primitives, so that
``fitcli.engine.OPS`` is complete and a primitive without a case is noticed.
"""

from __future__ import annotations

import numpy as np

from .engine import OPS
from .engine.cases import Case
from .engine.cases import make_cases as engine_cases
from .models.rnn import cells as rnn_ops
from .operators import cases as imaging_cases
from .operators import warp
from .regularizers import fields


def all_cases(seed: int = 0) -> list[Case]:
    """Every case, points drawn from ``seed``."""
    rng = np.random.default_rng(seed + 1)
    return (engine_cases(seed) + imaging_cases.make_cases(seed) + list(rnn_ops.CASES)
            + warp.gradcheck_cases(rng) + fields.gradcheck_cases(rng))


def missing_cases(cases: list[Case]) -> list[str]:
    """Registered primitives that no case exercises."""
    return sorted(set(OPS) - {c.op for c in cases})


def missing_jvp_rules() -> list[str]:
    """Primitives with neither a JVP rule nor the linear one-input fallback."""
    return sorted(name for name, op in OPS.items()
                  if op.jvp is None and not (op.linear and _n_inputs(op) == 1))


def _n_inputs(op) -> int:
    return len(op.vjps) if op.vjp_var is None else -1
