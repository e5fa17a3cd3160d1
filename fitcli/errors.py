"""Errors a user causes. The CLI turns each into one line on stderr and an exit code."""

from __future__ import annotations


class FitcliError(Exception):
    """Base of every error fitcli reports to a user (exit code 2 unless said otherwise)."""

    exit_code = 2


class ConfigError(FitcliError):
    """A config field is wrong: ``error: <field>: expected <expected>, got <got>``."""

    def __init__(self, field: str, expected: str, got=None, hint: str = ""):
        self.field, self.expected, self.got, self.hint = field, expected, got, hint
        msg = f"{field}: expected {expected}"
        if got is not None:
            msg += f", got {got!r}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class InputError(FitcliError):
    """A file or image the user gave is missing, unreadable or of the wrong shape."""


class FitFailed(FitcliError):
    """The fit itself failed (divergence, non-finite loss): exit code 1."""

    exit_code = 1
