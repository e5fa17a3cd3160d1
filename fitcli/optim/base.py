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

from ..errors import OptionError, did_you_mean

Closure = Callable[..., tuple[float, "np.ndarray | None"]]


@dataclass
class StepInfo:
    """What one iteration did (the fit loop logs it)."""

    loss: float               # objective at the new iterate (or the batch loss for sgd)
    grad_norm: float          # norm of the gradient (or prox-gradient mapping) there
    step: float               # step size taken
    nfev: int = 1             # function evaluations in this iteration
    ngev: int = 1             # gradient evaluations in this iteration
    stop: str | None = None   # set when the optimizer decides to stop (line search failed, ...)


class Optimizer:
    """Base class: validated hyper-parameters, flat state, ``step(closure)``.

    Subclasses set ``name`` and implement ``step``. Every keyword-only
    argument of a subclass's ``__init__`` (minus ``rng`` and ``n_samples``, which
    the fit loop supplies) is an option users may write in YAML under
    ``optimizer:``; its default is the documented default (the config reads both
    with :func:`fitcli.config.options_of`). ``__init__`` checks ranges and raises
    :class:`~fitcli.errors.OptionError` naming the bare option.
    """

    name = "optimizer"
    stochastic = False        # True: step() draws minibatches (needs n_samples)
    handles_nonsmooth = False  # True: takes Prox terms through set_nonsmooth(terms)

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


class Prox:
    """Protocol of a non-smooth term g(x) handed to proximal optimizers.

    ``value(x) -> float`` is g at the flat vector ``x`` (shape ``(n,)``) and
    ``prox(x, step) -> ndarray`` is ``argmin_z g(z) + ||z - x||² / (2 step)``,
    a new array of the shape and dtype of ``x``. Optimizers whose class attribute
    ``handles_nonsmooth`` is true receive a list of such terms through
    ``opt.set_nonsmooth(terms)``; for several terms the composition of their prox
    operators is used (exact when they commute, e.g. l1 with a box).
    """

    def value(self, x: np.ndarray) -> float:  # pragma: no cover - protocol
        raise NotImplementedError

    def prox(self, x: np.ndarray, step: float) -> np.ndarray:  # pragma: no cover - protocol
        raise NotImplementedError


# -- option validation: OptionError names the bare option; the config adds "optimizer." --
# Values arrive already coerced to the annotation by the config (``1e-3`` is a float by
# then), so these check types and ranges only and never parse strings.
def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool)


def check_number(name: str, value, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite float in [lo, hi] (open ends when asked); OptionError naming the option."""
    if not _is_number(value):
        raise OptionError(name, "a number", value)
    v = float(value)
    ok = np.isfinite(v)
    ok = ok and (lo is None or (v > lo if lo_open else v >= lo))
    ok = ok and (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        lb = "-inf" if lo is None else f"{lo:g}"
        ub = "inf" if hi is None else f"{hi:g}"
        rng = ("(" if lo_open or lo is None else "[") + f"{lb}, {ub}" + (
            ")" if hi_open or hi is None else "]")
        raise OptionError(name, f"a number in {rng}", value)
    return v


def check_int(name: str, value, *, lo: int = 1) -> int:
    """An integer >= lo."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise OptionError(name, f"an integer >= {lo}", value)
    return int(value)


def check_flag(name: str, value) -> bool:
    """true or false (YAML booleans only: 'yes' stays a string)."""
    if not isinstance(value, bool):
        raise OptionError(name, "true or false", value)
    return value


def check_step(value, rules: tuple[str, ...], name: str = "step") -> float | str:
    """A ``step:`` option: a positive number or one of the rule names ``rules``."""
    if isinstance(value, str) and value in rules:
        return value
    if not _is_number(value) or not np.isfinite(value) or value <= 0:
        expected = "a positive number" + (" or one of " + " | ".join(rules) if rules else "")
        raise OptionError(name, expected, value, did_you_mean(value, rules))
    return float(value)


def put_array(state: dict, key: str, value: np.ndarray | None) -> None:
    """Store an optional array in a flat state dict (absent key = None)."""
    if value is not None:
        state[key] = np.array(value, copy=True)


def get_array(state: dict, key: str, like: np.ndarray | None = None) -> np.ndarray | None:
    """Read an optional array back, in the dtype of ``like`` when given."""
    if key not in state:
        return None
    a = np.array(state[key], copy=True)
    return a.astype(like.dtype, copy=False) if like is not None else a


def grad_norm(g: np.ndarray) -> float:
    """Euclidean norm through BLAS (one pass, no temporary)."""
    return float(np.sqrt(np.dot(g, g)))


def is_finite(f: float, g: np.ndarray | None = None) -> bool:
    """True when the loss (and the gradient, when given) are finite."""
    if not np.isfinite(f):
        return False
    # One BLAS pass, no temporary: dot(g, g) is finite iff every element is, except that an
    # overflowing gradient (|g| > 1e154) also counts as non-finite, i.e. as divergence.
    return g is None or bool(np.isfinite(np.dot(g, g)))
