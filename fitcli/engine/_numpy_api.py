"""numpy functions called on Tensors (``np.sum(t)``, ``np.stack([t, u])``): numpy hands
them to ``Tensor.__array_function__``, which lands here.

A function the engine has under the same name runs as that engine function (the result
a Tensor, differentiable); a query that has no derivative (``np.shape``, ``np.argmax``,
``np.allclose``, ...) runs on the values; anything else is an error naming the engine's
functions, rather than a silent copy that would cut the gradient.
"""

from __future__ import annotations

from .op import EngineError

# numpy functions whose result does not depend differentiably on the values
_QUERIES = frozenset({
    "shape", "ndim", "size", "argmax", "argmin", "argsort", "nonzero", "count_nonzero",
    "allclose", "isclose", "array_equal", "array_equiv", "result_type", "may_share_memory",
    "shares_memory", "iscomplexobj", "isrealobj", "searchsorted", "argwhere", "flatnonzero",
    "array_repr", "array_str", "copy", "unique", "histogram", "percentile", "quantile",
    "median", "round", "around", "floor", "ceil", "trunc", "isnan", "isinf", "isfinite",
    "any", "all", "ones_like", "zeros_like", "empty_like", "full_like", "save", "savez",
    "broadcast_shapes", "can_cast", "asarray", "array", "asanyarray", "ascontiguousarray",
})
# numpy keywords an engine function does not take; accepted when left at their default
_DEFAULTS = {"dtype": None, "out": None, "initial": None, "where": True}


def _values(x):
    from .tensor import Tensor
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_values(v) for v in x)
    return x


def dispatch(func, args, kwargs):
    import fitcli.engine as fe

    name = func.__name__
    if name in _QUERIES:
        return func(*_values(args), **{k: _values(v) for k, v in kwargs.items()})
    engine_fn = getattr(fe, name, None) if name in fe.__all__ else None
    if engine_fn is None or not callable(engine_fn):
        raise EngineError(f"numpy.{name} has no engine version for a Tensor: use the "
                          f"fitcli.engine functions (fe.sum, fe.stack, ...), or t.numpy() "
                          f"for a constant copy without gradient")
    for key, default in _DEFAULTS.items():
        if key in kwargs:
            if kwargs[key] is not default:
                raise EngineError(f"numpy.{name}: {key}= is not supported on Tensors; "
                                  f"call fe.{name} without it")
            del kwargs[key]
    return engine_fn(*args, **kwargs)
