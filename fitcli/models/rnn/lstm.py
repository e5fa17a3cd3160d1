"""The LSTM's fused primitives (``fitcli.engine.extend``); see :mod:`.cells` for the others.

* ``lstm_pointwise(z, c)`` — everything an LSTM does after the gate matmul,
  returning the record ``[h, c']`` (N, 2H) so that one op output carries both
  states: i, f, o = σ(z_i), σ(z_f), σ(z_o); g = tanh(z_g); c' = f c + i g;
  h = o tanh(c').
* ``lstm_step(x, [h, c], W, U, b)`` — the whole step (one matmul for all four
  gates, x W + h U + b, then the pointwise part) as one node, record in, record
  out.
* ``lstm_layer(X, [h, c], W, U, b, bptt=0)`` — every step of a sequence as one
  node (the records of all steps out): what the model uses.

All are ``saves`` primitives: the forward activates the gate buffer it
allocated in place and hands the backward the gates S = [i, f, g, o] and
tanh c'; the VJPs recompute nothing and compute the shared ∂/∂z once per node.
"""

from __future__ import annotations

import numpy as np

import fitcli.engine as fe
from fitcli.engine.extend import Case, on, primitive, tsum

from .cells import _affine, _affine_jvp, _cols, _PerNode, _sigmoid, rnn_affine

__all__ = ["gradcheck_cases", "lstm_layer", "lstm_pointwise", "lstm_step"]


# -- LSTM: gates z (N, 4H) [i, f, g, o], state [h, c] (N, 2H) -> [h', c'] (N, 2H) -------------
def _lstm_gates(z, c, rec=None, tc=None):
    """Activate the pre-activations z (N, 4H) in place; the record [o tanh c', c'] (N, 2H)
    and the saved (S, tanh c'), written into ``rec`` and ``tc`` when given. ``z`` must be
    a buffer the caller owns."""
    H = c.shape[-1]
    g = np.tanh(z[:, 2 * H:3 * H])
    _sigmoid(z, out=z)            # all of z: a contiguous pass beats three strided ones
    z[:, 2 * H:3 * H] = g
    if rec is None:
        rec = np.empty((z.shape[0], 2 * H), dtype=z.dtype)
    cn = rec[:, H:]
    np.multiply(z[:, H:2 * H], c, out=cn)                     # c' = f c + i g
    g *= z[:, :H]
    cn += g
    tc = np.tanh(cn, out=tc)
    np.multiply(z[:, 3 * H:], tc, out=rec[:, :H])             # h' = o tanh c'
    return rec, (z, tc)


def _lstm_grads(g, saved, c):
    """Cotangents of the gate pre-activations z (N, 4H) and of the old cell c (N, H)."""
    S, tc = saved
    H = c.shape[-1]
    i, f, gg, o = S[:, :H], S[:, H:2 * H], S[:, 2 * H:3 * H], S[:, 3 * H:]
    gh = g[:, :H]
    dc = 1.0 - tc * tc                                # ∂L/∂c' = g_c + g_h o tanh'(c')
    dc *= o
    dc *= gh
    dc += g[:, H:]
    dz = np.empty_like(S)
    di, df, dg, do = dz[:, :H], dz[:, H:2 * H], dz[:, 2 * H:3 * H], dz[:, 3 * H:]
    np.subtract(1.0, i, out=di)                       # ∂c'/∂z_i = g σ'(z_i)
    di *= i
    di *= gg
    di *= dc
    np.subtract(1.0, f, out=df)                       # ∂c'/∂z_f = c σ'(z_f)
    df *= f
    df *= c
    df *= dc
    np.multiply(gg, gg, out=dg)                       # ∂c'/∂z_g = i tanh'(z_g)
    np.subtract(1.0, dg, out=dg)
    dg *= i
    dg *= dc
    np.subtract(1.0, o, out=do)                       # ∂h'/∂z_o = tanh(c') σ'(z_o)
    do *= o
    do *= tc
    do *= gh
    dc *= f                                           # ∂c'/∂c = f
    return dz, dc


def _lstm_fwd(z, c):
    return _lstm_gates(np.array(z), c)                # a copy: z is the caller's


_lstm_memo = _PerNode(_lstm_grads)


def _lstm_vjp_z(g, saved, z, c):
    return _lstm_memo(g, saved, c)[0]


def _lstm_vjp_c(g, saved, z, c):
    return _lstm_memo(g, saved, c)[1]


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
    "lstm_pointwise", _lstm_fwd, (_lstm_vjp_z, _lstm_vjp_c), jvp=_lstm_jvp, saves=True,
    doc="LSTM cell after the gate matmul: z (N, 4H), c (N, H) -> [h, c'] (N, 2H)")


