"""The command-line interface: read → build → run → render. The only module that prints."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .errors import FitcliError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Fit models from a YAML config on fitcli's own reverse-mode AD engine.",
    pretty_exceptions_enable=False,
)
# Wide enough for tables when output goes to a file or a pipe (rich's default there is 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"fitcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Fit models from a YAML config on fitcli's own reverse-mode AD engine."""


def fail(exc: FitcliError) -> typer.Exit:
    """One red line on stderr; the exit code the error carries."""
    err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    return typer.Exit(exc.exit_code)


def _render_checks(title: str, results) -> bool:
    table = Table(title=title, show_lines=False)
    for col in ("op", "input", "shapes", "method", "max abs err", "max rel err", "worst", ""):
        table.add_column(col, justify="right" if "err" in col else "left")
    for r in results:
        mark = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        table.add_row(r.name, r.input, r.label, r.method, f"{r.max_abs_err:.2e}",
                      f"{r.max_rel_err:.2e}", str(r.worst), mark)
    out.print(table)
    failed = [r for r in results if not r.passed]
    for r in failed:
        err.print(f"[red]FAIL[/red] {r.failure_line()}", soft_wrap=True)
    return not failed


@app.command()
def gradcheck(
    config: Annotated[Path | None, typer.Argument(help="A config whose objective to check.")] = None,
    ops: Annotated[bool, typer.Option("--ops", help="Check every engine primitive.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the random points and projections.")] = 0,
) -> None:
    """Compare reverse-mode gradients with central finite differences (float64).

    With --ops, every primitive of the engine on a shape battery (scalar,
    vector, matrix, broadcasting, batched matmul). Exit 0 when all pass, 1 otherwise.
    """
    from .engine import gradcheck as gc
    from .engine.cases import make_cases

    if not ops and config is None:
        raise fail(FitcliError("gradcheck: give a CONFIG or --ops"))
    if ops:
        results = []
        for case in make_cases(seed):
            results += gc.check_grad(case.fn, case.args, name=case.op, label=case.label)
        ok = _render_checks(
            f"gradcheck --ops: {len(results)} checks, eps {gc.EPS:g}, "
            f"pass if |num-ana| <= {gc.ATOL:g} + {gc.RTOL:g}·|num|", results)
        n_fail = sum(not r.passed for r in results)
        out.print(f"{len(results) - n_fail} passed, {n_fail} failed")
        if not ok:
            raise typer.Exit(1)
    if config is not None:
        raise fail(FitcliError(f"{config}: checking a config's objective needs `fitcli train`"
                               " support, which is not in this version"))


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
