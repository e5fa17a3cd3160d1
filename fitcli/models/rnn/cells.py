"""Fused primitives of the recurrent cells, defined with ``fitcli.engine.extend``.

Composition through the engine is correct by construction but pays the
per-op overhead at every time step; the recurrent loop is the one place where
that overhead multiplies by T. These primitives fuse the work of one step:

* ``rnn_affine(x, h, W, U, b) = x W + h U + b`` — the pre-activation of every
  cell (all gates at once: W (D, G·H), U (H, G·H)). Replaces two matmuls and
  two adds (four graph nodes) by one.
* ``elman_step(x, h, W, U, b) = tanh(x W + h U + b)`` — a whole Elman step as
  one node; its VJPs share dz = g ⊙ (1 − h'²), computed once per node.
* ``lstm_pointwise(z, c)`` — everything an LSTM does after the gate matmul,
  returning the record ``[h, c']`` (N, 2H) so that one op output carries both
  states: i, f, o = σ(z_i), σ(z_f), σ(z_o); g = tanh(z_g); c' = f c + i g;
  h = o tanh(c').
* ``gru_pointwise(a, u, h)`` — the GRU after its two matmuls (PyTorch's
  convention, a = x W + b_x, u = h U + b_h): r = σ(a_r + u_r),
  z = σ(a_z + u_z), n = tanh(a_n + r u_n), h' = (1 − z) n + z h.

Each VJP is written next to its forward with the formula, then the JVP rule (engine
functions, so reverse-over-forward works), the primitive and its public function;
``gradcheck_cases`` holds their gradient checks (several shapes, float64) for the
tests and for ``fitcli gradcheck --ops``.
"""

from __future__ import annotations

import numpy as np

import fitcli.engine as fe
from fitcli.engine.extend import Case, on, primitive, tsum

__all__ = ["elman_step", "gradcheck_cases", "gru_pointwise", "lstm_pointwise", "rnn_affine"]


def _sigmoid(x):
    # σ(x) = (1 + tanh(x/2)) / 2: one transcendental, no overflow for either sign
    s = np.tanh(0.5 * x)
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


# -- LSTM pointwise: gates z (N, 4H) [i, f, g, o], cell c (N, H) -> [h, c'] (N, 2H) ----------
def _lstm_gates(z, H):
    s = _sigmoid(z)
    return s[:, :H], s[:, H:2 * H], np.tanh(z[:, 2 * H:3 * H]), s[:, 3 * H:]


def _lstm_fwd(z, c):
    H = c.shape[-1]
    i, f, gg, o = _lstm_gates(z, H)
    c_new = f * c + i * gg
    return np.concatenate([o * np.tanh(c_new), c_new], axis=-1)


def _lstm_grads(g, out, z, c):
    """Cotangents of the gate pre-activations z (N, 4H) and of the old cell c (N, H)."""
    H = c.shape[-1]
    i, f, gg, o = _lstm_gates(z, H)
    tc = np.tanh(out[:, H:])
    gh = g[:, :H]
    dc = g[:, H:] + gh * o * (1.0 - tc * tc)          # ∂L/∂c': direct + through h = o tanh c'
    dz = np.concatenate([
        dc * gg * i * (1.0 - i),                      # ∂c'/∂z_i = g σ'(z_i)
        dc * c * f * (1.0 - f),                       # ∂c'/∂z_f = c σ'(z_f)
        dc * i * (1.0 - gg * gg),                     # ∂c'/∂z_g = i tanh'(z_g)
        gh * tc * o * (1.0 - o),                      # ∂h/∂z_o = tanh(c') σ'(z_o)
    ], axis=-1)
    return dz, dc * f                                 # ∂c'/∂c = f


_lstm_memo = _PerNode(_lstm_grads)


def _lstm_vjp_z(g, out, z, c):
    return _lstm_memo(g, out, z, c)[0]


def _lstm_vjp_c(g, out, z, c):
    return _lstm_memo(g, out, z, c)[1]


def _cols(a, k, H):
    return None if a is None else a[:, k * H:(k + 1) * H]


