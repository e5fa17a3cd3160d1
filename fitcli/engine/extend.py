"""Defining primitives: the engine's public extension surface.

A primitive is a forward on raw numpy arrays, one VJP per input and a forward-mode
(JVP) rule, made with :func:`primitive` and applied with :func:`apply`::

    import numpy as np
    import fitcli.engine as fe
    from fitcli.engine.extend import Case, primitive

    softsign_op = primitive(
        "softsign", lambda a: a / (1 + np.abs(a)),
        vjps=(lambda g, out, a: g / (1 + np.abs(a)) ** 2,),    # d/da = 1 / (1 + |a|)²
        jvp=lambda t, out, a: t[0] / (1 + fe.abs(a)) ** 2)     # engine functions

    def softsign(x):
        return fe.apply(softsign_op, x)

    def gradcheck_cases(rng):                                 # the module's cases
        return [Case("softsign", "(3, 4)", softsign, (rng.standard_normal((3, 4)),))]

VJP signature ``vjp(g, out, *inputs, **params) -> ndarray`` on raw arrays (the
cotangent may keep the broadcast shape: the sweep sums it back). JVP signature
``jvp(tangents, out, *inputs, **params) -> Tensor``, written with engine functions
so that reverse-over-forward (``fe.hvp``) works; a tangent is ``None`` for an input
without one (:func:`tsum` and :func:`on` skip those). Keyword parameters of
``apply`` are static (not differentiated) and reach every rule.

Nothing is registered anywhere: a module that defines primitives binds each at
module level and defines ``gradcheck_cases(rng) -> list[Case]``, and is listed
once in ``fitcli.battery`` so that ``fitcli gradcheck --ops`` checks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from ._common import on, raw, tsum
from .cases import Case
from .op import EngineError, Op, primitive
from .tensor import Tensor, apply, grad_enabled, operand, unbroadcast

__all__ = ["Case", "EngineError", "Op", "Tensor", "apply", "grad_enabled", "on", "op_table",
           "operand", "primitive", "primitives_of", "raw", "tsum", "unbroadcast"]


def primitives_of(module: ModuleType) -> list[Op]:
    """The primitives a module defines: its module-level :class:`Op` values."""
    return [v for v in vars(module).values() if isinstance(v, Op)]


def op_table(ops: Iterable[Op]) -> dict[str, Op]:
    """Name → primitive; two different primitives of one name are an error."""
    table: dict[str, Op] = {}
    for op in ops:
        if table.get(op.name, op) is not op:
            raise EngineError(f"two primitives are named {op.name!r}")
        table[op.name] = op
    return table
