"""Objectives with known answers for studying optimizers (the ``testfn`` model kind).

Each factory returns a closure following the optimizer protocol,
``closure(x, batch=None, need_grad=True) -> (loss, grad)`` on a flat vector,
carrying attributes the optimizers and tests may use:

- ``start`` — the conventional initial point, shape ``(n,)``;
- ``x_star`` / ``f_star`` — the minimiser and minimum when known in closed form;
- ``quadratic = True`` — the objective is a quadratic (``gd`` step ``exact``);
- ``lipschitz`` — a Lipschitz constant of the gradient (1/L steps of nesterov, ista, fista);
- ``n_samples`` — the number of samples for stochastic optimizers (``batch`` indices);
- ``values(P)`` — E at each row of P (m, n), vectorised (quadratic, rosenbrock: level sets);
- ``hvp(x, v)`` — the Hessian-vector product ∇²E(x) v (for newton_cg).

Values and gradients are computed in the dtype of ``x`` (float32 stays float32).
The factories' keyword-only arguments are their options (``model.dim``, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError


def _cast(cache: dict, name: str, a: np.ndarray, dtype) -> np.ndarray:
    """``a`` in ``dtype``, converted once per dtype (no silent upcast of float32 runs)."""
    key = (name, np.dtype(dtype))
    if key not in cache:
        cache[key] = np.ascontiguousarray(a, dtype=dtype)
    return cache[key]


def quadratic(*, dim: int = 2, condition: float = 10.0, seed: int = 0) -> Callable:
    """E(x) = ½ (x − x*)ᵀ A (x − x*) with A = Q diag(λ) Qᵀ, spectrum in [1, κ].

    The eigenvalues are log-spaced from 1 to ``condition`` = κ (both ends present),
    Q is a random rotation and x* a random point, both drawn from ``seed``. Hence
    L = κ (``lipschitz``), μ = 1 (``mu``), minimum 0 at ``x_star``; ``start`` = 0.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise ConfigError("model.dim", "a positive integer", dim)
    kappa = float(condition)
    if not np.isfinite(kappa) or kappa < 1:
        raise ConfigError("model.condition", "a number >= 1", condition)
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q *= np.sign(np.diag(r))                         # Haar-distributed rotation
    lam = np.logspace(0.0, np.log10(kappa), dim) if dim > 1 else np.array([kappa])
    a = (q * lam) @ q.T
    a = 0.5 * (a + a.T)
    x_star = rng.standard_normal(dim)
    cache: dict = {}

    def closure(x, batch=None, need_grad=True):
        A, xs = _cast(cache, "A", a, x.dtype), _cast(cache, "xs", x_star, x.dtype)
        r = x - xs
        ar = A @ r
        return 0.5 * float(np.dot(r, ar)), (ar if need_grad else None)

    def values(P: np.ndarray) -> np.ndarray:
        """E at each row of P (m, n), vectorised (level-set plots)."""
        R = P - x_star
        return 0.5 * np.einsum("ij,ij->i", R @ a, R)

    def hvp(x, v):
        return _cast(cache, "A", a, x.dtype) @ v

    closure.values, closure.hvp = values, hvp
    closure.quadratic = True
    closure.lipschitz = float(lam.max())
    closure.mu = float(lam.min())
    closure.x_star, closure.f_star = x_star, 0.0
    closure.start = np.zeros(dim)
    closure.hessian = a
    return closure


def rosenbrock(*, dim: int = 2, a: float = 1.0, b: float = 100.0) -> Callable:
    """E(x) = Σᵢ b (x_{i+1} − xᵢ²)² + (a − xᵢ)²; minimum 0 at (a, a², …) for a = 1: all ones.

    ``start`` is the classic (−1.2, 1, −1.2, 1, …).
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 2:
        raise ConfigError("model.dim", "an integer >= 2", dim)

    def closure(x, batch=None, need_grad=True):
        x0, x1 = x[:-1], x[1:]
        t = x1 - x0 * x0
        u = a - x0
        f = float(b * np.dot(t, t) + np.dot(u, u))
        if not need_grad:
            return f, None
        g = np.zeros_like(x)
        g[:-1] = -4.0 * b * t * x0 - 2.0 * u
        g[1:] += 2.0 * b * t
        return f, g

    def values(P: np.ndarray) -> np.ndarray:
        """E at each row of P (m, n), vectorised (level-set plots)."""
        t = P[:, 1:] - P[:, :-1] ** 2
        return (b * t * t + (a - P[:, :-1]) ** 2).sum(axis=1)

    def hvp(x, v):
        """∇²E v: tridiagonal Hessian applied without forming it."""
        x0, x1 = x[:-1], x[1:]
        v0, v1 = v[:-1], v[1:]
        hv = np.zeros_like(x)
        # ∂²/∂x_i²: b(12 x_i² − 4 x_{i+1}) + 2 (for i < n−1), + 2b from the previous term
        hv[:-1] = (b * (12.0 * x0 * x0 - 4.0 * x1) + 2.0) * v0 - 4.0 * b * x0 * v1
        hv[1:] += 2.0 * b * v1 - 4.0 * b * x0 * v0
        return hv

    closure.values, closure.hvp = values, hvp
    start = np.ones(dim)
    start[::2] = -1.2
    closure.start = start
    if a == 1.0:
        closure.x_star, closure.f_star = np.ones(dim), 0.0
    return closure


def least_squares(A: np.ndarray, b: np.ndarray) -> Callable:
    """E(x) = ½ ‖A x − b‖², A of shape (m, n); ``lipschitz`` = ‖A‖₂², quadratic.

    With an l1 term (prox) this is the lasso. ``n_samples`` = m rows.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ConfigError("data", "A of shape (m, n) and b of shape (m,)",
                          f"{A.shape} and {b.shape}")
    cache: dict = {}

    def closure(x, batch=None, need_grad=True):
        Am, bm = _cast(cache, "A", A, x.dtype), _cast(cache, "b", b, x.dtype)
        if batch is not None:
            # ½‖A_B x − b_B‖² · m/|B|: an unbiased estimate of the full objective
            scale = A.shape[0] / len(batch)
            Am, bm = Am[batch], bm[batch]
        else:
            scale = 1.0
        r = Am @ x - bm
        f = 0.5 * scale * float(np.dot(r, r))
        return f, (scale * (Am.T @ r) if need_grad else None)

    def hvp(x, v):
        Am = _cast(cache, "A", A, x.dtype)
        return Am.T @ (Am @ v)

    closure.hvp = hvp
    closure.quadratic = True
    closure.lipschitz = float(np.linalg.norm(A, 2) ** 2)
    closure.n_samples = A.shape[0]
    closure.start = np.zeros(A.shape[1])
    return closure


