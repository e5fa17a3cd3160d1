"""Fused primitives of the recurrent cells, defined with ``fitcli.engine.extend``.

Composition through the engine is correct by construction but pays the
per-op overhead at every time step; the recurrent loop is the one place where
that overhead multiplies by T. These primitives fuse the work of one step:

* ``rnn_affine(x, h, W, U, b) = x W + h U + b`` — the pre-activation of every
  cell (all gates at once: W (D, G·H), U (H, G·H)). Replaces two matmuls and
  two adds (four graph nodes) by one.
* ``elman_step(x, h, W, U, b) = tanh(x W + h U + b)`` — a whole Elman step as
  one node; its VJPs share dz = g ⊙ (1 − h'²), computed once per node.
* ``gru_pointwise(a, u, h)`` — the GRU after its two matmuls (PyTorch's
  convention, a = x W + b_x, u = h U + b_h): r = σ(a_r + u_r),
  z = σ(a_z + u_z), n = tanh(a_n + r u_n), h' = (1 − z) n + z h.
* ``gru_step(x, h, W, U, b, c)`` — the whole GRU step (both matmuls, biases and
  the pointwise part) as one node: what the model uses.

The LSTM's primitives are in :mod:`.lstm`.

The gated cells are ``saves`` primitives (``primitive(..., saves=True)``): the
forward hands the backward the activated gates, so no VJP recomputes a gate; the
forwards activate the gate buffers they allocate in place. Each VJP is written
next to its forward with the formula, then the JVP rule (engine
functions, so reverse-over-forward works), the primitive and its public function;
``gradcheck_cases`` holds their gradient checks (several shapes, float64) for the
tests and for ``fitcli gradcheck --ops``.
"""

from __future__ import annotations

import numpy as np

import fitcli.engine as fe
from fitcli.engine.extend import Case, on, primitive, tsum

__all__ = ["elman_step", "gradcheck_cases", "gru_pointwise", "gru_step", "rnn_affine"]


def _sigmoid(x, out=None):
    # σ(x) = (1 + tanh(x/2)) / 2: one transcendental, no overflow for either sign;
    # out=x activates a buffer in place
    s = np.tanh(np.multiply(x, 0.5, out=out), out=out)
    s += 1.0
    s *= 0.5
    return s


class _PerNode:
    """Compute once per graph node the backward quantities all of its VJPs share.

    The sweep calls the VJPs of one node back to back with the same ``g`` and
    ``out`` objects. The memo holds them, so their ids cannot be reused by other
    arrays while cached and an identity check is exact; ``out`` is new for every
    node (no fused forward returns an input), so two nodes never share a key.
    Each VJP hands out its own component of the cached value (a fresh array
    the memo never hands out again), or a new array computed from it.
    """

    def __init__(self, fn):
        self.fn = fn
        self._g = self._out = self._value = None

    def __call__(self, g, out, *inputs):
        if g is not self._g or out is not self._out:
            self._g, self._out = g, out
            self._value = self.fn(g, out, *inputs)
        return self._value


def _cols(a, k, H):
    return None if a is None else a[:, k * H:(k + 1) * H]


# -- affine: x W + h U + b ------------------------------------------------------------------
def _affine(x, h, W, U, b):
    z = x @ W
    z += h @ U
    z += b
    return z


def _affine_jvp(t, out, x, h, W, U, b):
    # d(xW + hU + b) = dx W + dh U + x dW + h dU + db
    return tsum(on(t[0], lambda tx: fe.matmul(tx, W)), on(t[1], lambda th: fe.matmul(th, U)),
                on(t[2], lambda tW: fe.matmul(x, tW)), on(t[3], lambda tU: fe.matmul(h, tU)),
                t[4])


rnn_affine_op = primitive("rnn_affine", _affine, (
    lambda g, out, x, h, W, U, b: g @ W.T,            # ∂/∂x = G Wᵀ
    lambda g, out, x, h, W, U, b: g @ U.T,            # ∂/∂h = G Uᵀ
    lambda g, out, x, h, W, U, b: x.T @ g,            # ∂/∂W = xᵀ G
    lambda g, out, x, h, W, U, b: h.T @ g,            # ∂/∂U = hᵀ G
    lambda g, out, x, h, W, U, b: g.sum(axis=0),      # ∂/∂b = Σ_n G
), jvp=_affine_jvp, doc="x W + h U + b for x (N, D), h (N, H), W (D, K), U (H, K), b (K,)")


def rnn_affine(x, h, W, U, b) -> fe.Tensor:
    """x W + h U + b (one graph node). Shapes: x (N, D), h (N, H), W (D, K), U (H, K), b (K,)."""
    return fe.apply(rnn_affine_op, x, h, W, U, b)


# -- Elman step: tanh(x W + h U + b) -----------------------------------------------------------
_dz = _PerNode(lambda g, out: g * (1.0 - out * out))    # dz = g ⊙ tanh'(z) = g (1 − h'²)


