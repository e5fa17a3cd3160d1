"""fitcli's reverse-mode automatic differentiation engine on numpy.

Import it as ``fe``::

    import fitcli.engine as fe
    f = lambda x: fe.sum(fe.log1p(fe.exp(A @ x)))
    value, g = fe.value_and_grad(f)(x0)

``OPS`` is the primitive table (name → :class:`Op`): every primitive's forward
and VJPs, the source of truth for gradcheck and the tests.
"""

from . import ops_elementwise, ops_linalg, ops_reduce, ops_shape
from .functional import grad, hvp, jacfwd, jacrev, jvp, value_and_grad
from .functions import (
    abs,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    divide,
    dot,
    exp,
    getitem,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    norm,
    pad,
    permute,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    stack,
    subtract,
    sum,
    swapaxes,
    tanh,
    transpose,
    var,
    where,
)
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

OPS: dict[str, Op] = {
    op.name: op
    for module in (ops_elementwise, ops_reduce, ops_shape, ops_linalg)
    for op in module.OPS
}


def register(op: Op) -> Op:
    """Add a primitive defined elsewhere (e.g. an imaging operator) to the table."""
    if op.name in OPS and OPS[op.name] is not op:
        raise EngineError(f"register: an op named {op.name!r} already exists")
    OPS[op.name] = op
    return op


__all__ = [
    "OPS", "EngineError", "Op", "Tensor", "apply", "backward", "forward_mode", "grad", "hvp",
    "jacfwd", "jacrev", "jvp", "no_grad", "register",
    "tensor", "unbroadcast", "value_and_grad",
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "divide", "dot", "exp",
    "getitem", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean",
    "min", "minimum", "multiply", "negative", "norm", "pad", "permute", "power", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "subtract", "sum", "swapaxes",
    "tanh", "transpose", "var", "where",
]
