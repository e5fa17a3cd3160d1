"""numpy's other elementwise functions: trigonometric and hyperbolic functions and their
inverses, expm1, sign, logaddexp, hypot and mod as primitives (each table entry beside
its public function); log2, log10, square, reciprocal, exp2, cbrt as compositions of
existing primitives (no derivative code of their own); the family's gradient-check cases.

Values at kinks: ``sign'(x) = 0`` everywhere (also at 0); ``hypot`` has gradient 0 at
(0, 0); ``mod(a, b)`` has d/da = 1 and d/db = -floor(a / b) (the jumps where a / b is
an integer are not differentiated).
"""

from __future__ import annotations

import numpy as np

from . import cases as C
from . import ops_elementwise as E
from ._common import on, raw, tsum
from .cases import Case
from .op import primitive
from .tensor import Tensor, apply, operand

__all__ = ["absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
           "cbrt", "cos", "cosh", "deg2rad", "degrees", "exp2", "expm1", "fabs", "fmod", "hypot",
           "log10", "log2", "logaddexp", "logaddexp2", "mod", "rad2deg", "radians", "reciprocal",
           "remainder", "sign", "sin", "sinh", "square", "tan", "true_divide"]


def _unary(name, fwd, deriv):
    """A smooth unary primitive from its forward and its derivative written once
    (``deriv(a, out, lib)`` with lib numpy for the VJP and the engine for the JVP)."""
    return primitive(name, fwd, (lambda g, out, a: g * deriv(a, out, _NP),),
                     jvp=lambda t, out, a: t[0] * deriv(a, out, _FE))


class _NP:  # the derivative formulas on raw arrays
    sqrt, cos, sin, cosh, sinh = np.sqrt, np.cos, np.sin, np.cosh, np.sinh


class _FE:  # ... and on Tensors (differentiable again: hvp)
    sqrt = staticmethod(E.sqrt)
    cos = staticmethod(lambda a: cos(a))
    sin = staticmethod(lambda a: sin(a))
    cosh = staticmethod(lambda a: cosh(a))
    sinh = staticmethod(lambda a: sinh(a))


sin_op = _unary("sin", np.sin, lambda a, out, m: m.cos(a))             # sin' = cos


def sin(x) -> Tensor:
    return apply(sin_op, operand(x))


cos_op = _unary("cos", np.cos, lambda a, out, m: -m.sin(a))            # cos' = -sin


def cos(x) -> Tensor:
    return apply(cos_op, operand(x))


tan_op = _unary("tan", np.tan, lambda a, out, m: 1 + out * out)        # tan' = 1 + tan²


def tan(x) -> Tensor:
    return apply(tan_op, operand(x))


arcsin_op = _unary("arcsin", np.arcsin, lambda a, out, m: 1 / m.sqrt(1 - a * a))


def arcsin(x) -> Tensor:
    return apply(arcsin_op, operand(x))


arccos_op = _unary("arccos", np.arccos, lambda a, out, m: -1 / m.sqrt(1 - a * a))


def arccos(x) -> Tensor:
    return apply(arccos_op, operand(x))


arctan_op = _unary("arctan", np.arctan, lambda a, out, m: 1 / (1 + a * a))


def arctan(x) -> Tensor:
    return apply(arctan_op, operand(x))


sinh_op = _unary("sinh", np.sinh, lambda a, out, m: m.cosh(a))         # sinh' = cosh


def sinh(x) -> Tensor:
    return apply(sinh_op, operand(x))


cosh_op = _unary("cosh", np.cosh, lambda a, out, m: m.sinh(a))         # cosh' = sinh


def cosh(x) -> Tensor:
    return apply(cosh_op, operand(x))


arcsinh_op = _unary("arcsinh", np.arcsinh, lambda a, out, m: 1 / m.sqrt(a * a + 1))


def arcsinh(x) -> Tensor:
    return apply(arcsinh_op, operand(x))