def _elman(x, h, W, U, b):
    z = _affine(x, h, W, U, b)
    return np.tanh(z, out=z)


def _elman_jvp(t, out, x, h, W, U, b):
    # d tanh(z) = (1 − tanh² z) dz
    return (1.0 - out * out) * _affine_jvp(t, out, x, h, W, U, b)


elman_step_op = primitive("elman_step", _elman, (
    lambda g, out, x, h, W, U, b: _dz(g, out) @ W.T,        # ∂/∂x = dz Wᵀ, dz = g (1 − h'²)
    lambda g, out, x, h, W, U, b: _dz(g, out) @ U.T,        # ∂/∂h = dz Uᵀ
    lambda g, out, x, h, W, U, b: x.T @ _dz(g, out),        # ∂/∂W = xᵀ dz
    lambda g, out, x, h, W, U, b: h.T @ _dz(g, out),        # ∂/∂U = hᵀ dz
    lambda g, out, x, h, W, U, b: _dz(g, out).sum(axis=0),  # ∂/∂b = Σ_n dz
), jvp=_elman_jvp, doc="Elman step tanh(x W + h U + b): "
                            "x (N, D), h (N, H), W (D, H), U (H, H), b (H,)")


def elman_step(x, h, W, U, b) -> fe.Tensor:
    """tanh(x W + h U + b) (one graph node). Shapes as :func:`rnn_affine` with K = H."""
    return fe.apply(elman_step_op, x, h, W, U, b)


# -- GRU pointwise: a, u (N, 3H) [r, z, n], h (N, H) -> h' (N, H) -----------------------------
# Saved from the forward: S = [r, z, n] (N, 3H); u_n is an input.
def _gru_fwd(a, u, h):
    H = h.shape[-1]
    S = np.add(a[:, :2 * H], u[:, :2 * H])
    S = np.concatenate([_sigmoid(S, out=S), np.empty_like(h)], axis=-1)
    n = S[:, 2 * H:]
    np.multiply(S[:, :H], u[:, 2 * H:], out=n)        # n = tanh(a_n + r u_n)
    n += a[:, 2 * H:]
    np.tanh(n, out=n)
    out = h - n                                       # h' = n + z (h − n)
    out *= S[:, H:2 * H]
    out += n
    return out, S


def _gru_grads(g, S, un, h):
    """Cotangents of a (N, 3H), u (N, 3H) and h (N, H); ``un`` is u's n block."""
    H = h.shape[-1]
    r, z, n = S[:, :H], S[:, H:2 * H], S[:, 2 * H:]
    da = np.empty_like(S)
    dr, dz, dn = da[:, :H], da[:, H:2 * H], da[:, 2 * H:]
    omz = 1.0 - z
    np.multiply(n, n, out=dn)                         # dn = g (1 − z)(1 − n²)
    np.subtract(1.0, dn, out=dn)
    dn *= omz
    dn *= g
    np.subtract(h, n, out=dz)                         # dz = g (h − n) z (1 − z)
    dz *= g
    dz *= z
    dz *= omz
    np.multiply(dn, un, out=dr)                       # ∂(r u_n)/∂r = u_n
    dr *= r
    dr *= 1.0 - r
    du = da.copy()
    du[:, 2 * H:] *= r                                # ∂/∂u_n = dn r
    return da, du, g * z                              # direct path h' = … + z h


_gru_memo = _PerNode(_gru_grads)


def _gru_vjp_a(g, S, a, u, h):
    return _gru_memo(g, S, u[:, 2 * h.shape[-1]:], h)[0]


def _gru_vjp_u(g, S, a, u, h):
    return _gru_memo(g, S, u[:, 2 * h.shape[-1]:], h)[1]


def _gru_vjp_h(g, S, a, u, h):
    return _gru_memo(g, S, u[:, 2 * h.shape[-1]:], h)[2]


def _gru_jvp(t, out, a, u, h):
    H = h.shape[-1]
    ta, tu, th = t
    r = fe.sigmoid(_cols(a, 0, H) + _cols(u, 0, H))
    z = fe.sigmoid(_cols(a, 1, H) + _cols(u, 1, H))
    un = _cols(u, 2, H)
    n = fe.tanh(_cols(a, 2, H) + r * un)
    direct = on(th, lambda d: z * d)                  # ∂h'/∂h = z (direct path)
    if ta is None and tu is None:
        return direct
    pre = [tsum(_cols(ta, k, H), _cols(tu, k, H)) for k in range(2)]
    dr = r * (1.0 - r) * pre[0]
    dz = z * (1.0 - z) * pre[1]
    # dn = (1 − n²)(da_n + dr u_n + r du_n);  dh' = (1 − z) dn + (h − n) dz + z dh
    dn = (1.0 - n * n) * tsum(_cols(ta, 2, H), dr * un, on(_cols(tu, 2, H), lambda d: r * d))
    return tsum((1.0 - z) * dn, (h - n) * dz, direct)