def _lstm_jvp(t, out, z, c):
    H = c.shape[-1]
    i, f, o = (fe.sigmoid(_cols(z, k, H)) for k in (0, 1, 3))
    g = fe.tanh(_cols(z, 2, H))
    tz, tcp = t
    di, df, dg, do = (None if tz is None else _cols(tz, k, H) for k in range(4))
    # dc' = df c + f dc + di g + i dg  (with dσ = σ(1 − σ) dz, dtanh = (1 − tanh²) dz)
    dc = tsum(on(df, lambda d: d * f * (1.0 - f) * c), on(tcp, lambda d: f * d),
              on(di, lambda d: d * i * (1.0 - i) * g), on(dg, lambda d: i * (1.0 - g * g) * d))
    tc = fe.tanh(out[:, H:])
    # dh = do tanh c' + o (1 − tanh² c') dc'
    dh = tsum(on(do, lambda d: d * o * (1.0 - o) * tc), o * (1.0 - tc * tc) * dc)
    return fe.concatenate([dh, dc], axis=-1)


lstm_pointwise_op = primitive(
    "lstm_pointwise", _lstm_fwd, (_lstm_vjp_z, _lstm_vjp_c), jvp=_lstm_jvp,
    doc="LSTM cell after the gate matmul: z (N, 4H), c (N, H) -> [h, c'] (N, 2H)")


def lstm_pointwise(z, c) -> fe.Tensor:
    """The LSTM record [h, c'] (N, 2H) from gate pre-activations z (N, 4H) and cell c (N, H)."""
    return fe.apply(lstm_pointwise_op, z, c)


# -- GRU pointwise: a, u (N, 3H) [r, z, n], h (N, H) -> h' (N, H) -----------------------------
def _gru_parts(a, u, H):
    r = _sigmoid(a[:, :H] + u[:, :H])
    z = _sigmoid(a[:, H:2 * H] + u[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + r * u[:, 2 * H:])
    return r, z, n


def _gru_fwd(a, u, h):
    r, z, n = _gru_parts(a, u, h.shape[-1])
    return n + z * (h - n)


def _gru_grads(g, out, a, u, h):
    """Cotangents of a (N, 3H), u (N, 3H) and h (N, H)."""
    H = h.shape[-1]
    r, z, n = _gru_parts(a, u, H)
    dn = g * (1.0 - z) * (1.0 - n * n)                # through n = tanh(a_n + r u_n)
    dz = g * (h - n) * z * (1.0 - z)                  # ∂h'/∂z = h − n
    dr = dn * u[:, 2 * H:] * r * (1.0 - r)            # ∂(r u_n)/∂r = u_n
    da = np.concatenate([dr, dz, dn], axis=-1)
    du = np.concatenate([dr, dz, dn * r], axis=-1)    # ∂/∂u_n = dn r
    return da, du, g * z                              # direct path h' = … + z h


_gru_memo = _PerNode(_gru_grads)


def _gru_vjp_a(g, out, a, u, h):
    return _gru_memo(g, out, a, u, h)[0]


def _gru_vjp_u(g, out, a, u, h):
    return _gru_memo(g, out, a, u, h)[1]


def _gru_vjp_h(g, out, a, u, h):
    return _gru_memo(g, out, a, u, h)[2]


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
    "gru_pointwise", _gru_fwd, (_gru_vjp_a, _gru_vjp_u, _gru_vjp_h), jvp=_gru_jvp,
    doc="GRU cell after its matmuls: a, u (N, 3H), h (N, H) -> h' (N, H)")


def gru_pointwise(a, u, h) -> fe.Tensor:
    """The GRU state h' (N, H) from a = x W + b_x, u = h U + b_h (N, 3H) and h (N, H)."""
    return fe.apply(gru_pointwise_op, a, u, h)


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
        cases.append(Case("lstm_pointwise", f"N={N} H={H}", lstm_pointwise,
                          (2 * n((N, 4 * H)), n((N, H)))))
        cases.append(Case("gru_pointwise", f"N={N} H={H}", gru_pointwise,
                          (2 * n((N, 3 * H)), 2 * n((N, 3 * H)), n((N, H)))))
    return cases
