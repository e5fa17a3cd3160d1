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
    stop: str | None = None   # set when the optimizer decides to stop (line search failed, ...)


class Optimizer:
    """Base class: validated hyper-parameters, flat state, ``step(closure)``.

    Subclasses set ``name`` and implement ``step``. Every keyword-only
    argument of a subclass's ``__init__`` is an option users may write in YAML
    under ``optimizer:``; its default is the documented default.
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


# -- helpers shared by the optimizer family (added compatibly) ------------------------


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


def option_defaults(cls: type) -> dict:
    """The YAML options of an optimizer class: keyword-only ``__init__`` args and defaults.

    ``rng`` and ``n_samples`` are supplied by the fit loop, not by users, and are left out.
    """
    import inspect

    out = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.kind is p.KEYWORD_ONLY and p.name not in ("rng", "n_samples"):
            out[p.name] = p.default
    return out


def as_float(name: str, value) -> float:
    """A number from YAML: PyYAML reads ``1e-3`` as a string, so coerce numeric strings."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"optimizer.{name}", "a number", value) from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"optimizer.{name}", "a number", value)
    return float(value)


def check_number(name: str, value, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite float in [lo, hi] (open ends when asked); ConfigError naming the option."""
    v = as_float(name, value)
    ok = np.isfinite(v)
    ok = ok and (lo is None or (v > lo if lo_open else v >= lo))
    ok = ok and (hi is None or (v < hi if hi_open else v <= hi))
    if not ok:
        lb = "-inf" if lo is None else f"{lo:g}"
        ub = "inf" if hi is None else f"{hi:g}"
        rng = ("(" if lo_open or lo is None else "[") + f"{lb}, {ub}" + (
            ")" if hi_open or hi is None else "]")
        raise ConfigError(f"optimizer.{name}", f"a number in {rng}", value)
    return v


def check_int(name: str, value, *, lo: int = 1) -> int:
    """An integer >= lo (numeric strings such as '10' accepted)."""
    v = value
    if isinstance(v, str):
        try:
            v = int(v)
        except ValueError:
            raise ConfigError(f"optimizer.{name}", f"an integer >= {lo}", value) from None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ConfigError(f"optimizer.{name}", f"an integer >= {lo}", value)
    return int(v)


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """One of ``choices``; the error suggests the closest name."""
    if isinstance(value, str) and value in choices:
        return value
    import difflib

    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f"did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"optimizer.{name}", "one of " + " | ".join(choices), value, hint)


def check_step(value, rules: tuple[str, ...], name: str = "step") -> float | str:
    """A ``step:`` option: a positive number or one of the rule names ``rules``."""
    if isinstance(value, str) and value in rules:
        return value
    try:
        v = as_float(name, value)
    except ConfigError:
        v = None
    if v is None or not np.isfinite(v) or v <= 0:
        expected = "a positive number" + (" or one of " + " | ".join(rules) if rules else "")
        import difflib

        close = difflib.get_close_matches(str(value), rules, n=1)
        hint = f"did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"optimizer.{name}", expected, value, hint)
    return v


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