arccosh_op = _unary("arccosh", np.arccosh, lambda a, out, m: 1 / m.sqrt(a * a - 1))


def arccosh(x) -> Tensor:
    return apply(arccosh_op, operand(x))


arctanh_op = _unary("arctanh", np.arctanh, lambda a, out, m: 1 / (1 - a * a))


def arctanh(x) -> Tensor:
    return apply(arctanh_op, operand(x))


expm1_op = _unary("expm1", np.expm1, lambda a, out, m: out + 1)        # expm1' = e^a


def expm1(x) -> Tensor:
    """e^x - 1, accurate for small x."""
    return apply(expm1_op, operand(x))


sign_op = primitive("sign", np.sign, (lambda g, out, a: np.zeros_like(g),),   # piecewise const
                    jvp=lambda t, out, a: t[0] * 0.0)


def sign(x) -> Tensor:
    return apply(sign_op, operand(x))


def _logaddexp_vjp(first):
    # d/da log(e^a + e^b) = e^(a - out): the weight of a, never overflowing
    return lambda g, out, a, b: g * np.exp((a if first else b) - out)


logaddexp_op = primitive("logaddexp", np.logaddexp, (_logaddexp_vjp(True), _logaddexp_vjp(False)),
                         jvp=lambda t, out, a, b: tsum(on(t[0], lambda ta: ta * E.exp(a - out)),
                                                       on(t[1], lambda tb: tb * E.exp(b - out))))


def logaddexp(a, b) -> Tensor:
    """log(e^a + e^b) without overflow."""
    return apply(logaddexp_op, operand(a), operand(b))


def _safe_ratio(x, out):
    # x / hypot, 0 at the origin (the gradient chosen at the cone's tip)
    return np.where(out > 0, x / np.where(out > 0, out, 1), 0)


def _hypot_jvp(t, out, a, b):
    pos = raw(out) > 0
    den = E.where(pos, out, 1.0)
    return tsum(on(t[0], lambda ta: ta * a / den * pos), on(t[1], lambda tb: tb * b / den * pos))


hypot_op = primitive("hypot", np.hypot, (lambda g, out, a, b: g * _safe_ratio(a, out),
                                         lambda g, out, a, b: g * _safe_ratio(b, out)),
                     jvp=_hypot_jvp)


def hypot(a, b) -> Tensor:
    """sqrt(a² + b²) without overflow; gradient 0 at (0, 0)."""
    return apply(hypot_op, operand(a), operand(b))


def _floor_div(a, b):
    return np.floor_divide(raw(a), raw(b))


mod_op = primitive("mod", np.mod, (
    lambda g, out, a, b: g,                                  # d(a mod b)/da = 1
    lambda g, out, a, b: -g * np.floor_divide(a, b),         # d/db = -floor(a / b)
), jvp=lambda t, out, a, b: tsum(t[0], on(t[1], lambda tb: -tb * _floor_div(a, b))))


def mod(a, b) -> Tensor:
    """numpy's ``mod`` (``%``): the result has the sign of b."""
    return apply(mod_op, operand(a), operand(b))


remainder = mod


