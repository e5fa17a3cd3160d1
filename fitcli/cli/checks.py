"""``fitcli gradcheck`` and ``fitcli graph``: derivatives against finite differences, and
the computational graph of a config's objective."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import FitcliError, OptionError, check_choice
from .common import SetOpt, err, fail, out, warn

MODES = ("reverse", "forward", "all", "adjoint")
POINTS = ("init", "random", "both")


def gradcheck(
    config: Annotated[Path | None, typer.Argument(
        help="A config whose objective to check.")] = None,
    ops: Annotated[bool, typer.Option("--ops", help="Check every engine primitive.")] = False,
    mode: Annotated[str, typer.Option(
        help="reverse (VJPs), forward (JVPs): each against central differences; all: both, "
             "and reverse against forward directly; adjoint (--ops): the dot-product test "
             "of every linear primitive.")] = "reverse",
    point: Annotated[str, typer.Option(
        help="With CONFIG: init (the initial point), random (a seeded point near it) or "
             "both.")] = "both",
    eps: Annotated[float, typer.Option(help="Finite-difference step.")] = 1e-6,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-3,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-5,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Show the numeric and analytic values of every row's worst "
                                "element (always shown for a failure).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the random points and projections.")] = 0,
    set_: SetOpt = None,
) -> None:
    """Compare derivatives with central finite differences (float64).

    With --ops, every registered primitive (engine, imaging operators, warps,
    recurrent cells) on a shape battery (scalar, vector, matrix, broadcasting,
    batched matmul, ties). With CONFIG, the config's whole objective (data term +
    regularizers) per parameter block, and each smooth regularizer alone without its
    weight, on a tiny version of it (the model kind's tiny overrides, then --set,
    float64, at most 16 samples), at its initial point and a seeded random point.
    A row marked "kink" had a finite-difference stencil straddling a kink.
    Exit 0 when all pass, 1 otherwise.
    """
    if not ops and config is None:
        raise fail(FitcliError("gradcheck: give a CONFIG or --ops"))
    try:
        check_choice("--mode", mode, MODES)
        check_choice("--point", point, POINTS)
        for name, value in (("--eps", eps), ("--rtol", rtol), ("--atol", atol)):
            if not value >= 0 or (name == "--eps" and value == 0):
                raise OptionError(name, "a positive number", value)
        if mode == "adjoint" and config is not None:
            raise OptionError("--mode", "reverse, forward or all with a CONFIG (adjoint "
                              "tests the linear primitives: use it with --ops)", mode)
    except FitcliError as exc:
        raise fail(exc) from None
    tol = {"eps": eps, "atol": atol, "rtol": rtol}
    rule = (f"eps {eps:g}, pass if |num-ana| <= {atol:g} + {rtol:g}·|num|" if mode != "adjoint"
            else "both sides exact: agree to rounding")
    ok = True
    if ops:
        ok = _check_ops(mode, seed, tol, rule, verbose)
    if config is not None:
        from ..api import check

        try:
            results, formula = check(config, set_ or [], seed=seed, mode=mode, point=point, **tol)
        except FitcliError as exc:
            raise fail(exc) from None
        out.print(f"objective: {formula}", markup=False, soft_wrap=True)
        ok = _render(f"gradcheck {config} --mode {mode}: {len(results)} checks, {rule}",
                     results, verbose) and ok
    if not ok:
        raise typer.Exit(1)


def _check_ops(mode: str, seed: int, tol: dict, rule: str, verbose: bool) -> bool:
    """Every case of the battery (adjoint: of the linear primitives); a case that raises
    is one FAIL row naming the op, and the others still run."""
    from ..battery import all_cases, all_ops, missing_cases
    from ..engine import gradcheck as gc

    cases, table = all_cases(seed), all_ops()
    if mode == "adjoint":
        cases = [c for c in cases if table[c.op].linear]
    results = []
    for case in cases:
        results += gc.check(case.fn, case.args, mode, seed=seed, name=case.op, label=case.label,
                            **({} if mode == "adjoint" else tol))
    ok = _render(f"gradcheck --ops --mode {mode}: {len(results)} checks, {rule}", results,
                 verbose, summary=False)
    broken = [f"{name}: a registered primitive without a gradcheck case"
              for name in missing_cases(all_cases(seed))]
    for line in broken:
        err.print(f"[red]FAIL[/red] {escape(line)}", soft_wrap=True)
    n_fail = sum(not r.passed for r in results) + len(broken)
    out.print(f"{len(results) + len(broken) - n_fail} passed, {n_fail} failed")
    return ok and not broken


def _render(title: str, results, verbose: bool, summary: bool = True) -> bool:
    """The table (numeric/analytic values of each worst element with ``verbose``), a
    FAIL line per failure, a kink warning per failure at a kink; True when all passed."""
    table = Table(title=title, show_lines=False)
    cols = ["op", "input", "shapes", "method", "max abs err", "max rel err", "worst"]
    cols += ["numerical", "analytical"] if verbose else []
    for col in cols + [""]:
        table.add_column(col, justify="right" if "err" in col or "al" in col else "left")
    for r in results:
        mark = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        values = [f"{r.numerical:.10g}", f"{r.analytical:.10g}"] if verbose else []
        table.add_row(escape(r.name), escape(r.input), escape(r.label), r.method,
                      f"{r.max_abs_err:.2e}", f"{r.max_rel_err:.2e}", str(r.worst), *values,
                      mark + (" kink" if r.kinks else ""))
    out.print(table)
    failed = [r for r in results if not r.passed]
    for r in failed:
        err.print(f"[red]FAIL[/red] {escape(r.failure_line())}", soft_wrap=True)
    at_kink = [r for r in failed if r.kinks and not r.one_sided]
    if at_kink:  # the worst element is not itself at a kink, but some element is
        warn(f"{len(at_kink)} failing row(s) have finite-difference stencils straddling a "
             "kink (marked 'kink'): central differences there average the two sides; "
             "move the point or lower --eps")
    if summary:
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return not failed


def graph(
    config: Annotated[Path, typer.Argument(help="The YAML config.")],
    set_: SetOpt = None,
    out_file: Annotated[Path, typer.Option("--out", help="The .dot file (SVG beside it where "
                                                          "Graphviz is installed).")]
    = Path("graph.dot"),
) -> None:
    """The computational graph of a config's objective (DOT, SVG), at the model's tiny size."""
    from .. import graph as G
    from ..problem import build, load_tiny, objective
    from ..runfolder import check_writable

    try:
        check_writable(out_file, "--out")
        problem = build(load_tiny(config, set_ or []))
    except FitcliError as exc:
        raise fail(exc) from None
    pv, data = problem.params, problem.data
    leaves = pv.leaves(pv.flat)
    total, _ = objective(problem, leaves, data.X_train, data.y_train, True)
    names = {id(t): k for k, t in leaves.items()}
    summary = G.summarize(total, names)
    written = G.write(total, out_file, names)
    per_op = ", ".join(f"{k} {v}" for k, v in summary.per_op.items())
    out.print(f"{summary.nodes} ops ({per_op}); {summary.leaves} parameter blocks; depth "
              f"{summary.depth}", markup=False, soft_wrap=True)
    out.print("wrote " + ", ".join(map(str, written)), markup=False)


def register(app: typer.Typer) -> None:
    app.command()(gradcheck)
    app.command()(graph)
