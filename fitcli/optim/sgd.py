"""Stochastic methods over minibatches of samples: sgd (with momentum and schedules), adam.

Each ``step`` draws the next minibatch of an epoch (a permutation of the
``n_samples`` sample indices drawn from ``self.rng`` at the start of every epoch;
the last batch of an epoch may be smaller) and calls ``closure(x, batch=idx)``.
The reported loss and gradient norm are those of the minibatch. Without samples
(``n_samples`` is None, e.g. an image objective) every step uses the full objective.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check_choice
from .base import (
    Closure,
    Optimizer,
    StepInfo,
    check_flag,
    check_int,
    check_number,
    check_step,
    get_array,
    grad_norm,
    is_finite,
    put_array,
)

SCHEDULES = ("constant", "step", "cosine")


class Minibatches:
    """Epoch-wise reshuffled minibatch indices; state is (perm, pos, epoch)."""

    def __init__(self, n_samples: int | None, batch_size: int, rng: np.random.Generator):
        self.n, self.batch_size, self.rng = n_samples, batch_size, rng
        self.perm: np.ndarray | None = None
        self.pos = 0
        self.epoch = 0

    def next(self) -> np.ndarray | None:
        if self.n is None:
            return None
        if self.perm is None or self.pos >= self.n:
            if self.perm is not None:
                self.epoch += 1
            self.perm = self.rng.permutation(self.n)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += len(idx)
        return idx

    def state(self, state: dict) -> None:
        state.update(batch_pos=self.pos, epoch=self.epoch)
        put_array(state, "batch_perm", self.perm)

    def load(self, state: dict) -> None:
        self.pos, self.epoch = int(state["batch_pos"]), int(state["epoch"])
        self.perm = get_array(state, "batch_perm")


class Schedule:
    """Step size at iteration k: constant, step decay τ·decay^⌊k/decay_every⌋, or cosine
    τ_min + ½(τ − τ_min)(1 + cos(π min(k, period)/period))."""

    def __init__(self, base: float, schedule: str, decay: float, decay_every: int,
                 period: int, min_step: float):
        self.base, self.kind = base, check_choice("schedule", schedule, SCHEDULES, " | ")
        self.decay = check_number("decay", decay, lo=0.0, hi=1.0, lo_open=True)
        self.decay_every = check_int("decay_every", decay_every)
        self.period = check_int("period", period)
        self.min_step = check_number("min_step", min_step, lo=0.0, hi=base)

    def __call__(self, k: int) -> float:
        if self.kind == "step":
            return self.base * self.decay ** (k // self.decay_every)
        if self.kind == "cosine":
            c = 0.5 * (1.0 + math.cos(math.pi * min(k, self.period) / self.period))
            return self.min_step + (self.base - self.min_step) * c
        return self.base


def _batch_stop(f, k: int) -> StepInfo:
    return StepInfo(float(f), float("nan"), 0.0, 1, 1,
                    stop=f"non-finite loss or gradient on the minibatch of iteration {k} "
                    "(step too large?); kept the last finite iterate")


class SGD(Optimizer):
    """Minibatch stochastic gradient descent with (Nesterov) momentum.

    v ← μ v + g,  x ← x − τ_k v   (``nesterov``: x ← x − τ_k (g + μ v)), as in PyTorch.

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float            base step τ (default 0.01)
    batch_size : int        samples per minibatch (default 32)
    momentum : float        μ in [0, 1) (default 0)
    nesterov : bool         Nesterov's look-ahead form of momentum (default false)
    schedule : str          constant | step | cosine (default constant)
    decay, decay_every      step schedule: multiply τ by ``decay`` every ``decay_every`` steps
    period, min_step        cosine schedule: τ goes from ``step`` to ``min_step`` in ``period``
    """

    name = "sgd"
    stochastic = True

    def __init__(self, x, *, step: float = 0.01, batch_size: int = 32, momentum: float = 0.0,
                 nesterov: bool = False, schedule: str = "constant", decay: float = 0.1,
                 decay_every: int = 1000, period: int = 1000, min_step: float = 0.0,
                 rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        tau = check_step(step, ())
        self.schedule = Schedule(tau, schedule, decay, decay_every, period, min_step)
        self.batches = Minibatches(n_samples, check_int("batch_size", batch_size), self.rng)
        self.momentum = check_number("momentum", momentum, lo=0.0, hi=1.0, hi_open=True)
        self.nesterov = check_flag("nesterov", nesterov)
        self.v: np.ndarray | None = None

    def step(self, closure: Closure) -> StepInfo:
        idx = self.batches.next()
        f, g = closure(self.x, batch=idx)
        if not is_finite(f, g):
            return _batch_stop(f, self.iteration)
        tau = self.schedule(self.iteration)
        gn = grad_norm(g)
        if self.momentum > 0:
            if self.v is None:
                self.v = g.copy()
            else:
                self.v *= self.momentum
                self.v += g
            if self.nesterov:
                g += self.momentum * self.v       # g is ours (a new array per call)
            else:
                g = self.v
        self.x -= tau * g
        self.iteration += 1
        return StepInfo(float(f), gn, tau, 1, 1)

    def state_dict(self) -> dict:
        state = super().state_dict()
        self.batches.state(state)
        put_array(state, "v", self.v)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.batches.load(state)
        self.v = get_array(state, "v", self.x)


class Adam(Optimizer):
    """Adam (Kingma & Ba) on minibatches, with optional decoupled weight decay (AdamW).

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  x ← x − τ_k m̂ / (√v̂ + ε) − τ_k λ x,
    with the bias corrections m̂ = m/(1−β₁ᵏ), v̂ = v/(1−β₂ᵏ).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float            τ (default 0.001)
    beta1, beta2 : float    moment decays (default 0.9, 0.999)
    eps : float             (default 1e-8)
    weight_decay : float    λ (default 0)
    batch_size, schedule, decay, decay_every, period, min_step : as sgd
    """

    name = "adam"
    stochastic = True

    def __init__(self, x, *, step: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, batch_size: int = 32,
                 schedule: str = "constant", decay: float = 0.1, decay_every: int = 1000,
                 period: int = 1000, min_step: float = 0.0, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        tau = check_step(step, ())
        self.schedule = Schedule(tau, schedule, decay, decay_every, period, min_step)
        self.batches = Minibatches(n_samples, check_int("batch_size", batch_size), self.rng)
        self.beta1 = check_number("beta1", beta1, lo=0.0, hi=1.0, hi_open=True)
        self.beta2 = check_number("beta2", beta2, lo=0.0, hi=1.0, hi_open=True)
        self.eps = check_number("eps", eps, lo=0.0, lo_open=True)
        self.weight_decay = check_number("weight_decay", weight_decay, lo=0.0)
        self.m = np.zeros_like(x)
        self.v = np.zeros_like(x)

    def step(self, closure: Closure) -> StepInfo:
        idx = self.batches.next()
        f, g = closure(self.x, batch=idx)
        if not is_finite(f, g):
            return _batch_stop(f, self.iteration)
        k = self.iteration + 1
        tau = self.schedule(self.iteration)
        gn = grad_norm(g)
        self.m *= self.beta1
        self.m += (1.0 - self.beta1) * g
        self.v *= self.beta2
        g *= g                                   # g is ours: reuse it for g²
        self.v += (1.0 - self.beta2) * g
        denom = np.sqrt(self.v)
        denom *= 1.0 / math.sqrt(1.0 - self.beta2 ** k)
        denom += self.eps
        if self.weight_decay > 0:
            self.x *= 1.0 - tau * self.weight_decay
        self.x -= (tau / (1.0 - self.beta1 ** k)) * self.m / denom
        self.iteration = k
        return StepInfo(float(f), gn, tau, 1, 1)

    def state_dict(self) -> dict:
        state = super().state_dict()
        self.batches.state(state)
        state.update(m=self.m.copy(), v=self.v.copy())
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.batches.load(state)
        self.m = get_array(state, "m", self.x)
        self.v = get_array(state, "v", self.x)


class SVRG(Optimizer):
    """Stochastic variance-reduced gradient (Johnson & Zhang, 2013).

    Every ``epoch_length`` steps the full gradient μ = ∇E(x̃) is taken at a snapshot x̃;
    each step then moves along the unbiased, variance-reduced estimate
    g = ∇E_B(x) − ∇E_B(x̃) + μ on a minibatch B (two minibatch evaluations a step).

    Parameters (YAML ``optimizer:`` keys)
    ----------
    step : float or str     τ, or ``lipschitz`` (default): τ = 1/(4L) with L the
                            objective's ``lipschitz`` attribute or a secant estimate
    batch_size : int        samples per minibatch (default 32)
    epoch_length : int      steps between snapshots (default: 2 · n_samples / batch_size)
    """

    name = "svrg"
    stochastic = True

    def __init__(self, x, *, step: float | str = "lipschitz", batch_size: int = 32,
                 epoch_length: int | None = None, rng=None, n_samples=None):
        super().__init__(x, rng=rng, n_samples=n_samples)
        self.rule = check_step(step, ("lipschitz",))
        bs = check_int("batch_size", batch_size)
        self.batches = Minibatches(n_samples, bs, self.rng)
        default = max(1, 2 * (n_samples or bs) // bs)
        self.epoch_length = default if epoch_length is None else check_int(
            "epoch_length", epoch_length)
        self.snapshot: np.ndarray | None = None
        self.mu: np.ndarray | None = None
        self.inner = 0
        self.tau = self.rule if isinstance(self.rule, float) else 0.0

    def step(self, closure: Closure) -> StepInfo:
        nfev = 0
        if self.snapshot is None or self.inner >= self.epoch_length:
            f_full, mu = closure(self.x)
            nfev += 1
            if not is_finite(f_full, mu):
                return _batch_stop(f_full, self.iteration)
            self.snapshot, self.mu, self.inner = self.x.copy(), mu, 0
            if self.tau == 0.0:
                L = float(getattr(closure, "lipschitz", 0.0))
                if L <= 0:
                    from .linesearch import estimate_lipschitz
                    L, n = estimate_lipschitz(closure, self.x, mu)
                    nfev += n
                self.tau = 0.25 / L
        idx = self.batches.next()
        f, g = closure(self.x, batch=idx)
        _, g_snap = closure(self.snapshot, batch=idx)
        nfev += 2
        if not is_finite(f, g):
            return _batch_stop(f, self.iteration)
        g -= g_snap
        g += self.mu
        gn = grad_norm(g)
        self.x -= self.tau * g
        self.inner += 1
        self.iteration += 1
        return StepInfo(float(f), gn, self.tau, nfev, nfev)

    def state_dict(self) -> dict:
        state = super().state_dict()
        self.batches.state(state)
        state.update(inner=self.inner, tau=self.tau)
        put_array(state, "snapshot", self.snapshot)
        put_array(state, "mu", self.mu)
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.batches.load(state)
        self.inner, self.tau = int(state["inner"]), float(state["tau"])
        self.snapshot = get_array(state, "snapshot", self.x)
        self.mu = get_array(state, "mu", self.x)
