"""The GRU layer primitive: every step of a sequence as one graph node (the step
primitives, ``gru_pointwise`` and ``gru_step``, are in :mod:`.cells`).

``gru_layer(X, h0, W, U, b, c, bptt=0)`` runs h_t = gru_step(x_t, h_{t−1}) over
time-major inputs X (T, N, D) and returns the states of all steps (T, N, H). Over
the whole sequence the input projection X W + b, ∂/∂X, ∂/∂W, ∂/∂U, ∂/∂b and ∂/∂c
are one matmul (or sum) each, where per-step nodes pay two small weight-gradient
products and their accumulation at every step. A ``saves`` primitive: the forward
keeps the gates [r, z, n] and u_n = (h U + c)_n of every step; the backward
recomputes none. ``bptt`` > 0 drops the state cotangent before every bptt-th step
(truncated BPTT, as the per-step model's detach).
"""

from __future__ import annotations

import numpy as np

import fitcli.engine as fe
from fitcli.engine.extend import Case, on, primitive

from .cells import _gru_fwd, _gru_grads, _gru_step_jvp, _PerNode

__all__ = ["gradcheck_cases", "gru_layer"]


def _gru_layer(X, h0, W, U, b, c, bptt=0):
    T, N, D = X.shape
    H = U.shape[0]
    A = (X.reshape(T * N, D) @ W).reshape(T, N, 3 * H)
    A += b
    Y = np.empty((T, N, H), dtype=A.dtype)                  # the states of all steps
    S = np.empty((T, N, 3 * H), dtype=A.dtype)              # saved gates [r, z, n]
    UN = np.empty((T, N, H), dtype=A.dtype)                 # saved u_n
    h = h0
    for t in range(T):
        u = h @ U
        u += c
        Y[t], S[t] = _gru_fwd(A[t], u, h)
        UN[t] = u[:, 2 * H:]
        h = Y[t]
    return Y, (S, UN, Y)


def _gru_layer_grads(gY, saved, X, h0, W, U, b, c, bptt=0):
    """∂/∂a and ∂/∂u of every step (T·N, 3H), the previous states (T·N, H), ∂/∂h0."""
    S, UN, Y = saved
    T, N, H = Y.shape
    dA, dU = np.empty_like(S), np.empty_like(S)
    gh = np.zeros((N, H), dtype=Y.dtype)                    # ∂L/∂h_t
    for t in range(T - 1, -1, -1):
        gh += gY[t]
        da, du, direct = _gru_grads(gh, S[t], UN[t], h0 if t == 0 else Y[t - 1])
        dA[t], dU[t] = da, du
        if bptt and t and t % bptt == 0:                    # the state was detached here
            gh[...] = 0.0
        else:
            np.matmul(du, U.T, out=gh)
            gh += direct
    Hprev = np.concatenate([h0[None], Y[:-1]]).reshape(T * N, H)
    return dA.reshape(T * N, 3 * H), dU.reshape(T * N, 3 * H), Hprev, gh


_layer_memo = _PerNode(_gru_layer_grads)


def _layer_vjp(i):
    def vjp(g, saved, X, h0, W, U, b, c, bptt=0):
        dA, dU, Hprev, dh0 = _layer_memo(g, saved, X, h0, W, U, b, c, bptt)
        if i == 0:                                          # ∂/∂X = dA Wᵀ
            return (dA @ W.T).reshape(X.shape)
        if i == 1:
            return dh0
        if i == 2:                                          # ∂/∂W = Σ_t x_tᵀ da_t
            return X.reshape(-1, X.shape[-1]).T @ dA
        if i == 3:                                          # ∂/∂U = Σ_t h_{t−1}ᵀ du_t
            return Hprev.T @ dU
        return (dA if i == 4 else dU).sum(axis=0)           # ∂/∂b = Σ da, ∂/∂c = Σ du
    return vjp


def _gru_layer_jvp(t, out, X, h0, W, U, b, c, bptt=0):
    # step by step with the step's rule (forward mode is for Hessian-vector products)
    tX, th = t[0], t[1]
    steps, h = [], h0
    for k in range(X.shape[0]):
        if bptt and k and k % bptt == 0:
            th = None                                       # detached: no tangent flows on
        tk = (on(tX, lambda d, k=k: d[k]), th, *t[2:])
        th = (fe.Tensor(np.zeros(out.shape[1:], out.dtype)) if all(d is None for d in tk)
              else _gru_step_jvp(tk, out[k], X[k], h, W, U, b, c))
        steps.append(th)
        h = out[k]
    return fe.stack(steps, axis=0)


gru_layer_op = primitive(
    "gru_layer", _gru_layer, tuple(_layer_vjp(i) for i in range(6)), jvp=_gru_layer_jvp,
    saves=True, doc="GRU over a sequence: X (T, N, D), h (N, H), W (D, 3H), U (H, 3H), "
                    "b, c (3H,) -> states (T, N, H); bptt: truncation")


def gru_layer(X, h, W, U, b, c, bptt: int = 0) -> fe.Tensor:
    """All steps of one GRU layer as one graph node: the states (T, N, H) of the
    time-major inputs X (T, N, D) from the state ``h`` (N, H)."""
    return fe.apply(gru_layer_op, X, h, W, U, b, c, bptt=int(bptt))


def gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    """The GRU layer on tiny and small shapes (float64), every input differentiated
    (truncated BPTT is no derivative: the model's tests check it against detached steps)."""
    n = rng.standard_normal
    return [Case("gru_layer", f"T={T} N={N} D={D} H={H}", gru_layer,
                 (n((T, N, D)), n((N, H)), n((D, 3 * H)), n((H, 3 * H)), n(3 * H), n(3 * H)))
            for T, N, D, H in [(1, 1, 1, 1), (4, 3, 2, 2), (5, 2, 3, 3)]]
