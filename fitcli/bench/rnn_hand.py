"""Hand-written numpy BPTT for the Elman, GRU and LSTM cells: the yardstick of ``fitcli.bench.rnn``.

Same parameterisation as :class:`fitcli.models.rnn.RNN` (one layer, all gates in
one matmul, GRU with a recurrent bias ``c``, LSTM gates [i, f, g, o]) and the same
losses (MSE, or softmax cross-entropy on integer targets), written the way a
careful numpy programmer would: the input projection of all steps in one matmul,
the recurrent-weight and input-weight gradients in one matmul each after the
loop, gates kept from the forward, buffers reused in place.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hand_grad", "hand_loss"]


def _sigmoid(x, out=None):
    out = np.tanh(np.multiply(x, 0.5, out=out), out=out)
    out += 1.0
    out *= 0.5
    return out


def _inputs(X, V):
    """Time-major flat inputs (T·N, D): one-hot rows for integer codes."""
    if np.issubdtype(X.dtype, np.integer):
        return np.eye(V)[X.T.reshape(-1)]
    N, T, D = X.shape
    return np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(T * N, D)


def _head(p, g, Hs, y, readout):
    """Loss of the readout of the states Hs (T, N, H); ∂loss/∂Hs (T, N, H) and the
    readout's gradient (into g) when g is given."""
    T, N, H = Hs.shape
    Wy, by = p["Wy"], p["by"]
    top = Hs[-1] if readout == "last" else Hs.reshape(T * N, H)
    P = top @ Wy
    P += by
    if np.issubdtype(y.dtype, np.integer):                    # softmax cross-entropy
        labels = y.T.reshape(-1)
        P -= P.max(axis=1, keepdims=True)
        E = np.exp(P)
        s = E.sum(axis=1, keepdims=True)
        rows = np.arange(len(labels))
        loss = float(np.mean(np.log(s[:, 0]) - P[rows, labels]))
        dP = E / s
        dP[rows, labels] -= 1.0
        dP /= len(labels)
    else:                                                     # mean squared error
        target = y if readout == "last" else np.ascontiguousarray(
            y.transpose(1, 0, 2)).reshape(T * N, -1)
        dP = P - target
        loss = float(np.mean(dP * dP))
        dP *= 2.0 / dP.size
    if g is None:
        return loss, None
    g["Wy"][...] = top.T @ dP
    g["by"][...] = dP.sum(axis=0)
    dH = np.zeros((T, N, H))
    if readout == "last":
        dH[-1] = dP @ Wy.T
    else:
        dH.reshape(T * N, H)[...] = dP @ Wy.T
    return loss, dH


def _gru_forward(p, Xf, T, N):
    W, U, b, c = p["W0"], p["U0"], p["b0"], p["c0"]
    H = U.shape[0]
    A = (Xf @ W).reshape(T, N, 3 * H)
    A += b
    hs = np.zeros((T + 1, N, H))
    G = np.empty((T, N, 3 * H))                               # saved r, z, n
    Un = np.empty((T, N, H))                                  # saved h U_n + c_n
    for t in range(T):
        u = hs[t] @ U
        u += c
        gt = G[t]
        np.add(A[t, :, :2 * H], u[:, :2 * H], out=gt[:, :2 * H])
        _sigmoid(gt[:, :2 * H], out=gt[:, :2 * H])
        Un[t] = u[:, 2 * H:]
        n = gt[:, 2 * H:]
        np.multiply(gt[:, :H], u[:, 2 * H:], out=n)
        n += A[t, :, 2 * H:]
        np.tanh(n, out=n)
        h = hs[t + 1]
        np.subtract(hs[t], n, out=h)                          # h' = n + z (h − n)
        h *= gt[:, H:2 * H]
        h += n
    return hs, G, Un


def _gru_backward(p, g, Xf, hs, G, Un, dH):
    U = p["U0"]
    T, N, H = dH.shape
    dA = np.empty((T, N, 3 * H))
    dU_pre = np.empty((T, N, 3 * H))
    dh = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh += dH[t]
        r, z, n = G[t, :, :H], G[t, :, H:2 * H], G[t, :, 2 * H:]
        da, du = dA[t], dU_pre[t]
        dn = da[:, 2 * H:]
        np.multiply(dh, 1.0 - z, out=dn)
        dn *= 1.0 - n * n
        dz = da[:, H:2 * H]
        np.subtract(hs[t], n, out=dz)
        dz *= dh
        dz *= z * (1.0 - z)
        dr = da[:, :H]
        np.multiply(dn, Un[t], out=dr)
        dr *= r * (1.0 - r)
        du[:, :2 * H] = da[:, :2 * H]
        np.multiply(dn, r, out=du[:, 2 * H:])
        dh *= z
        dh += du @ U.T
    dAf, dUf = dA.reshape(T * N, 3 * H), dU_pre.reshape(T * N, 3 * H)
    g["W0"][...] = Xf.T @ dAf
    g["b0"][...] = dAf.sum(axis=0)
    g["U0"][...] = hs[:-1].reshape(T * N, H).T @ dUf
    g["c0"][...] = dUf.sum(axis=0)


