"""fitcli's reverse-mode automatic differentiation engine on numpy.

Import it as ``fe``::

    import fitcli.engine as fe
    f = lambda x: fe.sum(fe.log1p(fe.exp(A @ x)))
    value, g = fe.value_and_grad(f)(x0)

The numpy-like functions come from the primitive families (``ops_elementwise``,
``ops_math``, ``ops_reduce``, ``ops_shape``, ``ops_array``, ``ops_linalg``), where each
primitive's table entry sits beside its public function; compositions (``ops_array``,
``log2``, ``std``, ``tensordot``, ...) need no derivative code. numpy's own functions
called on a Tensor (``np.sum(t)``) run the engine function of the same name. ``OPS`` is
the engine's own primitive table (name → :class:`Op`), the same whatever else was
imported; primitives defined outside the engine (imaging operators, warps, field
regularizers, recurrent cells) are made with :mod:`fitcli.engine.extend` and gathered
by ``fitcli.battery``.
"""

from . import extend, ops_array, ops_elementwise, ops_linalg, ops_math, ops_reduce, ops_shape
from .extend import op_table, primitives_of
from .functional import grad, hvp, jacfwd, jacrev, jvp, value_and_grad
from .ops_array import *  # noqa: F403
from .ops_elementwise import *  # noqa: F403  (each family's __all__: its public functions)
from .ops_linalg import *  # noqa: F403
from .ops_math import *  # noqa: F403
from .ops_reduce import *  # noqa: F403
from .ops_shape import *  # noqa: F403
from .tensor import (
    EngineError,
    Op,
    Tensor,
    apply,
    backward,
    forward_mode,
    no_grad,
    tensor,
    unbroadcast,
)

_FAMILIES = (ops_elementwise, ops_math, ops_reduce, ops_linalg, ops_shape, ops_array)

OPS: dict[str, Op] = op_table(op for family in _FAMILIES for op in primitives_of(family))


def gradcheck_cases(rng) -> list[extend.Case]:
    """The gradient-check cases of every engine primitive, points drawn from ``rng``."""
    return [case for family in _FAMILIES for case in family.gradcheck_cases(rng)]


__all__ = [
    "OPS", "EngineError", "Op", "Tensor", "apply", "backward", "extend", "forward_mode", "grad",
    "gradcheck_cases", "hvp", "jacfwd", "jacrev", "jvp", "no_grad", "tensor", "unbroadcast",
    "value_and_grad",
    *(name for family in _FAMILIES for name in family.__all__),
]
