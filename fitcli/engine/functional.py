"""Functional entry points: ``grad`` and ``value_and_grad``, numpy arrays in and out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .tensor import EngineError, Tensor, backward


def _argnums(argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise EngineError(f"grad: argnums {i} is out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def value_and_grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """``f``'s value and its gradient with respect to the arguments ``argnums``.

    ``f`` must return a scalar Tensor (or number). The returned function takes
    the same arguments as ``f`` (numpy arrays, numbers or Tensors) and returns
    ``(value, grad)``: ``value`` a numpy scalar and ``grad`` an array shaped
    like the argument, or a tuple of arrays when ``argnums`` is a tuple (as in
    JAX). An argument that ``f`` does not use gets a zero gradient.
    """

    def wrapped(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        args = list(args)
        leaves = []
        for i in nums:
            x = args[i]
            leaf = Tensor(x.data if isinstance(x, Tensor) else x, requires_grad=True)
            args[i] = leaf
            leaves.append(leaf)
        out = f(*args, **kwargs)
        if not isinstance(out, Tensor):
            out = Tensor(out)
        if out.data.size != 1:
            raise EngineError(
                f"grad: the function returned shape {out.shape}; grad needs a scalar output"
            )
        if out.requires_grad:
            backward(out)
        grads = tuple(
            leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data) for leaf in leaves
        )
        value = out.data.reshape(())[()]
        return value, (grads if isinstance(argnums, tuple) else grads[0])

    wrapped.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapped


def grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The gradient of scalar-valued ``f`` with respect to ``argnums`` (see value_and_grad)."""
    vg = value_and_grad(f, argnums)

    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    wrapped.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapped
