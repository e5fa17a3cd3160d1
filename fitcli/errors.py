"""Errors a user causes. The CLI turns each into one line on stderr and an exit code.

Validation vocabulary: a component (optimizer, model, loss, regularizer) knows the names
of its own options but not where it sits in a config, so it raises :class:`OptionError`
naming the bare option (``step``); the config, which built it from ``optimizer:``,
re-raises that as a :class:`ConfigError` on the dotted path (``optimizer.step``) with
:meth:`OptionError.at`. :func:`check_choice` and :func:`did_you_mean` are the one
implementation of "one of these names" and its suggestion.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def excerpt(value, limit: int = 80) -> str:
    """A bounded repr of a user's value for a message: a YAML alias bomb or a 1 GB
    string shows as its first few items/characters, never expanded in full."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class FitcliError(Exception):
    """Base of every error fitcli reports to a user (exit code 2 unless said otherwise)."""

    exit_code = 2


class ConfigError(FitcliError):
    """A config field is wrong: ``error: <field>: expected <expected>, got <got>``."""

    def __init__(self, field: str, expected: str, got=None, hint: str = ""):
        self.field, self.expected, self.got, self.hint = field, expected, got, hint
        msg = f"{field}: expected {expected}"
        if got is not None:
            msg += f", got {excerpt(got)}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class OptionError(ConfigError):
    """A component's own option is wrong; ``field`` is the bare option name (``step``).

    A ConfigError so that a component built outside a config (a test, the library API)
    still reports one clean line; whoever knows the component's section re-raises it
    with :meth:`at`.
    """

    @property
    def option(self) -> str:
        return self.field

    def at(self, section: str) -> ConfigError:
        """The same error on the dotted path ``<section>.<option>``."""
        return ConfigError(f"{section}.{self.field}", self.expected, self.got, self.hint)


class InputError(FitcliError):
    """A file or image the user gave is missing, unreadable or of the wrong shape."""


class FitFailed(FitcliError):
    """The fit itself failed (divergence, non-finite loss): exit code 1."""

    exit_code = 1


def did_you_mean(value, choices: Iterable) -> str:
    """``"did you mean 'armijo'?"`` for the closest of ``choices`` to ``value``, or ``""``."""
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or len(value) > 200:   # nothing to suggest for a list
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}?" if close else ""


def check_choice(option: str, value, choices: Iterable, sep: str = ", "):
    """``value`` when it is one of ``choices``; else an OptionError with a suggestion."""
    choices = tuple(choices)
    if isinstance(value, str) and value in choices:
        return value
    raise OptionError(option, "one of " + sep.join(map(str, choices)), value,
                      did_you_mean(value, choices))
