"""fitcli: model fitting from a YAML config on its own reverse-mode AD engine.

The Python surface is :mod:`fitcli.api`: ``fitcli.fit``, ``fitcli.solve``,
``fitcli.sweep``, ``fitcli.check``, ``fitcli.register``, ``fitcli.sample``,
``fitcli.predict``, ``fitcli.evaluate``, ``fitcli.load_fitted``; each runs inside
``fitcli.performance()`` (:mod:`fitcli.runtime`: one BLAS thread for the call, restored).
"""

__version__ = "0.1.0"

_API = ("FitResult", "build", "check", "evaluate", "fit", "load_fitted", "load_run",
        "predict", "register", "sample", "solve", "sweep")


def __getattr__(name: str):
    # Lazy, so that `import fitcli` (and the CLI's start) stays light: numpy and the engine
    # load on first use.
    if name in _API:
        from . import api

        return getattr(api, name)
    if name == "performance":
        from .runtime import performance

        return performance
    raise AttributeError(f"module 'fitcli' has no attribute {name!r}")