def fmod(a, b) -> Tensor:
    """C's fmod: the result has the sign of a (a - b·trunc(a / b))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.trunc(raw(a) / raw(b))                   # piecewise constant
    return E.subtract(a, E.multiply(b, q))


def _float_dtype(*arrays):
    return np.result_type(*arrays, np.float32)


def arctan2(y, x) -> Tensor:
    """The angle of (x, y): composed from arctan, with the quadrant as a constant."""
    Y, X = raw(y), raw(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        # arctan(y/x) near the x-axis, π/2 - arctan(x/y) near the y-axis: no division by 0
        use_x = np.abs(X) >= np.abs(Y)
        base = E.where(use_x, arctan(y / E.where(use_x, x, 1.0)),
                       (np.sign(Y) * np.pi / 2).astype(_float_dtype(X, Y))
                       - arctan(x / E.where(use_x, 1.0, y)))
    shift = np.where(use_x & (X < 0), np.where(Y >= 0, np.pi, -np.pi), 0.0)
    return base + shift.astype(base.dtype)          # float32 stays float32


# -- compositions (no derivative code) --------------------------------------------------
def log2(x) -> Tensor:
    return E.log(x) * (1 / np.log(2))


def log10(x) -> Tensor:
    return E.log(x) * (1 / np.log(10))


def exp2(x) -> Tensor:
    return E.exp(E.multiply(x, np.log(2)))


def square(x) -> Tensor:
    x = operand(x)
    return E.multiply(x, x)


def reciprocal(x) -> Tensor:
    return E.divide(1.0, x)


def cbrt(x) -> Tensor:
    return sign(x) * E.power(E.abs(x), 1 / 3)


def deg2rad(x) -> Tensor:
    return E.multiply(x, np.pi / 180)


def rad2deg(x) -> Tensor:
    return E.multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg
absolute = fabs = E.abs
true_divide = E.divide


def logaddexp2(a, b) -> Tensor:
    """log₂(2^a + 2^b), through logaddexp in natural units."""
    ln2 = np.log(2)
    return logaddexp(E.multiply(a, ln2), E.multiply(b, ln2)) * (1 / ln2)


# -- gradient-check cases ----------------------------------------------------------------
def _inside(rng, shape):
    return rng.uniform(-0.8, 0.8, shape)        # arcsin, arccos, arctanh: |x| < 1


def _above_one(rng, shape):
    return rng.uniform(1.2, 3.0, shape)         # arccosh: x > 1


def _mod_point(rng, shape):
    # a / b away from integers, so the jumps of mod are out of FD reach
    return rng.integers(-3, 4, shape) * 1.5 + rng.uniform(0.2, 1.3, shape)


def gradcheck_cases(rng) -> list[Case]:
    """Each function on every unary shape (points inside its domain); binary ones broadcast."""
    cases: list[Case] = []
    for name, fn, dom in [("sin", sin, C.normal), ("cos", cos, C.normal),
                          ("tan", tan, _inside), ("arcsin", arcsin, _inside),
                          ("arccos", arccos, _inside), ("arctan", arctan, C.normal),
                          ("sinh", sinh, C.normal), ("cosh", cosh, C.normal),
                          ("arcsinh", arcsinh, C.normal), ("arccosh", arccosh, _above_one),
                          ("arctanh", arctanh, _inside), ("expm1", expm1, C.normal),
                          ("sign", sign, C.away)]:
        cases += C.unary(rng, name, fn, dom)
    cases += C.binary(rng, "logaddexp", logaddexp)
    cases += [Case("logaddexp", "(3,) large", logaddexp,
                   (np.array([800.0, -800.0, 1.0]), np.array([799.0, -801.0, 1.0])))]
    cases += C.binary(rng, "hypot", hypot, C.away, C.away)
    cases += C.binary(rng, "mod", mod, _mod_point, lambda r, s: r.choice([-1.5, 1.5], s))
    pos = C.positive
    cases += [C.composite(name, C.label(s), fn, (dom(rng, s),)) for name, fn, dom in [
        ("log2", log2, pos), ("log10", log10, pos), ("exp2", exp2, C.normal),
        ("square", square, C.normal), ("reciprocal", reciprocal, C.away),
        ("cbrt", cbrt, C.away)] for s in ((), (3, 4))]
    cases += [C.composite("logaddexp2", "(3, 4) (4,)", logaddexp2,
                          (C.normal(rng, (3, 4)), C.normal(rng, (4,))))]
    cases += [C.composite("fmod", "(3, 4) (4,)", fmod, (_mod_point(rng, (3, 4)),
                                                        rng.choice([-1.5, 1.5], (4,))))]
    cases += [C.composite("arctan2", C.label(s, s), arctan2, (C.away(rng, s), C.away(rng, s)))
              for s in ((6,), (3, 4))]
    return cases
