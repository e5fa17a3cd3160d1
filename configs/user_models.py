"""A user's own model kind, outside fitcli: a damped oscillator
x(t) = A · exp(-γ t) · cos(ω t + φ), fitted to noisy samples of one (configs/user_model.yaml).

fitcli loads this file from the path the config gives (``type: user_models.py:DampedOscillator``)
and uses the class like a built-in kind: the keyword-only arguments of ``__init__`` are the
``model:`` options, those of ``load_data`` the ``data:`` options; ``forward`` is written with
``fitcli.engine`` functions (numpy's names), so train, gradcheck, compare and sweep all work.
"""

from __future__ import annotations

import numpy as np

import fitcli.engine as fe
from fitcli.data.base import DataContext, Dataset
from fitcli.errors import ConfigError
from fitcli.models.base import Model

TRUE = {"amplitude": 1.5, "decay": 0.3, "omega": 2.0, "phase": 0.5}


def oscillator(t, amplitude, decay, omega, phase):
    return amplitude * np.exp(-decay * t) * np.cos(omega * t + phase)


def load_oscillation(ctx: DataContext, /, *, n: int = 200, duration: float = 10.0,
                     noise: float = 0.05, validation: float = 0.2) -> Dataset:
    """``n`` noisy samples of the true oscillator on [0, duration] (seeded by the config);
    a random ``validation`` fraction held out."""
    if n < 8:
        raise ConfigError("data.n", "at least 8 samples", n)
    t = np.sort(ctx.rng.uniform(0.0, duration, n))
    y = oscillator(t, **TRUE) + noise * ctx.rng.standard_normal(n)
    val = ctx.rng.random(n) < validation
    X = t[:, None].astype(ctx.dtype)
    return Dataset(name="damped oscillation", task="regression", X_train=X[~val],
                   y_train=y[~val].astype(ctx.dtype), X_val=X[val] if val.any() else None,
                   y_val=y[val].astype(ctx.dtype) if val.any() else None,
                   extras={"truth": TRUE})


class DampedOscillator(Model):
    """A · exp(-γ t) · cos(ω t + φ); γ = exp(log_decay) stays positive."""

    load_data = staticmethod(load_oscillation)
    default_loss = "mse"
    main_metric = "r2"
    tiny = {"data.n": 24}

    def __init__(self, data: Dataset, *, omega_guess: float = 1.8, decay_guess: float = 0.1):
        super().__init__(data)
        if omega_guess <= 0:
            raise ConfigError("model.omega_guess", "a positive angular frequency", omega_guess)
        self.omega_guess, self.decay_guess = omega_guess, decay_guess

    def param_shapes(self):
        return {"amplitude": (), "log_decay": (), "omega": (), "phase": ()}

    def init_params(self, params, rng):
        params["amplitude"][...] = np.abs(self.data.y_train).max()
        params["log_decay"][...] = np.log(self.decay_guess)
        params["omega"][...] = self.omega_guess
        params["phase"][...] = rng.uniform(-0.1, 0.1)

    def forward(self, params, inputs):
        t = inputs[:, 0]
        decay = fe.exp(params["log_decay"])
        return params["amplitude"] * fe.exp(-decay * t) * fe.cos(params["omega"] * t
                                                                  + params["phase"])

    def final_metrics(self, params):
        """The recovered physical constants next to the true ones."""
        got = {"amplitude": float(params["amplitude"]), "omega": float(params["omega"]),
               "decay": float(np.exp(params["log_decay"])), "phase": float(params["phase"])}
        return {"fitted": got, "true": dict(self.data.extras["truth"])}
