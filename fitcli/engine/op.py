"""The primitive record (:class:`Op`), the engine's error, and :func:`primitive`, which
makes a checked Op. No engine imports: every family module and the Tensor build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["EngineError", "Op", "primitive"]


class EngineError(ValueError):
    """A misuse of the engine: wrong shapes for an op, a bad seed gradient, ..."""


@dataclass(frozen=True)
class Op:
    """One primitive: a name, a forward on raw arrays and one VJP per input.

    ``fwd(*arrays, **params) -> ndarray``. ``vjps[i](g, out, *arrays, **params)``
    returns the gradient for input ``i`` given the output cotangent ``g``
    (it may have the broadcast shape; the sweep sums it back). For variadic ops
    (concatenate, stack) ``vjp_var(i, g, out, *arrays, **params)`` is used
    instead.

    ``jvp(tangents, out, *inputs, **params)`` is the forward-mode rule: given
    the input tangents (Tensors, ``None`` for inputs without one) it returns
    the output's tangent, written with engine functions so that the tangent
    is itself differentiable in reverse mode (reverse-over-forward gives
    Hessian-vector products).

    ``saves=True``: ``fwd`` returns ``(out, saved)``, where ``saved`` is whatever
    the backward needs from the forward (activated gates, say), and every VJP
    receives ``saved`` in place of ``out`` — computed once, never recomputed.
    It is kept on the output node only while a graph is recorded and dropped
    when the node is swept. The JVP still receives the output Tensor.
    """

    name: str
    fwd: Callable[..., np.ndarray]
    vjps: tuple[Callable[..., np.ndarray], ...] = ()
    vjp_var: Callable[..., np.ndarray] | None = None
    jvp: Callable[..., Tensor] | None = None
    linear: bool = False
    saves: bool = False
    doc: str = field(default="", compare=False)

    def vjp(self, i: int) -> Callable[..., np.ndarray]:
        if self.vjp_var is not None:
            return lambda g, out, *xs, **kw: self.vjp_var(i, g, out, *xs, **kw)
        return self.vjps[i]


def primitive(name: str, forward: Callable, vjps: Sequence[Callable] = (), *,
              vjp_var: Callable | None = None, jvp: Callable | None = None,
              linear: bool = False, saves: bool = False, doc: str = "") -> Op:
    """A new primitive ``name``: ``forward(*arrays, **params)``, ``vjps[i]`` per input
    (or ``vjp_var(i, g, out, *arrays, **params)`` for a variadic op) and ``jvp``.

    ``saves=True``: the forward returns ``(out, saved)`` and the VJPs receive ``saved``
    in place of ``out`` (see :class:`Op`). ``linear=True`` marks a linear map; a linear
    map of one input may omit ``jvp`` (its tangent is the map applied to the tangent).
    Misuse fails here, at definition, rather than in the first forward-mode evaluation.
    """
    if not isinstance(name, str) or not name:
        raise EngineError(f"primitive: the name must be a non-empty string, got {name!r}")
    vjps = tuple(vjps)
    if bool(vjps) == (vjp_var is not None):
        raise EngineError(f"primitive {name!r}: give either vjps (one per input) or vjp_var")
    if jvp is None and not (linear and len(vjps) == 1):
        raise EngineError(f"primitive {name!r}: needs a jvp rule "
                          "(only a linear map of one input may omit it)")
    if saves and linear:
        raise EngineError(f"primitive {name!r}: a linear map saves nothing for its backward")
    return Op(name, forward, vjps, vjp_var=vjp_var, jvp=jvp, linear=linear, saves=saves,
              doc=doc)