gru_pointwise_op = primitive(
    "gru_pointwise", _gru_fwd, (_gru_vjp_a, _gru_vjp_u, _gru_vjp_h), jvp=_gru_jvp, saves=True,
    doc="GRU cell after its matmuls: a, u (N, 3H), h (N, H) -> h' (N, H)")


def gru_pointwise(a, u, h) -> fe.Tensor:
    """The GRU state h' (N, H) from a = x W + b_x, u = h U + b_h (N, 3H) and h (N, H)."""
    return fe.apply(gru_pointwise_op, a, u, h)


# -- GRU step: the whole cell as one node, h' = gru(x W + b, h U + c, h) ---------------------
def _gru_step(x, h, W, U, b, c):
    a = x @ W
    a += b
    u = h @ U
    u += c
    out, S = _gru_fwd(a, u, h)
    return out, (S, u[:, 2 * h.shape[-1]:])           # u_n: for ∂/∂r


def _gru_step_grads(g, saved, x, h, W, U, b, c):
    S, un = saved
    da, du, dh = _gru_grads(g, S, un, h)
    dh += du @ U.T                                    # ∂/∂h: direct z g + du Uᵀ
    return da, du, dh


_gru_step_memo = _PerNode(_gru_step_grads)


def _gru_step_jvp(t, out, x, h, W, U, b, c):
    tx, th, tW, tU, tb, tc = t
    ta = _tsum_or_none(on(tx, lambda d: fe.matmul(d, W)), on(tW, lambda d: fe.matmul(x, d)), tb)
    tu = _tsum_or_none(on(th, lambda d: fe.matmul(d, U)), on(tU, lambda d: fe.matmul(h, d)), tc)
    return _gru_jvp((ta, tu, th), out, fe.matmul(x, W) + b, fe.matmul(h, U) + c, h)


def _tsum_or_none(*terms):
    return None if all(t is None for t in terms) else tsum(*terms)


def _gru_da(g, sv, x, h, W, U, b, c):
    return _gru_step_memo(g, sv, x, h, W, U, b, c)[0]


def _gru_du(g, sv, x, h, W, U, b, c):
    return _gru_step_memo(g, sv, x, h, W, U, b, c)[1]


gru_step_op = primitive("gru_step", _gru_step, (
    lambda g, sv, x, h, W, U, b, c: _gru_da(g, sv, x, h, W, U, b, c) @ W.T,   # ∂/∂x = da Wᵀ
    lambda g, sv, x, h, W, U, b, c: _gru_step_memo(g, sv, x, h, W, U, b, c)[2],
    lambda g, sv, x, h, W, U, b, c: x.T @ _gru_da(g, sv, x, h, W, U, b, c),   # ∂/∂W = xᵀ da
    lambda g, sv, x, h, W, U, b, c: h.T @ _gru_du(g, sv, x, h, W, U, b, c),   # ∂/∂U = hᵀ du
    lambda g, sv, x, h, W, U, b, c: _gru_da(g, sv, x, h, W, U, b, c).sum(axis=0),
    lambda g, sv, x, h, W, U, b, c: _gru_du(g, sv, x, h, W, U, b, c).sum(axis=0),
), jvp=_gru_step_jvp, saves=True,
    doc="GRU step: x (N, D), h (N, H), W (D, 3H), U (H, 3H), b, c (3H,) -> h' (N, H)")


def gru_step(x, h, W, U, b, c) -> fe.Tensor:
    """One GRU step as one graph node: h' (N, H) with a = x W + b, u = h U + c
    (see :func:`gru_pointwise`)."""
    return fe.apply(gru_step_op, x, h, W, U, b, c)


# -- gradient-check cases ---------------------------------------------------------------------
def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Each fused cell on tiny and small shapes (float64), every input differentiated."""
    n = rng.standard_normal
    cases = []
    for N, D, H, K in [(1, 1, 1, 1), (3, 2, 4, 4), (5, 3, 2, 8)]:
        cases.append(Case("rnn_affine", f"N={N} D={D} H={H} K={K}", rnn_affine,
                          (n((N, D)), n((N, H)), n((D, K)), n((H, K)), n(K))))
    for N, D, H in [(1, 1, 1), (3, 2, 4), (5, 3, 2)]:
        cases.append(Case("elman_step", f"N={N} D={D} H={H}", elman_step,
                          (n((N, D)), n((N, H)), n((D, H)), n((H, H)), n(H))))
    for N, H in [(1, 1), (3, 2), (4, 5)]:
        cases.append(Case("gru_pointwise", f"N={N} H={H}", gru_pointwise,
                          (2 * n((N, 3 * H)), 2 * n((N, 3 * H)), n((N, H)))))
        D = N % 3 + 1
        cases.append(Case("gru_step", f"N={N} D={D} H={H}", gru_step,
                          (n((N, D)), n((N, H)), n((D, 3 * H)), n((H, 3 * H)), n(3 * H),
                           n(3 * H))))
    return cases
