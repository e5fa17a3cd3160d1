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
from typing import Annotated

import typer

from .. import runtime

# One BLAS thread unless the user says otherwise (set before anything imports numpy;
# typer, rich and .errors do not): our matrices are small (an MLP layer is ~1000 x 64),
# where OpenBLAS threads cost more than they give, and on a shared 2-core machine their
# spin-waiting made `fitcli train configs/mlp_spirals.yaml` 6x slower (18.8 s vs 3.1 s for
# 100 iterations, measured).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
runtime.tune_allocator_once()   # keep large freed blocks for reuse (glibc; fitcli/allocator.py)

app = typer.Typer(
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
