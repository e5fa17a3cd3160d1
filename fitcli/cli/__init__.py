"""The command-line interface: read → build → run → render. The only package that prints.

One module per command group: ``fitting`` (train, solve, compare), ``sweep``, ``checks``
(gradcheck, graph), ``info`` (validate, list, schema), ``runs`` (sample) and ``bench``.
Each command reads its config, calls :mod:`fitcli.api` or the layer below, and renders
what comes back; a :class:`~fitcli.errors.FitcliError` becomes one red line and an exit
code.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # typer 0.2x vendors click as typer._click: its usage errors are not click's
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on the real click
    from click.exceptions import NoArgsIsHelpError, UsageError

from .. import runtime

# One BLAS thread unless the user says otherwise (set before anything imports numpy;
# typer, rich and .errors do not): our matrices are small (an MLP layer is ~1000 x 64),
# where OpenBLAS threads cost more than they give, and on a shared 2-core machine their
# spin-waiting made `fitcli train configs/mlp_spirals.yaml` 6x slower (18.8 s vs 3.1 s for
# 100 iterations, measured).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
runtime.tune_allocator_once()   # keep large freed blocks for reuse (glibc; fitcli/allocator.py)



@contextmanager
def _one_line():
    """click's usage errors (``--seed abc``, a missing argument, an unknown command) as one
    ``error:`` line, exit 2, like every other error of the tool; Python warnings (numpy,
    matplotlib) as one ``warning:`` line each instead of the raw two-line source echo. Not
    silenced (but deprecations): a numpy overflow can be the only sign of a doubtful result."""
    from .common import err, warn

    def show(message, category, filename, lineno, file=None, line=None):
        warn(f"{category.__name__}: {message} ({os.path.basename(filename)}:{lineno})")

    with warnings.catch_warnings():
        warnings.showwarning = show
        # Deprecations of libraries (imageio's DICOM plugin on every read) are for their
        # developers, not for someone running a fit; Python hides them outside __main__ too.
        for category in (DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        try:
            yield
        except NoArgsIsHelpError:
            raise   # prints the help
        except UsageError as exc:
            err.print(f"[red]error:[/red] {_escape(exc.format_message())} "
                      f"(see `{_escape(_help_cmd(exc))}`)", soft_wrap=True)
            raise typer.Exit(2) from None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(" ".join(text.split()))


def _help_cmd(exc: UsageError) -> str:
    """``fitcli train --help`` whatever the program name (``-c`` under ``python -c``)."""
    words = exc.ctx.command_path.split()[1:] if exc.ctx is not None else []
    return " ".join(["fitcli", *words, "--help"])


class _Group(TyperGroup):
    """The app's group: usage errors and warnings of every command go through _one_line."""

    def make_context(self, *args, **kwargs):
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line():
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="Fit models from a YAML config on fitcli's own reverse-mode AD engine.",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        from .common import out

        out.print(f"fitcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Fit models from a YAML config on fitcli's own reverse-mode AD engine."""


from . import bench, checks, fitting, info, runs, sweep  # noqa: E402  (they add their commands)

for _module in (fitting, sweep, checks, info, runs, bench):
    _module.register(app)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


__all__ = ["app", "main"]
