"""The shape battery: gradient-check cases for every primitive in the op table.

Each case is a function of Tensors applying one primitive, with a point drawn
from the op's domain (positive for log/sqrt, a gap from zero for div and from
the kinks of abs/relu/clip, no ties for max/min). Shapes cover scalar,
vector, matrix, ``(1, n)`` / ``(n, 1)`` broadcasting and batched matmul.
``fitcli gradcheck --ops`` and ``tests/engine/test_ops.py`` both run them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import functions as F


@dataclass
class Case:
    op: str                       # name in the op table
    label: str                    # shapes / parameters, for the report
    fn: Callable                  # fn(*tensors) -> Tensor
    args: tuple                   # the point (float64 arrays)


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _away(rng, shape, gap=0.1):
    # |x| in [gap, 1.5]: away from the kink at 0
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(gap, 1.5, shape)


UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
BINARY_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((1, 4), (3, 1)),
                 ((3, 1), (1, 4)), ((), (3, 4)), ((2, 3, 4), (3, 1))]


def _label(*shapes, **params) -> str:
    s = " ".join(str(tuple(sh)) for sh in shapes)
    p = " ".join(f"{k}={v}" for k, v in params.items())
    return f"{s} {p}".strip()


def _unary(rng, op, fn, domain=_normal):
    return [Case(op, _label(s), fn, (domain(rng, s),)) for s in UNARY_SHAPES]


def _binary(rng, op, fn, da=_normal, db=_normal):
    return [Case(op, _label(sa, sb), fn, (da(rng, sa), db(rng, sb))) for sa, sb in BINARY_SHAPES]


def _clip_point(rng, shape):
    x = rng.uniform(-1.0, 1.0, shape)
    return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x * 0.8, x)  # away from the bounds ±0.5


def _reductions(rng, op, fn):
    cases = []
    for shape, axis, keep in [((5,), None, False), ((3, 4), None, True), ((3, 4), 0, False),
                              ((3, 4), 1, True), ((3, 4), -1, False), ((2, 3, 4), (0, 2), False),
                              ((2, 3, 4), 1, True), ((), None, False)]:
        cases.append(Case(op, _label(shape, axis=axis, keepdims=keep),
                          lambda a, axis=axis, keep=keep: fn(a, axis=axis, keepdims=keep),
                          (_normal(rng, shape),)))
    return cases


def _matmul_cases(rng):
    pairs = [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
             ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
             ((2, 3, 4), (4,)), ((4,), (2, 4, 5))]
    return [Case("matmul", _label(a, b), F.matmul, (_normal(rng, a), _normal(rng, b)))
            for a, b in pairs]


def _movement(rng):
    n = _normal
    c = [
        Case("reshape", "(3, 4) -> (4, 3)", lambda a: F.reshape(a, (4, 3)), (n(rng, (3, 4)),)),
        Case("reshape", "(2, 6) -> (12,)", lambda a: F.reshape(a, -1), (n(rng, (2, 6)),)),
        Case("reshape", "() -> (1, 1)", lambda a: F.reshape(a, (1, 1)), (n(rng, ()),)),
        Case("transpose", "(3, 4)", F.transpose, (n(rng, (3, 4)),)),
        Case("transpose", "(2, 3, 4) axes=(2, 0, 1)", lambda a: F.transpose(a, (2, 0, 1)),
             (n(rng, (2, 3, 4)),)),
        Case("broadcast_to", "(1, 4) -> (3, 4)", lambda a: F.broadcast_to(a, (3, 4)),
             (n(rng, (1, 4)),)),
        Case("broadcast_to", "(4,) -> (2, 3, 4)", lambda a: F.broadcast_to(a, (2, 3, 4)),
             (n(rng, (4,)),)),
        Case("broadcast_to", "(3, 1) -> (3, 4)", lambda a: F.broadcast_to(a, (3, 4)),
             (n(rng, (3, 1)),)),
        Case("broadcast_to", "() -> (2, 2)", lambda a: F.broadcast_to(a, (2, 2)), (n(rng, ()),)),
        Case("getitem", "(6,)[1:5:2]", lambda a: a[1:5:2], (n(rng, (6,)),)),
        Case("getitem", "(3, 4)[:, ::2]", lambda a: a[:, ::2], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[1]", lambda a: a[1], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[..., None, 2]", lambda a: a[..., None, 2], (n(rng, (3, 4)),)),
        Case("getitem", "(5,)[[0, 2, 0, 4, 2]] repeated", lambda a: a[[0, 2, 0, 4, 2]],
             (n(rng, (5,)),)),
        Case("getitem", "(3, 4)[[0, 2, 0], [1, 1, 1]] repeated",
             lambda a: a[np.array([0, 2, 0]), np.array([1, 1, 1])], (n(rng, (3, 4)),)),
        Case("getitem", "(3, 4)[mask]",
             lambda a: a[np.arange(12).reshape(3, 4) % 3 == 0], (n(rng, (3, 4)),)),
        Case("concatenate", "(2, 3) (4, 3) axis=0", lambda a, b: F.concatenate([a, b], axis=0),
             (n(rng, (2, 3)), n(rng, (4, 3)))),
        Case("concatenate", "(3, 1) (3, 2) (3, 4) axis=-1",
             lambda a, b, c: F.concatenate([a, b, c], axis=-1),
             (n(rng, (3, 1)), n(rng, (3, 2)), n(rng, (3, 4)))),
        Case("stack", "(3,) (3,) axis=0", lambda a, b: F.stack([a, b]),
             (n(rng, (3,)), n(rng, (3,)))),
        Case("stack", "(2, 3) x3 axis=2", lambda a, b, c: F.stack([a, b, c], axis=2),
             (n(rng, (2, 3)), n(rng, (2, 3)), n(rng, (2, 3)))),
        Case("pad", "(3,) ((1, 2),)", lambda a: F.pad(a, ((1, 2),)), (n(rng, (3,)),)),
        Case("pad", "(3, 4) ((0, 1), (2, 0)) value=1", lambda a: F.pad(a, ((0, 1), (2, 0)), 1.0),
             (n(rng, (3, 4)),)),
    ]
    return c


def make_cases(seed: int = 0) -> list[Case]:
    """Every case of the battery, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    cases += _binary(rng, "add", F.add)
    cases += _binary(rng, "subtract", F.subtract)
    cases += _binary(rng, "multiply", F.multiply)
    cases += _binary(rng, "divide", F.divide, db=_away)
    cases += _unary(rng, "negative", F.negative)
    cases += _binary(rng, "power", F.power, da=_positive)
    cases += [Case("power", _label(s) + " ** 2.5 (constant)", lambda a: F.power(a, 2.5),
                   (_positive(rng, s),)) for s in UNARY_SHAPES[:3]]
    cases += [Case("power", _label(s) + " ** 3 (constant)", lambda a: a ** 3,
                   (_normal(rng, s),)) for s in UNARY_SHAPES[:3]]
    cases += [Case("power", _label(s) + " 2 ** x (constant base)", lambda a: 2.0 ** a,
                   (_normal(rng, s),)) for s in UNARY_SHAPES[:3]]
    cases += _unary(rng, "exp", F.exp)
    cases += _unary(rng, "log", F.log, _positive)
    cases += _unary(rng, "log1p", F.log1p, _positive)
    cases += _unary(rng, "sqrt", F.sqrt, _positive)
    cases += _unary(rng, "abs", F.abs, _away)
    cases += _unary(rng, "clip", lambda a: F.clip(a, -0.5, 0.5), _clip_point)
    cases += _unary(rng, "tanh", F.tanh)
    cases += _unary(rng, "sigmoid", F.sigmoid)
    cases += _unary(rng, "relu", F.relu, _away)
    cases += _unary(rng, "softplus", F.softplus)
    cases += [Case("softplus", "(4,) large |x|", F.softplus, (np.array([-40.0, -3, 3, 40]),))]
    cases += _binary(rng, "maximum", F.maximum)
    cases += _binary(rng, "minimum", F.minimum)
    for sa, sb in BINARY_SHAPES[2:6]:
        shape = np.broadcast_shapes(sa, sb)
        cond = rng.random(shape) < 0.5
        cases.append(Case("where", _label(sa, sb), lambda a, b, cond=cond: F.where(cond, a, b),
                          (_normal(rng, sa), _normal(rng, sb))))
    cases += [Case("astype", _label(s) + " -> float64", lambda a: F.astype(a, np.float64),
                   (_normal(rng, s),)) for s in UNARY_SHAPES[:3]]
    cases += _reductions(rng, "sum", F.sum)
    cases += _reductions(rng, "max", F.max)
    cases += _reductions(rng, "min", F.min)
    cases += _reductions(rng, "norm", F.norm)
    cases += _reductions(rng, "logsumexp", F.logsumexp)
    cases += _matmul_cases(rng)
    cases += _movement(rng)
    return cases