def _lstm_forward(p, Xf, T, N):
    W, U, b = p["W0"], p["U0"], p["b0"]
    H = U.shape[0]
    G = (Xf @ W).reshape(T, N, 4 * H)                         # becomes the saved gates
    G += b
    hs = np.zeros((T + 1, N, H))
    cs = np.zeros((T + 1, N, H))
    TC = np.empty((T, N, H))                                  # saved tanh c'
    for t in range(T):
        gt = G[t]
        gt += hs[t] @ U
        zg = np.tanh(gt[:, 2 * H:3 * H])
        _sigmoid(gt, out=gt)                                  # i, f, o (and g, replaced)
        gt[:, 2 * H:3 * H] = zg
        c = cs[t + 1]
        np.multiply(gt[:, H:2 * H], cs[t], out=c)
        c += gt[:, :H] * gt[:, 2 * H:3 * H]
        np.tanh(c, out=TC[t])
        np.multiply(gt[:, 3 * H:], TC[t], out=hs[t + 1])
    return hs, cs, G, TC


def _lstm_backward(p, g, Xf, hs, cs, G, TC, dH):
    U = p["U0"]
    T, N, H = dH.shape
    dZ = np.empty((T, N, 4 * H))
    dh = np.zeros((N, H))
    dc = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh += dH[t]
        i, f, gg, o = (G[t, :, k * H:(k + 1) * H] for k in range(4))
        tc, dz = TC[t], dZ[t]
        dc += dh * o * (1.0 - tc * tc)
        np.multiply(dc, gg, out=dz[:, :H])
        dz[:, :H] *= i * (1.0 - i)
        np.multiply(dc, cs[t], out=dz[:, H:2 * H])
        dz[:, H:2 * H] *= f * (1.0 - f)
        np.multiply(dc, i, out=dz[:, 2 * H:3 * H])
        dz[:, 2 * H:3 * H] *= 1.0 - gg * gg
        np.multiply(dh, tc, out=dz[:, 3 * H:])
        dz[:, 3 * H:] *= o * (1.0 - o)
        dc *= f
        dh = dz @ U.T
    dZf = dZ.reshape(T * N, 4 * H)
    g["W0"][...] = Xf.T @ dZf
    g["b0"][...] = dZf.sum(axis=0)
    g["U0"][...] = hs[:-1].reshape(T * N, H).T @ dZf


def _elman(p, g, Xf, T, N, y, readout):
    W, U, b = p["W0"], p["U0"], p["b0"]
    H = U.shape[0]
    hs = np.zeros((T + 1, N, H))
    A = (Xf @ W).reshape(T, N, H)
    A += b
    for t in range(T):
        z = hs[t] @ U
        z += A[t]
        np.tanh(z, out=hs[t + 1])
    loss, dH = _head(p, g, hs[1:], y, readout)
    if g is None:
        return loss
    dh = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dh += dH[t]
        dh *= 1.0 - hs[t + 1] * hs[t + 1]                    # tanh' = 1 − h²
        dH[t] = dh                                            # dH now holds dz
        dh = dh @ U.T
    dZf = dH.reshape(T * N, H)
    g["W0"][...] = Xf.T @ dZf
    g["b0"][...] = dZf.sum(axis=0)
    g["U0"][...] = hs[:-1].reshape(T * N, H).T @ dZf
    return loss


def _run(cell, pv, X, y, readout, out):
    p = pv.unflatten(pv.flat)
    g = None if out is None else pv.unflatten(out)
    V = p["W0"].shape[0]
    Xf = _inputs(X, V)
    N, T = X.shape[:2]
    if cell == "elman":
        return _elman(p, g, Xf, T, N, y, readout)
    if cell == "gru":
        hs, G, Un = _gru_forward(p, Xf, T, N)
        loss, dH = _head(p, g, hs[1:], y, readout)
        if g is not None:
            _gru_backward(p, g, Xf, hs, G, Un, dH)
    elif cell == "lstm":
        hs, cs, G, TC = _lstm_forward(p, Xf, T, N)
        loss, dH = _head(p, g, hs[1:], y, readout)
        if g is not None:
            _lstm_backward(p, g, Xf, hs, cs, G, TC, dH)
    else:
        raise ValueError(f"hand-written cells: elman, gru or lstm, not {cell!r}")
    return loss


def hand_grad(cell, pv, X, y, readout, out):
    """Loss and flat gradient (into ``out``) of a one-layer ``cell`` RNN, by hand."""
    return _run(cell, pv, X, y, readout, out)


def hand_loss(cell, pv, X, y, readout):
    """The loss alone (forward only), by hand."""
    return _run(cell, pv, X, y, readout, None)