def lstm_pointwise(z, c) -> fe.Tensor:
    """The LSTM record [h, c'] (N, 2H) from gate pre-activations z (N, 4H) and cell c (N, H)."""
    return fe.apply(lstm_pointwise_op, z, c)


# -- LSTM step: the whole cell as one node, [h', c'] = lstm(x W + h U + b, c) ------------------
def _lstm_step(x, s, W, U, b):
    H = s.shape[-1] // 2
    return _lstm_gates(_affine(x, s[:, :H], W, U, b), s[:, H:])   # z is fresh: ours


def _lstm_step_grads(g, saved, x, s, W, U, b):
    """∂/∂z (N, 4H) and ∂/∂[h, c] (N, 2H): dz Uᵀ for h, f ⊙ dc' for c."""
    H = s.shape[-1] // 2
    dz, dcf = _lstm_grads(g, saved, s[:, H:])
    ds = np.empty_like(s)
    np.matmul(dz, U.T, out=ds[:, :H])
    ds[:, H:] = dcf
    return dz, ds


_lstm_step_memo = _PerNode(_lstm_step_grads)


def _lstm_dz(g, saved, x, s, W, U, b):
    return _lstm_step_memo(g, saved, x, s, W, U, b)[0]


def _lstm_step_jvp(t, out, x, s, W, U, b):
    H = s.shape[-1] // 2
    h, c = s[:, :H], s[:, H:]
    ts = t[1]
    th, tc = on(ts, lambda d: d[:, :H]), on(ts, lambda d: d[:, H:])
    tz = _affine_jvp((t[0], th, t[2], t[3], t[4]), None, x, h, W, U, b)
    return _lstm_jvp((tz, tc), out, rnn_affine(x, h, W, U, b), c)


