"""Gradient-check cases: the :class:`Case` record and the shape batteries the engine's
families draw their cases from.

Every module that defines primitives exposes ``gradcheck_cases(rng) -> list[Case]``:
each case is a function of Tensors applying one primitive, with a point drawn from
the op's domain (positive for log/sqrt, a gap from zero for div and from the kinks
of abs/relu/clip, no ties for max/min) — except the cases marked ``kink``, which sit on
a tie on purpose: there the rules' documented convention (½ each) is what central
differences see. ``fitcli gradcheck --ops`` and the engine
tests run them all (``fitcli.battery``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Case:
    op: str                       # name in the op table
    label: str                    # shapes / parameters, for the report
    fn: Callable                  # fn(*tensors) -> Tensor
    args: tuple                   # the point (float64 arrays)
    kink: bool = False            # the point sits on a kink (e.g. ties): no second derivative


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away(rng, shape, gap=0.1):
    # |x| in [gap, 1.5]: away from the kink at 0
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(gap, 1.5, shape)


UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
BINARY_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((1, 4), (3, 1)),
                 ((3, 1), (1, 4)), ((), (3, 4)), ((2, 3, 4), (3, 1))]


def label(*shapes, **params) -> str:
    s = " ".join(str(tuple(sh)) for sh in shapes)
    p = " ".join(f"{k}={v}" for k, v in params.items())
    return f"{s} {p}".strip()


def unary(rng, op, fn, domain=normal) -> list[Case]:
    """``op`` on every shape of :data:`UNARY_SHAPES`, points from ``domain``."""
    return [Case(op, label(s), fn, (domain(rng, s),)) for s in UNARY_SHAPES]


def binary(rng, op, fn, da=normal, db=normal) -> list[Case]:
    """``op`` on every broadcasting pair of :data:`BINARY_SHAPES`."""
    return [Case(op, label(sa, sb), fn, (da(rng, sa), db(rng, sb))) for sa, sb in BINARY_SHAPES]


def composite(name, label_, fn, args, kink=False) -> Case:
    """A case of a composition (no table entry of its own), its label naming it, filed
    under the primitive its result comes from, so that the report's op names stay
    primitives; under the last non-linear one when there is one, so that a non-linear
    composition never joins the dot-product test of the linear primitives."""
    from .tensor import Tensor  # cases.py is imported by the tensor's families

    out = fn(*(Tensor(a, requires_grad=True) for a in args))
    nodes, stack = {}, [out]
    while stack:
        t = stack.pop()
        if t._op is not None and id(t) not in nodes:
            nodes[id(t)] = t
            stack += [p for p in t._parents if isinstance(p, Tensor)]
    nonlinear = [t for t in nodes.values() if not t._op.linear]
    op = max(nonlinear, key=lambda t: t._seq).op if nonlinear else out.op
    return Case(op, f"{name} {label_}".strip(), fn, args, kink=kink)
