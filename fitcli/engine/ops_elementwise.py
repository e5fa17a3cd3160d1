"""Elementwise primitives: forward on raw arrays beside one VJP per input.

VJP signature: ``vjp(g, out, *inputs, **params)``; a returned gradient may
keep the broadcast shape (the backward sweep sums it back to the input's).
Each op also carries its forward-mode rule ``jvp`` (see tensor.Op).
Values chosen at kinks, so that no NaN leaves a function that is
differentiable almost everywhere:

* ``abs'(0) = 0``, ``relu'(0) = 0``;
* ``maximum``/``minimum``: a tie splits the gradient evenly between a and b;
* ``clip``: gradient 1 where ``a_min <= x <= a_max`` (boundaries included);
* ``power``: the exponent's gradient ``out * log(x)`` is taken as 0 where x <= 0.
"""

from __future__ import annotations

import numpy as np

from ._jvp import on, raw, tsum
from .tensor import Op


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
        return F.log(F.where(pos, a, 1.0)) * pos
    return tsum(on(t[0], lambda ta: ta * b * F.power(a, b - 1)),
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


add = Op("add", np.add, (
    lambda g, out, a, b: g,                                  # d(a+b)/da = 1
    lambda g, out, a, b: g,                                  # d(a+b)/db = 1
), linear=True,
   jvp=lambda t, out, a, b: tsum(t[0], t[1]))
subtract = Op("subtract", np.subtract, (
    lambda g, out, a, b: g,                                  # d(a-b)/da = 1
    lambda g, out, a, b: -g,                                 # d(a-b)/db = -1
), linear=True,
   jvp=lambda t, out, a, b: tsum(t[0], on(t[1], lambda tb: -tb)))
multiply = Op("multiply", np.multiply, (
    lambda g, out, a, b: g * b,                              # d(ab)/da = b
    lambda g, out, a, b: g * a,                              # d(ab)/db = a
),
   jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: ta * b), on(t[1], lambda tb: a * tb)))
divide = Op("divide", np.divide, (
    lambda g, out, a, b: g / b,                              # d(a/b)/da = 1/b
    lambda g, out, a, b: -g * out / b,                       # d(a/b)/db = -a/b²
),
   jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: ta / b),
                                 on(t[1], lambda tb: -tb * out / b)))
negative = Op("negative", np.negative, (
    lambda g, out, a: -g,                                    # d(-a)/da = -1
), linear=True,
   jvp=lambda t, out, a: -t[0])
power = Op("power", np.power, (
    lambda g, out, a, b: g * b * np.power(a, b - 1),         # d(a^b)/da = b a^(b-1)
    lambda g, out, a, b: g * out * _log_pos(a),              # d(a^b)/db = a^b log a
),
   jvp=_power_jvp)
exp = Op("exp", np.exp, (
    lambda g, out, a: g * out,                               # exp' = exp
),
   jvp=lambda t, out, a: t[0] * out)
log = Op("log", np.log, (
    lambda g, out, a: g / a,                                 # log' = 1/a
),
   jvp=lambda t, out, a: t[0] / a)
log1p = Op("log1p", np.log1p, (
    lambda g, out, a: g / (1 + a),                           # log1p' = 1/(1+a)
),
   jvp=lambda t, out, a: t[0] / (1 + a))
sqrt = Op("sqrt", np.sqrt, (
    lambda g, out, a: g * 0.5 / out,                         # sqrt' = 1/(2 sqrt a)
),
   jvp=lambda t, out, a: t[0] * 0.5 / out)
abs_ = Op("abs", np.abs, (
    lambda g, out, a: g * np.sign(a),                        # |a|' = sign a (0 at 0)
),
   jvp=lambda t, out, a: t[0] * np.sign(raw(a)))
clip = Op("clip", lambda a, a_min=None, a_max=None: np.clip(a, a_min, a_max), (
    # 1 inside [a_min, a_max], 0 outside
    lambda g, out, a, a_min=None, a_max=None: g * (out == a),
),
   jvp=lambda t, out, a, a_min=None, a_max=None: t[0] * (raw(out) == raw(a)))
tanh = Op("tanh", np.tanh, (
    lambda g, out, a: g * (1 - out * out),                   # tanh' = 1 - tanh²
),
   jvp=lambda t, out, a: t[0] * (1 - out * out))
sigmoid = Op("sigmoid", _sigmoid, (
    lambda g, out, a: g * out * (1 - out),                   # σ' = σ(1-σ)
),
   jvp=lambda t, out, a: t[0] * out * (1 - out))
relu = Op("relu", lambda a: np.maximum(a, 0), (
    lambda g, out, a: g * (a > 0),                           # relu' = [a > 0]
),
   jvp=lambda t, out, a: t[0] * (raw(a) > 0))
softplus = Op("softplus", _softplus, (
    lambda g, out, a: g * -np.expm1(-out),                   # softplus' = σ = 1 - e^-softplus
),
   jvp=lambda t, out, a: t[0] * F.sigmoid(a))
maximum = Op("maximum", np.maximum, (
    lambda g, out, a, b: _tie_split(a, b, g, a > b),         # [a > b] (+½ on ties)
    lambda g, out, a, b: _tie_split(b, a, g, b > a),         # [b > a] (+½ on ties)
),
   jvp=_extreme_jvp(np.greater))
minimum = Op("minimum", np.minimum, (
    lambda g, out, a, b: _tie_split(a, b, g, a < b),         # [a < b] (+½ on ties)
    lambda g, out, a, b: _tie_split(b, a, g, b < a),         # [b < a] (+½ on ties)
),
   jvp=_extreme_jvp(np.less))
where = Op("where", lambda a, b, condition: np.where(condition, a, b), (
    # the condition is a static parameter, never differentiated
    lambda g, out, a, b, condition: np.where(condition, g, 0),
    lambda g, out, a, b, condition: np.where(condition, 0, g),
), linear=True,
   jvp=lambda t, out, a, b, condition: F.where(condition, 0.0 if t[0] is None else t[0],
                                               0.0 if t[1] is None else t[1]))
astype = Op("astype", lambda a, dtype: np.asarray(a).astype(dtype), (
    lambda g, out, a, dtype: g.astype(a.dtype),              # cast back
), linear=True,
   jvp=lambda t, out, a, dtype: F.astype(t[0], dtype))

OPS = [add, subtract, multiply, divide, negative, power, exp, log, log1p, sqrt, abs_, clip,
       tanh, sigmoid, relu, softplus, maximum, minimum, where, astype]

from . import functions as F  # noqa: E402  (rules call engine functions at run time)