lstm_step_op = primitive("lstm_step", _lstm_step, (
    lambda g, sv, x, s, W, U, b: _lstm_dz(g, sv, x, s, W, U, b) @ W.T,   # ∂/∂x = dz Wᵀ
    lambda g, sv, x, s, W, U, b: _lstm_step_memo(g, sv, x, s, W, U, b)[1],
    lambda g, sv, x, s, W, U, b: x.T @ _lstm_dz(g, sv, x, s, W, U, b),   # ∂/∂W = xᵀ dz
    lambda g, sv, x, s, W, U, b: s[:, :s.shape[-1] // 2].T @ _lstm_dz(g, sv, x, s, W, U, b),
    lambda g, sv, x, s, W, U, b: _lstm_dz(g, sv, x, s, W, U, b).sum(axis=0),
), jvp=_lstm_step_jvp, saves=True,
    doc="LSTM step: x (N, D), state [h, c] (N, 2H), W (D, 4H), U (H, 4H), b (4H,) "
        "-> [h', c'] (N, 2H); gates [i, f, g, o]")


def lstm_step(x, state, W, U, b) -> fe.Tensor:
    """One LSTM step as one graph node: the new record [h', c'] (N, 2H) from the input
    x (N, D) and the record [h, c] (N, 2H); ∂/∂U = hᵀ dz, ∂/∂b = Σ_n dz."""
    return fe.apply(lstm_step_op, x, state, W, U, b)


# -- LSTM layer: every step of a sequence as one node --------------------------------------
# Per-step nodes pay at every step two weight-gradient products with the batch as inner
# dimension and the engine's accumulation of them; over the whole sequence the input
# projection, ∂/∂W, ∂/∂U and ∂/∂b are one matmul (or sum) each, as by hand.
def _lstm_layer(X, s0, W, U, b, bptt=0):
    T, N, D = X.shape
    H = U.shape[0]
    G = (X.reshape(T * N, D) @ W).reshape(T, N, 4 * H)      # ours: activated in place
    G += b
    Y = np.empty((T, N, 2 * H), dtype=G.dtype)              # the records [h, c] of all steps
    TC = np.empty((T, N, H), dtype=G.dtype)
    s = s0
    for t in range(T):
        z = G[t]
        z += s[:, :H] @ U
        _lstm_gates(z, s[:, H:], Y[t], TC[t])
        s = Y[t]
    return Y, (G, TC, Y)


def _lstm_layer_grads(gY, saved, X, s0, W, U, b, bptt=0):
    """∂/∂z of every step (T·N, 4H), the previous states (T·N, H) and ∂/∂s0 (N, 2H): the
    BPTT loop of :func:`_lstm_grads`; truncated BPTT drops the state cotangent before
    every ``bptt``-th step (where the per-step model detaches the state)."""
    G, TC, Y = saved
    T, N, _ = G.shape
    H = TC.shape[-1]
    dZ = np.empty_like(G)
    gs = np.zeros((N, 2 * H), dtype=G.dtype)                # ∂L/∂[h, c] of the current step
    for t in range(T - 1, -1, -1):
        gs += gY[t]
        prev = s0 if t == 0 else Y[t - 1]
        dz, dcf = _lstm_grads(gs, (G[t], TC[t]), prev[:, H:])
        dZ[t] = dz
        if bptt and t and t % bptt == 0:
            gs[...] = 0.0
        else:
            np.matmul(dz, U.T, out=gs[:, :H])
            gs[:, H:] = dcf
    Hprev = np.concatenate([s0[None, :, :H], Y[:-1, :, :H]]).reshape(T * N, H)
    return dZ.reshape(T * N, 4 * H), Hprev, gs


_layer_memo = _PerNode(_lstm_layer_grads)


def _layer_vjp(i):
    def vjp(g, saved, X, s0, W, U, b, bptt=0):
        dZ, Hprev, ds0 = _layer_memo(g, saved, X, s0, W, U, b, bptt)
        if i == 0:                                          # ∂/∂X = dZ Wᵀ
            return (dZ @ W.T).reshape(X.shape)
        if i == 1:
            return ds0
        if i == 2:                                          # ∂/∂W = Σ_t x_tᵀ dz_t
            return X.reshape(-1, X.shape[-1]).T @ dZ
        if i == 3:                                          # ∂/∂U = Σ_t h_{t−1}ᵀ dz_t
            return Hprev.T @ dZ
        return dZ.sum(axis=0)                               # ∂/∂b = Σ dz
    return vjp


def _lstm_layer_jvp(t, out, X, s0, W, U, b, bptt=0):
    # step by step with the step's rule (forward mode is for Hessian-vector products)
    tX, ts = t[0], t[1]
    steps, s = [], s0
    for k in range(X.shape[0]):
        if bptt and k and k % bptt == 0:
            ts = None                                       # detached: no tangent flows on
        tk = (on(tX, lambda d, k=k: d[k]), ts, *t[2:])
        ts = (fe.Tensor(np.zeros(out.shape[1:], out.dtype)) if all(d is None for d in tk)
              else _lstm_step_jvp(tk, out[k], X[k], s, W, U, b))
        steps.append(ts)
        s = out[k]
    return fe.stack(steps, axis=0)


lstm_layer_op = primitive(
    "lstm_layer", _lstm_layer, tuple(_layer_vjp(i) for i in range(5)), jvp=_lstm_layer_jvp,
    saves=True, doc="LSTM over a sequence: X (T, N, D), state [h, c] (N, 2H), W (D, 4H), "
                    "U (H, 4H), b (4H,) -> records [h_t, c_t] (T, N, 2H); bptt: truncation")


def lstm_layer(X, state, W, U, b, bptt: int = 0) -> fe.Tensor:
    """All steps of one LSTM layer as one graph node: the records [h_t, c_t] (T, N, 2H)
    of the time-major inputs X (T, N, D) from the record ``state`` (N, 2H). ``bptt`` > 0
    stops the gradient through the state before every bptt-th step (truncated BPTT)."""
    return fe.apply(lstm_layer_op, X, state, W, U, b, bptt=int(bptt))


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """Both LSTM primitives on tiny and small shapes (float64), every input differentiated."""
    n = rng.standard_normal
    cases = []
    for N, H in [(1, 1), (3, 2), (4, 5)]:
        D = N % 3 + 1
        cases.append(Case("lstm_pointwise", f"N={N} H={H}", lstm_pointwise,
                          (2 * n((N, 4 * H)), n((N, H)))))
        cases.append(Case("lstm_step", f"N={N} D={D} H={H}", lstm_step,
                          (n((N, D)), n((N, 2 * H)), n((D, 4 * H)), n((H, 4 * H)), n(4 * H))))
    # (truncated BPTT is no derivative: the model's tests check it against detached steps)
    for T, N, D, H in [(1, 1, 1, 1), (4, 3, 2, 2), (5, 2, 3, 3)]:
        cases.append(Case("lstm_layer", f"T={T} N={N} D={D} H={H}", lstm_layer,
                          (n((T, N, D)), n((N, 2 * H)), n((D, 4 * H)), n((H, 4 * H)),
                           n(4 * H))))
    return cases
