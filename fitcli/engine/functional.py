"""Functional entry points, numpy arrays in and out: ``grad``, ``value_and_grad`` (reverse
mode), ``jvp``, ``jacfwd``, ``jacrev`` and ``hvp`` (forward mode and second order)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .tensor import EngineError, Tensor, backward, forward_mode


def _argnums(argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise EngineError(f"grad: argnums {i} is out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def _distinct(grads) -> tuple[np.ndarray, ...]:
    """The gradients, each its own array: the sweep may hand two leaves the same cotangent
    (``a + b``), and a caller scaling one in place must not change the other."""
    out: list[np.ndarray] = []
    for g in grads:
        if any(np.may_share_memory(g, h) for h in out):
            g = g.copy()
        out.append(g)
    return tuple(out)


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
        grads = _distinct(
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


# -- forward mode and second order -------------------------------------------------------
def _leaf(x, requires_grad=False) -> Tensor:
    return Tensor(x.data if isinstance(x, Tensor) else x, requires_grad=requires_grad)


def jvp(f: Callable, primals: tuple, tangents: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Forward mode: ``(f(*primals), J·tangents)``, tangents propagated with the values.

    One evaluation of ``f`` with its tangent costs a small multiple of ``f``; a
    full Jacobian needs one per input direction (:func:`jacfwd`).
    """
    if len(primals) != len(tangents):
        raise EngineError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    leaves = []
    for p, t in zip(primals, tangents, strict=True):
        leaf = _leaf(p)
        tan = np.asarray(t.data if isinstance(t, Tensor) else t, dtype=leaf.dtype)
        if tan.shape != leaf.shape:
            raise EngineError(f"jvp: tangent of shape {tan.shape} for a primal of {leaf.shape}")
        leaf.tangent = Tensor(tan)
        leaves.append(leaf)
    with forward_mode():
        out = f(*leaves)
    if not isinstance(out, Tensor):
        out = Tensor(out)
    tangent = out.tangent.data if out.tangent is not None else np.zeros_like(out.data)
    return out.data, tangent


def jacfwd(f: Callable, argnum: int = 0) -> Callable:
    """Jacobian by forward mode: one JVP per input element; shape ``out.shape + x.shape``."""

    def jac(*args):
        x = np.asarray(args[argnum].data if isinstance(args[argnum], Tensor) else args[argnum],
                       dtype=float)
        cols = []
        for j in range(x.size):  # one forward pass per input direction: the cost of forward mode
            e = np.zeros(x.size, x.dtype)
            e[j] = 1.0
            tangents = [np.zeros_like(np.asarray(a, dtype=float)) for a in args]
            tangents[argnum] = e.reshape(x.shape)
            cols.append(jvp(f, args, tangents)[1])
        out_shape = cols[0].shape if cols else ()
        return np.stack(cols, axis=-1).reshape(out_shape + x.shape)

    return jac


def jacrev(f: Callable, argnum: int = 0) -> Callable:
    """Jacobian by reverse mode: one VJP per output element; shape ``out.shape + x.shape``."""

    def jac(*args):
        args = list(args)
        leaf = _leaf(args[argnum], requires_grad=True)
        args[argnum] = leaf
        out = f(*args)
        if not isinstance(out, Tensor) or not out.requires_grad:
            return np.zeros(np.shape(out) + leaf.shape)
        rows = []
        for i in range(out.size):  # one reverse sweep per output element
            seed = np.zeros(out.size, out.dtype)
            seed[i] = 1.0
            leaf.grad = None
            backward(out, seed.reshape(out.shape), retain_graph=True)
            rows.append(leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data))
        return np.stack(rows).reshape(out.shape + leaf.shape)

    return jac


def hvp(f: Callable, argnum: int = 0) -> Callable:
    """Hessian-vector product ``H(x)·v`` of scalar ``f``, by reverse-over-forward.

    The forward pass carries the tangent v, so the output's tangent is the
    directional derivative ⟨∇f(x), v⟩ — itself a graph of engine ops (the JVP
    rules are written with engine functions); one reverse sweep of it gives
    ∇⟨∇f(x), v⟩ = H v. Cost: a small multiple of one gradient, memory of one
    graph. Reverse-over-reverse would need differentiable VJPs (ours run on raw
    arrays, for speed), and forward-over-reverse would need JVP rules for the
    VJPs; reverse-over-forward reuses both tables as they are.
    """

    def hv(*args):
        args = list(args)
        v = args.pop()
        leaf = _leaf(args[argnum], requires_grad=True)
        leaf.tangent = Tensor(np.asarray(v, dtype=leaf.dtype))
        args[argnum] = leaf
        with forward_mode():
            out = f(*args)
        if out.size != 1:
            raise EngineError(f"hvp: f returned shape {out.shape}; it needs a scalar output")
        d = out.tangent
        if d is None or not d.requires_grad:
            return np.zeros_like(leaf.data)
        backward(d.reshape(()) if d.shape else d)
        return leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data)

    return hv
