"""The gradient-check battery: every primitive fitcli defines, and their cases.

The engine's own primitives are ``fitcli.engine.OPS``; :data:`EXTENSIONS` is the one
explicit list of the modules outside the engine that define primitives with
``fitcli.engine.extend`` (imaging operators, warps, displacement-field regularizers,
fused recurrent cells). Each binds its primitives at module level and defines
``gradcheck_cases(rng) -> list[Case]``. A new primitive module is one line here;
a module left out is caught by ``tests/engine/test_extend.py``.

``fitcli gradcheck --ops`` and the engine tests run :func:`all_cases`; a primitive
without a case is reported by :func:`missing_cases`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from . import engine as fe
from .engine.extend import Case, Op, op_table, primitives_of

# by dotted name: ``fitcli.operators.blur`` the attribute is the function ``blur``
EXTENSIONS = (
    "fitcli.operators.blur",
    "fitcli.operators.decimate",
    "fitcli.operators.sampling",
    "fitcli.operators.differences",
    "fitcli.models.rnn.cells",
    "fitcli.models.rnn.lstm",
    "fitcli.models.rnn.gru",
    "fitcli.operators.warp",
    "fitcli.models.registration.fields",
)


def extension_modules() -> list[ModuleType]:
    """The modules of :data:`EXTENSIONS`, imported."""
    return [importlib.import_module(name) for name in EXTENSIONS]


def all_ops() -> dict[str, Op]:
    """Name → primitive, for the engine and every module of :data:`EXTENSIONS`."""
    extra = [op for module in extension_modules() for op in primitives_of(module)]
    return op_table([*fe.OPS.values(), *extra])


def all_cases(seed: int = 0) -> list[Case]:
    """Every case, points drawn from ``seed`` (each module from its own generator, so
    that a module's points do not depend on the modules listed before it)."""
    cases = fe.gradcheck_cases(np.random.default_rng(seed))
    for module in extension_modules():
        cases += module.gradcheck_cases(np.random.default_rng(seed))
    return cases


def missing_cases(cases: list[Case]) -> list[str]:
    """Primitives that no case exercises."""
    return sorted(set(all_ops()) - {c.op for c in cases})


def missing_jvp_rules() -> list[str]:
    """Primitives with neither a JVP rule nor the linear one-input fallback."""
    return sorted(name for name, op in all_ops().items()
                  if op.jvp is None and not (op.linear and _n_inputs(op) == 1))


def _n_inputs(op) -> int:
    return len(op.vjps) if op.vjp_var is None else -1