def logistic_regression(X: np.ndarray, y: np.ndarray, *, l2: float = 1e-4) -> Callable:
    """Mean cross-entropy of a linear classifier plus (l2/2)‖W‖² (biases not penalised).

    X : (N, D) features; y : (N,) integer labels 0..K−1. For K = 2 the model is the
    binary logistic regression with parameters (w, b), n = D + 1; for K > 2 softmax
    regression with W (D, K) and b (K,), flattened as [W.ravel(), b], n = (D + 1) K.
    ``lipschitz`` bounds the Hessian norm: ‖[X 1]‖₂² / (4N) (binary) or / (2N) (softmax),
    plus l2. ``batch`` indices give the mean over those samples (plus the full l2).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ConfigError("data", "features (N, D) and labels (N,)", f"{X.shape}, {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ConfigError("data.target", "integer class labels 0..K-1", str(y.dtype))
    n, d = X.shape
    k = int(y.max()) + 1
    binary = k <= 2
    onehot = np.eye(k)[y]
    cache: dict = {}
    l2 = float(l2)

    def closure(x, batch=None, need_grad=True):
        Xc = _cast(cache, "X", X, x.dtype)
        if batch is not None:
            Xc = Xc[batch]
        m = Xc.shape[0]
        if binary:
            w, b = x[:-1], x[-1]
            z = Xc @ w + b
            t = _cast(cache, "y", y, x.dtype) if batch is None else y[batch].astype(x.dtype)
            # log(1 + e^z) − t z, stably
            f = float(np.mean(np.logaddexp(0, z) - t * z)) + 0.5 * l2 * float(np.dot(w, w))
            if not need_grad:
                return f, None
            p = 0.5 * (1.0 + np.tanh(0.5 * z))     # sigmoid without overflow
            r = (p - t) / m
            g = np.empty_like(x)
            g[:-1] = Xc.T @ r + l2 * w
            g[-1] = r.sum()
            return f, g
        W = x[:d * k].reshape(d, k)
        b = x[d * k:]
        z = Xc @ W + b
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
        T = _cast(cache, "T", onehot, x.dtype)
        T = T if batch is None else T[batch]
        f = float(np.mean(lse - np.einsum("ij,ij->i", z, T))) + 0.5 * l2 * float(
            np.dot(x[:d * k], x[:d * k]))
        if not need_grad:
            return f, None
        P = np.exp(z - lse[:, None])
        R = (P - T) / m
        g = np.empty_like(x)
        g[:d * k] = (Xc.T @ R + l2 * W).ravel()
        g[d * k:] = R.sum(axis=0)
        return f, g

    def hvp(x, v):
        """∇²E v on the full data: the directional derivative of the gradient along v."""
        Xc = _cast(cache, "X", X, x.dtype)
        if binary:
            z = Xc @ x[:-1] + x[-1]
            p = 0.5 * (1.0 + np.tanh(0.5 * z))
            r = p * (1.0 - p) * (Xc @ v[:-1] + v[-1]) / n
            out = np.empty_like(x)
            out[:-1] = Xc.T @ r + l2 * v[:-1]
            out[-1] = r.sum()
            return out
        z = Xc @ x[:d * k].reshape(d, k) + x[d * k:]
        P = np.exp(z - z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        dz = Xc @ v[:d * k].reshape(d, k) + v[d * k:]
        dP = P * (dz - np.einsum("ij,ij->i", P, dz)[:, None]) / n     # d softmax along dz
        out = np.empty_like(x)
        out[:d * k] = (Xc.T @ dP + l2 * v[:d * k].reshape(d, k)).ravel()
        out[d * k:] = dP.sum(axis=0)
        return out

    closure.hvp = hvp
    xa = np.hstack([X, np.ones((n, 1))])
    closure.lipschitz = float(np.linalg.norm(xa, 2) ** 2 / ((4 if binary else 2) * n) + l2)
    closure.n_samples = n
    closure.start = np.zeros(d + 1 if binary else (d + 1) * k)
    return closure


TESTFNS: dict[str, Callable] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "logistic_regression": logistic_regression,
    "least_squares": least_squares,
}
