"""Elementwise primitives: each table entry (forward on raw arrays, one VJP per input,
the forward-mode rule) beside its public numpy-like function, then the family's
gradient-check cases.

VJP signature: ``vjp(g, out, *inputs, **params)``; a returned gradient may
keep the broadcast shape (the backward sweep sums it back to the input's).
Values chosen at kinks, so that no NaN leaves a function that is
differentiable almost everywhere:

* ``abs'(0) = 0``, ``relu'(0) = 0``;
* ``maximum``/``minimum``: a tie splits the gradient evenly between a and b;
* ``clip``: gradient 1 where ``a_min <= x <= a_max`` (boundaries included);
* ``power``: the exponent's gradient ``out * log(x)`` is taken as 0 where x <= 0.

Every function takes Tensors, numpy arrays or Python numbers in any position
and returns a Tensor.
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from ._common import on, raw, tsum
from .cases import Case
from .op import primitive
from .tensor import Tensor, apply, operand

__all__ = ["abs", "add", "astype", "clip", "divide", "exp", "log", "log1p", "maximum",
           "minimum", "multiply", "negative", "power", "relu", "sigmoid", "softplus", "sqrt",
           "subtract", "tanh", "where"]


def _sigmoid(x):
    # stable for both signs: exp of a non-positive number only
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _tie_split(a, b, g, first_wins):
    """Gradient share of argument a of maximum/minimum; ties give each half."""
    w = first_wins.astype(g.dtype)
    w += 0.5 * (a == b)
    return g * w


def _power_jvp(t, out, a, b):
    # d(a^b) = b a^(b-1) da + a^b log(a) db
    def log_pos(a):
        pos = raw(a) > 0
        return log(where(pos, a, 1.0)) * pos
    return tsum(on(t[0], lambda ta: ta * b * power(a, b - 1)),
                on(t[1], lambda tb: tb * out * log_pos(a)))


def _extreme_jvp(first_wins):
    # maximum/minimum: the tangent of the winner; ties average the two
    def rule(t, out, a, b):
        A, B = raw(a), raw(b)
        wa = (first_wins(A, B) + 0.5 * (A == B)).astype(out.dtype)
        return tsum(on(t[0], lambda ta: ta * wa), on(t[1], lambda tb: tb * (1 - wa)))
    return rule


def _log_pos(x):
    # log(x) where x > 0, else 0 (the exponent's gradient of x**y at x <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1)), 0)


# -- arithmetic ---------------------------------------------------------------------
add_op = primitive("add", np.add, (
    lambda g, out, a, b: g,                                  # d(a+b)/da = 1
    lambda g, out, a, b: g,                                  # d(a+b)/db = 1
), linear=True, jvp=lambda t, out, a, b: tsum(t[0], t[1]))


def add(a, b) -> Tensor:
    return apply(add_op, operand(a), operand(b))


subtract_op = primitive("subtract", np.subtract, (
    lambda g, out, a, b: g,                                  # d(a-b)/da = 1
    lambda g, out, a, b: -g,                                 # d(a-b)/db = -1
), linear=True, jvp=lambda t, out, a, b: tsum(t[0], on(t[1], lambda tb: -tb)))


def subtract(a, b) -> Tensor:
    return apply(subtract_op, operand(a), operand(b))


multiply_op = primitive("multiply", np.multiply, (
    lambda g, out, a, b: g * b,                              # d(ab)/da = b
    lambda g, out, a, b: g * a,                              # d(ab)/db = a
), jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: ta * b), on(t[1], lambda tb: a * tb)))


def multiply(a, b) -> Tensor:
    return apply(multiply_op, operand(a), operand(b))


divide_op = primitive("divide", np.divide, (
    lambda g, out, a, b: g / b,                              # d(a/b)/da = 1/b
    lambda g, out, a, b: -g * out / b,                       # d(a/b)/db = -a/b²
), jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: ta / b),
                                 on(t[1], lambda tb: -tb * out / b)))


def divide(a, b) -> Tensor:
    return apply(divide_op, operand(a), operand(b))


negative_op = primitive("negative", np.negative, (
    lambda g, out, a: -g,                                    # d(-a)/da = -1
), linear=True, jvp=lambda t, out, a: -t[0])


def negative(a) -> Tensor:
    return apply(negative_op, operand(a))


power_op = primitive("power", np.power, (
    lambda g, out, a, b: g * b * np.power(a, b - 1),         # d(a^b)/da = b a^(b-1)
    lambda g, out, a, b: g * out * _log_pos(a),              # d(a^b)/db = a^b log a
), jvp=_power_jvp)


def power(a, b) -> Tensor:
    return apply(power_op, operand(a), operand(b))


# -- elementwise functions ------------------------------------------------------------
exp_op = primitive("exp", np.exp, (
    lambda g, out, a: g * out,                               # exp' = exp
), jvp=lambda t, out, a: t[0] * out)


def exp(a) -> Tensor:
    return apply(exp_op, operand(a))


log_op = primitive("log", np.log, (
    lambda g, out, a: g / a,                                 # log' = 1/a
), jvp=lambda t, out, a: t[0] / a)


def log(a) -> Tensor:
    return apply(log_op, operand(a))


log1p_op = primitive("log1p", np.log1p, (
    lambda g, out, a: g / (1 + a),                           # log1p' = 1/(1+a)
), jvp=lambda t, out, a: t[0] / (1 + a))


def log1p(a) -> Tensor:
    return apply(log1p_op, operand(a))


sqrt_op = primitive("sqrt", np.sqrt, (
    lambda g, out, a: g * 0.5 / out,                         # sqrt' = 1/(2 sqrt a)
), jvp=lambda t, out, a: t[0] * 0.5 / out)


def sqrt(a) -> Tensor:
    return apply(sqrt_op, operand(a))


abs_op = primitive("abs", np.abs, (
    lambda g, out, a: g * np.sign(a),                        # |a|' = sign a (0 at 0)
), jvp=lambda t, out, a: t[0] * np.sign(raw(a)))


def abs(a) -> Tensor:  # noqa: A001  (numpy's name)
    return apply(abs_op, operand(a))


clip_op = primitive("clip", lambda a, a_min=None, a_max=None: np.clip(a, a_min, a_max), (
    # 1 inside [a_min, a_max], 0 outside
    lambda g, out, a, a_min=None, a_max=None: g * (out == a),
), jvp=lambda t, out, a, a_min=None, a_max=None: t[0] * (raw(out) == raw(a)))


def clip(a, a_min=None, a_max=None) -> Tensor:
    return apply(clip_op, operand(a), a_min=a_min, a_max=a_max)


tanh_op = primitive("tanh", np.tanh, (
    lambda g, out, a: g * (1 - out * out),                   # tanh' = 1 - tanh²
), jvp=lambda t, out, a: t[0] * (1 - out * out))


def tanh(a) -> Tensor:
    return apply(tanh_op, operand(a))


sigmoid_op = primitive("sigmoid", _sigmoid, (
    lambda g, out, a: g * out * (1 - out),                   # σ' = σ(1-σ)
), jvp=lambda t, out, a: t[0] * out * (1 - out))


def sigmoid(a) -> Tensor:
    return apply(sigmoid_op, operand(a))


relu_op = primitive("relu", lambda a: np.maximum(a, 0), (
    lambda g, out, a: g * (a > 0),                           # relu' = [a > 0]
), jvp=lambda t, out, a: t[0] * (raw(a) > 0))


def relu(a) -> Tensor:
    return apply(relu_op, operand(a))


softplus_op = primitive("softplus", _softplus, (
    lambda g, out, a: g * -np.expm1(-out),                   # softplus' = σ = 1 - e^-softplus
), jvp=lambda t, out, a: t[0] * sigmoid(a))


def softplus(a) -> Tensor:
    """log(1 + eˣ), computed without overflow."""
    return apply(softplus_op, operand(a))


maximum_op = primitive("maximum", np.maximum, (
    lambda g, out, a, b: _tie_split(a, b, g, a > b),         # [a > b] (+½ on ties)
    lambda g, out, a, b: _tie_split(b, a, g, b > a),         # [b > a] (+½ on ties)
), jvp=_extreme_jvp(np.greater))


def maximum(a, b) -> Tensor:
    return apply(maximum_op, operand(a), operand(b))


minimum_op = primitive("minimum", np.minimum, (
    lambda g, out, a, b: _tie_split(a, b, g, a < b),         # [a < b] (+½ on ties)
    lambda g, out, a, b: _tie_split(b, a, g, b < a),         # [b < a] (+½ on ties)
), jvp=_extreme_jvp(np.less))


def minimum(a, b) -> Tensor:
    return apply(minimum_op, operand(a), operand(b))


where_op = primitive("where", lambda a, b, condition: np.where(condition, a, b), (
    # the condition is a static parameter, never differentiated
    lambda g, out, a, b, condition: np.where(condition, g, 0),
    lambda g, out, a, b, condition: np.where(condition, 0, g),
), linear=True,
   jvp=lambda t, out, a, b, condition: where(condition, 0.0 if t[0] is None else t[0],
                                             0.0 if t[1] is None else t[1]))


def where(condition, a, b) -> Tensor:
    """Elements of a where condition holds, else of b; the condition is not differentiated."""
    return apply(where_op, operand(a), operand(b), condition=np.asarray(condition, dtype=bool))


astype_op = primitive("astype", lambda a, dtype: np.asarray(a).astype(dtype), (
    lambda g, out, a, dtype: g.astype(a.dtype),              # cast back
), linear=True, jvp=lambda t, out, a, dtype: astype(t[0], dtype))


def astype(a, dtype) -> Tensor:
    return apply(astype_op, operand(a), dtype=np.dtype(dtype))


# -- gradient-check cases ----------------------------------------------------------------
def _clip_point(rng, shape):
    x = rng.uniform(-1.0, 1.0, shape)
    return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x * 0.8, x)  # away from the bounds ±0.5


def gradcheck_cases(rng) -> list[Case]:
    """Every shape of the battery (broadcasting pairs for binary ops), points in each domain."""
    n, pos = C.normal, C.positive
    cases: list[Case] = []
    cases += C.binary(rng, "add", add)
    cases += C.binary(rng, "subtract", subtract)
    cases += C.binary(rng, "multiply", multiply)
    cases += C.binary(rng, "divide", divide, db=C.away)
    cases += C.unary(rng, "negative", negative)
    cases += C.binary(rng, "power", power, da=pos)
    few = C.UNARY_SHAPES[:3]
    cases += [Case("power", C.label(s) + " ** 2.5 (constant)", lambda a: power(a, 2.5),
                   (pos(rng, s),)) for s in few]
    cases += [Case("power", C.label(s) + " ** 3 (constant)", lambda a: a ** 3,
                   (n(rng, s),)) for s in few]
    cases += [Case("power", C.label(s) + " 2 ** x (constant base)", lambda a: 2.0 ** a,
                   (n(rng, s),)) for s in few]
    cases += C.unary(rng, "exp", exp)
    cases += C.unary(rng, "log", log, pos)
    cases += C.unary(rng, "log1p", log1p, pos)
    cases += C.unary(rng, "sqrt", sqrt, pos)
    cases += C.unary(rng, "abs", abs, C.away)
    cases += C.unary(rng, "clip", lambda a: clip(a, -0.5, 0.5), _clip_point)
    cases += C.unary(rng, "tanh", tanh)
    cases += C.unary(rng, "sigmoid", sigmoid)
    cases += C.unary(rng, "relu", relu, C.away)
    cases += C.unary(rng, "softplus", softplus)
    cases += [Case("softplus", "(4,) large |x|", softplus, (np.array([-40.0, -3, 3, 40]),))]
    cases += C.binary(rng, "maximum", maximum)
    cases += C.binary(rng, "minimum", minimum)
    for sa, sb in C.BINARY_SHAPES[2:6]:
        cond = rng.random(np.broadcast_shapes(sa, sb)) < 0.5
        cases.append(Case("where", C.label(sa, sb), lambda a, b, cond=cond: where(cond, a, b),
                          (n(rng, sa), n(rng, sb))))
    cases += [Case("astype", C.label(s) + " -> float64", lambda a: astype(a, np.float64),
                   (n(rng, s),)) for s in few]
    return cases + _tie_cases(rng)


def _two_way_ties(rng, shape):
    """a and b equal in about half the elements (and nowhere within FD reach otherwise)."""
    a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    return a, np.where(rng.random(shape) < 0.5, a, a + rng.choice([-0.5, 0.5], shape))


def _tie_cases(rng) -> list[Case]:
    """maximum/minimum at ties (README "Values at kinks": a tie splits the gradient evenly;
    central differences across a two-way tie see the same ½), also against a broadcast 0
    as relu-like code uses them."""
    at_zero = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])
    cases = []
    for name, fn in (("maximum", maximum), ("minimum", minimum)):
        cases.append(Case(name, "(4, 5) (4, 5) ties", fn, _two_way_ties(rng, (4, 5)), kink=True))
        cases.append(Case(name, "(2, 3) () ties with 0", fn, (at_zero, np.zeros(())), kink=True))
    return cases
