"""The Tensor, ``apply`` (one primitive, see :mod:`.op`), and the iterative backward sweep.

A ``Tensor`` wraps a numpy array. Applying a primitive (an :class:`Op`) to
tensors records the op, its parents and its static keyword parameters on the
result; ``backward`` walks that DAG once from the output in reverse
topological order, calling each op's VJP for every parent that needs a
gradient, and accumulating contributions with ``+``. Broadcasting is undone in
exactly one place (:func:`unbroadcast`, called by the sweep), so elementwise
VJPs may return gradients of the broadcast shape.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import math
from collections.abc import Sequence

import numpy as np

from .op import EngineError, Op

__all__ = [
    "EngineError",
    "forward_mode",
    "Op",
    "Tensor",
    "apply",
    "as_array",
    "backward",
    "no_grad",
    "operand",
    "shape_of",
    "tensor",
    "unbroadcast",
]

_GRAD_ENABLED = contextvars.ContextVar("fitcli_grad_enabled", default=True)
# Creation order: a node is always made after its parents, so sweeping nodes by
# decreasing sequence number is a reverse topological order (no separate sort pass).
_SEQ = itertools.count()
_NO_PARAMS: dict = {}  # shared, never mutated
# Forward mode: while set, ``apply`` also propagates the inputs' tangents.
_FORWARD = contextvars.ContextVar("fitcli_forward_mode", default=False)


def _is_float(dtype: np.dtype) -> bool:
    return dtype.kind in "fc"


def as_array(x, dtype=None) -> np.ndarray:
    """The raw array of a Tensor, array-like or number."""
    if isinstance(x, Tensor):
        return x.data
    return np.asarray(x, dtype=dtype)


def operand(x):
    """Operand as given to an op: Tensors as is, numpy scalars as Python numbers.

    Python numbers are "weak" in numpy's promotion rules, so a float32 tensor
    times 0.5 stays float32 (no silent upcast).
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (int, float, bool)):
        return x
    return np.asarray(x)


def shape_of(x) -> tuple:
    """The shape of a Tensor, array or number."""
    return np.shape(x.data if isinstance(x, Tensor) else x)


