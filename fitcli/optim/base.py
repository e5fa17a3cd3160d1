"""The optimizer protocol shared by every method of the gradient-descent family.

An optimizer works on one flat parameter vector ``x`` (float64 or float32,
shape ``(n,)``); models keep their parameter tensors as views into that
buffer (:class:`ParamVector`), so flattening costs nothing and an update of
``x`` in place is an update of the model.

The objective reaches the optimizer as a *closure*::

    loss, grad = closure(x, batch=None, need_grad=True)

evaluated at any point ``x`` (line searches try points other than the
current one); ``grad`` is a new flat array of the same shape and dtype as
``x`` (``None`` when ``need_grad`` is false); ``batch`` is an integer index
array of samples for stochastic methods (``None``: the full objective).

``opt.step(closure) -> StepInfo`` performs one iteration, updating
``opt.x`` in place. ``state_dict()`` / ``load_state_dict()`` round-trip all
state (buffers, history, counters, generator) as a flat dict of numpy
arrays and numbers, so a checkpoint resumes bitwise the same trajectory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

Closure = Callable[..., tuple[float, "np.ndarray | None"]]


@dataclass
class StepInfo:
    """What one iteration did (the fit loop logs it)."""

    loss: float               # objective at the new iterate (or the batch loss for sgd)
    grad_norm: float          # norm of the gradient (or prox-gradient mapping) there
    step: float               # step size taken
    nfev: int = 1             # function evaluations in this iteration
    ngev: int = 1             # gradient evaluations in this iteration
    stop: str | None = None   # set when the optimizer itself decides to stop (e.g. line search failed)


class Optimizer:
    """Base class: validated hyper-parameters, flat state, ``step(closure)``.

    Subclasses set ``name`` and implement ``step``. Every keyword-only
    argument of a subclass's ``__init__`` is an option users may write in YAML
    under ``optimizer:``; its default is the documented default.
    """

    name = "optimizer"
    stochastic = False        # True: step() draws minibatches (needs n_samples)

    def __init__(self, x: np.ndarray, *, rng: np.random.Generator | None = None,
                 n_samples: int | None = None):
        if x.ndim != 1:
            raise ValueError("optimizer: x must be a flat parameter vector")
        self.x = x
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.n_samples = n_samples
        self.iteration = 0

    def step(self, closure: Closure) -> StepInfo:
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """All state needed to continue bitwise: arrays and numbers only."""
        return {"iteration": self.iteration, "rng": _rng_state(self.rng)}

    def load_state_dict(self, state: dict) -> None:
        self.iteration = int(state["iteration"])
        _set_rng_state(self.rng, state["rng"])


def _rng_state(rng: np.random.Generator) -> np.ndarray:
    """The generator's state as an array (for checkpoint.npz)."""
    import json
    return np.array(json.dumps(rng.bit_generator.state))


def _set_rng_state(rng: np.random.Generator, state) -> None:
    import json
    rng.bit_generator.state = json.loads(str(np.asarray(state)))


def check_positive(name: str, value, *, integer: bool = False, allow_zero: bool = False):
    """Validate a hyper-parameter; raise ConfigError naming it."""
    kind = "integer" if integer else "number"
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(
        value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        ok = value >= 0 if allow_zero else value > 0
    if not ok or not np.isfinite(value):
        bound = "non-negative" if allow_zero else "positive"
        raise ConfigError(f"optimizer.{name}", f"a {bound} {kind}", value)
    return value
