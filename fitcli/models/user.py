"""A user's own model kind from a Python file the config names:
``model: {type: my_models.py:Quadratic, ...}``.

The file is loaded from that path only (relative to the config's folder; an absolute
path is taken as is), never from ``sys.path``, under a module name of its own, once per
version of the file (a sweep or a compare resolving the config again gets the same
class). The class follows the :class:`~fitcli.models.base.Model` protocol like the
built-in kinds: its keyword-only ``__init__`` arguments are the YAML options under
``model:``, its ``load_data``'s those under ``data:``.

Errors in the user's code are reported as theirs, one line with their file and line:
``model.type: my_models.py:12: NameError: name 'np' is not defined`` — at import, and
later when fitcli calls one of the class's own methods (``forward``, ``init_params``, ...).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import sys
import traceback
import typing
from pathlib import Path

from ..errors import ConfigError, FitcliError, did_you_mean
from .base import Model

__all__ = ["UserCodeError", "is_user_spec", "load_user_model"]

# the protocol methods fitcli calls, wrapped so that an error inside names the user's line
_CALLED = ("__init__", "param_shapes", "init_params", "regularized", "forward", "data_term",
           "metrics", "param_metrics", "save_outputs", "final_metrics", "warnings",
           "result_array", "score")
_CACHE: dict[tuple, type] = {}


class UserCodeError(FitcliError):
    """An exception raised by the code of a user's model file, located in that file."""


def is_user_spec(name) -> bool:
    """``path/to/file.py:ClassName``: a user's model rather than a built-in kind."""
    return isinstance(name, str) and ".py:" in name


def _where(exc: BaseException, path: Path, shown: str) -> str:
    """``file:line: Type: message`` at the deepest frame inside the user's file."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        return f"{shown}:{exc.lineno}: SyntaxError: {exc.msg}"
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    loc = f"{shown}:{line}" if line is not None else shown
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return f"{loc}: {type(exc).__name__}: {msg}".rstrip(": ")


def _import(path: Path, shown: str, field: str):
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"fitcli_user_model_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(field, "a Python source file (.py)", shown)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is theirs, reported as such
        sys.modules.pop(name, None)
        raise UserCodeError(f"{field}: {_where(exc, path, shown)}") from None
    return module


def _guard(fn, path: Path, shown: str, field: str):
    """``fn`` with any exception of the user's code turned into one located line."""
    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FitcliError:
            raise
        except Exception as exc:  # the user's code: any error is theirs
            raise UserCodeError(f"{field}: {_where(exc, path, shown)}") from None
    guarded.__signature__ = inspect.signature(fn)      # the YAML options come from it
    try:
        guarded.__annotations__ = typing.get_type_hints(fn)  # resolved in the user's module
    except Exception:  # unresolvable annotations: the options fall back to the defaults
        guarded.__annotations__ = {}
    return guarded


def _guarded_class(cls: type, spec: str, path: Path, shown: str, field: str) -> type:
    own = {k for c in cls.__mro__ if c.__module__ == cls.__module__ for k in vars(c)}
    body: dict = {"name": spec, "__module__": cls.__module__, "__doc__": cls.__doc__,
                  "__qualname__": cls.__qualname__}
    for key in _CALLED:
        if key in own and callable(getattr(cls, key, None)):
            body[key] = _guard(getattr(cls, key), path, shown, field)
    body["load_data"] = staticmethod(_guard(cls.load_data, path, shown, "data"))
    return type(cls.__name__, (cls,), body)


def load_user_model(spec: str, base_dir: str | Path, field: str = "model.type") -> type:
    """The Model subclass ``spec`` = ``file.py:ClassName`` names, the file relative to
    ``base_dir``; one-line errors for a missing file or class or a failing import."""
    shown, _, cls_name = spec.rpartition(":")
    path = Path(shown).expanduser()
    path = (path if path.is_absolute() else Path(base_dir) / path).resolve()
    if not path.is_file():
        raise ConfigError(field, f"a Python file relative to the config's folder "
                          f"({Path(base_dir)}), then ':ClassName'", spec, "no such file")
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, cls_name)
    if key in _CACHE:
        return _CACHE[key]
    module = _import(path, shown, field)
    models = sorted(k for k, v in vars(module).items()
                    if inspect.isclass(v) and issubclass(v, Model) and v is not Model)
    cls = getattr(module, cls_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Model)):
        found = ", ".join(models) or "none"
        hint = did_you_mean(cls_name, models) or f"Model subclasses in {shown}: {found}"
        what = "is not a subclass of fitcli.models.base.Model" if cls is not None else \
            "has no such class"
        raise ConfigError(field, f"a Model subclass defined in {shown}", cls_name,
                          f"{shown} {what}; {hint}")
    if not callable(getattr(cls, "load_data", None)):
        raise ConfigError(field, f"{cls_name} with a load_data(ctx, /, **data_options) "
                          "(the Model protocol: fitcli/models/base.py)", spec)
    _CACHE[key] = _guarded_class(cls, spec, path, shown, field)
    return _CACHE[key]