class Tensor:
    """An n-d array that records the primitives applied to it.

    Parameters
    ----------
    data : array_like
        Values; integer and boolean input becomes float64, float32 stays float32.
    requires_grad : bool
        Whether ``backward`` should compute a gradient for this tensor.
    """

    __slots__ = ("data", "grad", "requires_grad", "tangent", "_parents", "_op", "_params",
                 "_seq", "_saved", "__weakref__")
    # numpy's operators and ufuncs on a Tensor (``X @ W`` with X an ndarray, ``np.sin(t)``)
    # run the engine function of the same name (fitcli.engine._numpy_api)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._numpy_api import dispatch_ufunc
        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        # np.sum(t), np.stack([t, u]), ...: the engine function of the same name
        from ._numpy_api import dispatch
        return dispatch(func, args, kwargs)

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and not _is_float(arr.dtype):
            arr = arr.astype(np.float64)
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.tangent: Tensor | None = None  # forward mode: d(self) along the input tangents
        self.requires_grad = bool(requires_grad)
        self._parents: tuple = ()
        self._op: Op | None = None
        self._params: dict = _NO_PARAMS
        self._seq = next(_SEQ)

    # -- array-like attributes -------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    op = property(lambda self: self._op.name if self._op is not None else None)
    parents = property(lambda self: self._parents)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        tag = f", op={self._op.name}" if self._op is not None else ""
        req = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{req}{tag})"

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __float__(self) -> float:
        return float(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def detach(self) -> Tensor:
        return Tensor(self.data)

    def backward(self, seed=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf needing it."""
        backward(self, seed, retain_graph=retain_graph)

    # -- operators: written out, each delegates to its family's public function ------------
    def __add__(self, o):
        return _E.add(self, o)

    def __radd__(self, o):
        return _E.add(o, self)

    def __sub__(self, o):
        return _E.subtract(self, o)

    def __rsub__(self, o):
        return _E.subtract(o, self)

    def __mul__(self, o):
        return _E.multiply(self, o)

    def __rmul__(self, o):
        return _E.multiply(o, self)

    def __truediv__(self, o):
        return _E.divide(self, o)

    def __rtruediv__(self, o):
        return _E.divide(o, self)

    def __pow__(self, o):
        return _E.power(self, o)

    def __rpow__(self, o):
        return _E.power(o, self)

    def __matmul__(self, o):
        return _L.matmul(self, o)

    def __rmatmul__(self, o):
        return _L.matmul(o, self)

    def __mod__(self, o):
        return _M.mod(self, o)

    def __rmod__(self, o):
        return _M.mod(o, self)

    def __neg__(self):
        return _E.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _E.abs(self)

    def __getitem__(self, index):
        return _S.getitem(self, index)

    # comparisons are not differentiable: plain boolean arrays
    def __lt__(self, o):
        return self.data < as_array(o)

    def __le__(self, o):
        return self.data <= as_array(o)

    def __gt__(self, o):
        return self.data > as_array(o)

    def __ge__(self, o):
        return self.data >= as_array(o)

    def __eq__(self, o):  # type: ignore[override]
        return self.data == as_array(o)

    def __ne__(self, o):  # type: ignore[override]
        return self.data != as_array(o)

    __hash__ = object.__hash__

    # -- methods, numpy-like ------------------------------------------------------
    @property
    def T(self) -> Tensor:
        return _S.transpose(self)

    def sum(self, axis=None, keepdims=False):
        return _R.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _R.mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _R.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def max(self, axis=None, keepdims=False):
        return _R.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _R.min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _S.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _S.transpose(self, axes or None)

    def astype(self, dtype):
        return _E.astype(self, dtype)

    def exp(self):
        return _E.exp(self)

    def log(self):
        return _E.log(self)

    def sqrt(self):
        return _E.sqrt(self)

    def tanh(self):
        return _E.tanh(self)

    def sigmoid(self):
        return _E.sigmoid(self)

    def relu(self):
        return _E.relu(self)

    def abs(self):
        return _E.abs(self)

    def clip(self, a_min=None, a_max=None):
        return _E.clip(self, a_min, a_max)

    def norm(self, axis=None, keepdims=False):
        return _R.norm(self, axis=axis, keepdims=keepdims)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor (float64 unless the data is already floating or dtype says)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def grad_enabled() -> bool:
    """True unless inside :func:`no_grad` (operators may skip work only a VJP needs)."""
    return _GRAD_ENABLED.get()


@contextlib.contextmanager
def no_grad():
    """Within this block, ops record nothing: forward evaluation only."""
    token = _GRAD_ENABLED.set(False)
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


def _shapes(arrays: Sequence) -> str:
    return ", ".join(f"argument {i} {np.shape(a)}" for i, a in enumerate(arrays))


def _raw(inputs: tuple) -> tuple:
    """The raw arrays of an op's inputs; one and two inputs unrolled (a comprehension's
    frame is a measurable part of a small op's cost)."""
    n = len(inputs)
    if n == 1:
        a = inputs[0]
        return (a.data if isinstance(a, Tensor) else a,)
    if n == 2:
        a, b = inputs
        return (a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b)
    return tuple([x.data if isinstance(x, Tensor) else x for x in inputs])


def apply(op: Op, *inputs, **params) -> Tensor:
    """Run ``op`` forward on the raw arrays and record it when a gradient is needed."""
    arrays = _raw(inputs)
    try:
        out = op.fwd(*arrays, **params)
    except (ValueError, IndexError, TypeError) as exc:
        raise EngineError(f"{op.name}: {exc} ({_shapes(arrays)})") from None
    if op.saves:  # (out, what the VJPs need); set only on recorded nodes, read only there
        out, saved = out
    result = Tensor.__new__(Tensor)
    result.data = out if isinstance(out, np.ndarray) else np.asarray(out)
    result.grad = None
    result._op = None
    result._parents = ()
    result._params = _NO_PARAMS
    result.requires_grad = False
    result._seq = next(_SEQ)
    if _GRAD_ENABLED.get():
        for x in inputs:
            if isinstance(x, Tensor) and x.requires_grad:
                result.requires_grad = True
                result._op = op
                result._parents = inputs
                result._params = params
                if op.saves:
                    result._saved = saved
                break
    result.tangent = None
    if _FORWARD.get():
        _push_tangent(op, result, inputs, params)
    return result


@contextlib.contextmanager
def forward_mode(enabled: bool = True):
    """Within this block, ops propagate tangents (``Tensor.tangent``) with the values."""
    token = _FORWARD.set(enabled)
    try:
        yield
    finally:
        _FORWARD.reset(token)


def _push_tangent(op: Op, result: Tensor, inputs: tuple, params: dict) -> None:
    tangents = [x.tangent if isinstance(x, Tensor) else None for x in inputs]
    if all(t is None for t in tangents):
        return
    if op.jvp is None and not (op.linear and len(inputs) == 1):
        raise EngineError(f"{op.name}: this primitive has no forward-mode (JVP) rule")
    with forward_mode(False):  # the rule's own ops carry no tangents
        if op.jvp is None:  # a linear map of one input: its tangent is the map of the tangent
            t = apply(op, tangents[0], **params)
        else:
            t = op.jvp(tangents, result, *inputs, **params)
        if t.shape != result.shape:
            t = _S.broadcast_to(t, result.shape)
    result.tangent = t


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Bring a cotangent to ``shape``: sum the axes broadcasting added or stretched,
    and broadcast (a view) the axes a reduction's VJP left at size 1."""
    if g.shape == shape:
        return g
    if g.size == 1:   # a full reduction's cotangent (sum, mean): one value spread out
        size = math.prod(shape)
        if size == 1:
            return g.reshape(shape)
        if size > 4096:
            return np.broadcast_to(g.reshape(()), shape)
        out = np.empty(shape, g.dtype)
        out[...] = g.reshape(())
        return out
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and i < g.ndim and g.shape[i] != 1)
    if axes and g.ndim == len(shape):
        g = g.sum(axis=axes, keepdims=True)
    if g.shape == shape:
        return g
    if math.prod(shape) > 4096:   # math.prod: np.prod of a tuple costs ~3 µs
        return np.broadcast_to(g, shape)  # a view: free for large arrays
    out = np.empty(shape, g.dtype)  # small: a filled array is cheaper than the view's setup
    out[...] = g
    return out


_SEEDS: dict = {}


def _ones_seed(shape: tuple, dtype) -> np.ndarray:
    """A read-only one per (shape, dtype) of a scalar output (VJPs never write to their
    cotangent, and a leaf copies a read-only gradient before keeping it): one allocation
    less per backward call."""
    seed = _SEEDS.get((shape, dtype))
    if seed is None:
        seed = _SEEDS[(shape, dtype)] = np.ones(shape, dtype)
        seed.flags.writeable = False
    return seed


def backward(root: Tensor, seed=None, retain_graph: bool = False) -> None:
    """Reverse sweep from ``root``: leaves that require grad get ``.grad`` accumulated.

    The cotangent of each node is dropped as soon as its VJPs have run, and
    (unless ``retain_graph``) the node forgets its parents, so a long graph
    is released while it is swept.
    """
    if not root.requires_grad:
        raise EngineError("backward: the output does not depend on any tensor that requires grad")
    if seed is None:
        if root.data.size != 1:
            raise EngineError(
                f"backward: output of shape {root.shape} is not a scalar; "
                f"pass a seed gradient of shape {root.shape}"
            )
        seed = _ones_seed(root.data.shape, root.data.dtype)
    else:
        seed = np.asarray(seed, dtype=root.dtype)
        if seed.shape != root.shape:
            raise EngineError(f"backward: seed has shape {seed.shape}, output has {root.shape}")
    grads: dict[int, np.ndarray] = {id(root): seed}
    owned: set[int] = set()  # gradients we allocated and may add to in place
    # Max-heap on creation order: a node is popped only after every node made from it.
    # When a node leaves exactly one new pending node and nothing else is pending (a chain,
    # the common case at small sizes), that node goes next without the heap's push and pop:
    # the heap would hold it alone.
    heap: list[tuple[int, Tensor]] = []
    # locals: this loop runs per node, and at small sizes its lookups are the cost
    heappop, heappush, ndarray, tensor_t = heapq.heappop, heapq.heappush, np.ndarray, Tensor
    node = root
    while node is not None:
        g = grads.pop(id(node))
        op = node._op
        nxt = None
        if op is None:  # a leaf
            if not g.flags.writeable:  # a broadcast view: give the leaf its own array
                g = np.array(g)
            node.grad = g if node.grad is None else node.grad + g
        else:
            nxt = _sweep_node(node, op, g, grads, owned, heap, heappush, ndarray, tensor_t)
            if not retain_graph:
                node._parents, node._op, node._params = (), None, _NO_PARAMS
                node.requires_grad = False
                if op.saves:
                    node._saved = None
        if nxt is not None and heap:
            heappush(heap, (-nxt._seq, nxt))
            nxt = None
        node = nxt if nxt is not None else (heappop(heap)[1] if heap else None)


def _sweep_node(node, op, g, grads, owned, heap, heappush, ndarray, tensor_t):
    """Run ``node``'s VJPs, adding into ``grads``; newly reached parents are pushed on
    ``heap``, except the first one, returned (the caller decides whether it goes next)."""
    parents, params = node._parents, node._params
    arrays = _raw(parents)
    vjps = op.vjps if op.vjp_var is None else None
    out = node._saved if op.saves else node.data   # what the forward kept for the VJPs
    first = None
    for i, p in enumerate(parents):
        if not (isinstance(p, tensor_t) and p.requires_grad):
            continue
        vjp = vjps[i] if vjps is not None else op.vjp(i)
        gi = vjp(g, out, *arrays, **params)
        if not isinstance(gi, ndarray):
            gi = np.asarray(gi)
        pdata = p.data
        if gi.shape != pdata.shape:
            gi = unbroadcast(gi, pdata.shape)
        if gi.dtype is not pdata.dtype and gi.dtype != pdata.dtype:   # `is`: the cheap test
            gi = gi.astype(pdata.dtype)
        key = id(p)
        prev = grads.get(key)
        if prev is None:
            grads[key] = gi
            if first is None:
                first = p
            else:
                heappush(heap, (-p._seq, p))
        elif key in owned:
            prev += gi
        else:  # a fresh array we own (0-d sums come back as numpy scalars)
            grads[key] = np.array(prev + gi, copy=None, ndmin=0)
            owned.add(key)
    return first


# the methods above delegate to the public functions of the primitive families
from . import ops_elementwise as _E  # noqa: E402
from . import ops_linalg as _L  # noqa: E402
from . import ops_math as _M  # noqa: E402
from . import ops_reduce as _R  # noqa: E402
from . import ops_shape as _S  # noqa: E402
