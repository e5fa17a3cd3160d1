"""fitcli: model fitting from a YAML config on its own reverse-mode AD engine."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy, so that `import fitcli` (and the CLI's start) stays light: numpy and the engine
    # load on first use. ``fitcli.fit`` is the callable module fitcli/fit.py (see there).
    if name == "fit":
        import importlib

        return importlib.import_module(".fit", __name__)
    if name in ("FitResult", "build"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'fitcli' has no attribute {name!r}")
