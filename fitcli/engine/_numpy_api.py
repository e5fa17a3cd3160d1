"""numpy functions called on Tensors (``np.sum(t)``, ``np.stack([t, u])``, ``np.sin(t)``):
numpy hands them to ``Tensor.__array_function__`` / ``__array_ufunc__``, which land here.

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
# ufuncs whose derivative is 0 wherever it exists, or whose result is not a float:
# computed on the values, a constant
_CONSTANT_UFUNCS = frozenset({
    "floor", "ceil", "trunc", "rint", "isnan", "isinf", "isfinite", "signbit", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "logical_xor", "floor_divide"})
_UFUNC_ALIASES = {"absolute": "abs", "fabs": "abs", "true_divide": "divide", "conjugate": None}

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


_RESOLVED: dict = {}   # ufunc -> engine function: ``A @ x`` in a hot loop resolves once


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    """``np.sin(t)``, ``arr + t`` (numpy's operator on an ndarray and a Tensor), ...:
    the engine function of the ufunc's name; comparisons and rounding on the values."""
    if method == "__call__" and not kwargs:
        fn = _RESOLVED.get(ufunc)
        if fn is not None:
            return fn(*inputs)
    import fitcli.engine as fe

    name = _UFUNC_ALIASES.get(ufunc.__name__, ufunc.__name__)
    if method != "__call__":
        raise EngineError(f"numpy.{ufunc.__name__}.{method} on a Tensor is not supported: "
                          f"use the fitcli.engine functions (fe.sum, fe.cumsum, ...)")
    if kwargs.get("out") is not None:
        raise EngineError(f"numpy.{ufunc.__name__}: out= is not supported on Tensors")
    if name is None:                      # real arrays: conj is the identity
        return inputs[0]
    if ufunc.__name__ in _CONSTANT_UFUNCS:
        return ufunc(*_values(inputs), **kwargs)
    engine_fn = getattr(fe, name, None) if name in fe.__all__ else None
    if engine_fn is None:
        raise EngineError(f"numpy.{ufunc.__name__} has no engine version for a Tensor: use "
                          f"the fitcli.engine functions, or t.numpy() for a constant copy")
    if not kwargs:
        _RESOLVED[ufunc] = engine_fn
    return engine_fn(*inputs)
