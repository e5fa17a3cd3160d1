"""``fitcli gradcheck`` and ``fitcli graph``: derivatives against finite differences, and
the computational graph of a config's objective."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import FitcliError
from .common import SetOpt, err, fail, out, render_checks


def gradcheck(
    config: Annotated[Path | None, typer.Argument(
        help="A config whose objective to check.")] = None,
    ops: Annotated[bool, typer.Option("--ops", help="Check every engine primitive.")] = False,
    mode: Annotated[str, typer.Option(
        help="reverse (VJPs), forward (JVPs) or all: each against central differences.")
    ] = "reverse",
    seed: Annotated[int, typer.Option(help="Seed of the random points and projections.")] = 0,
    set_: SetOpt = None,
) -> None:
    """Compare derivatives with central finite differences (float64).

    With --ops, every registered primitive (engine, imaging operators, warps,
    recurrent cells) on a shape battery (scalar, vector, matrix, broadcasting,
    batched matmul). With CONFIG, the config's whole objective (data term +
    regularizers) per parameter block, on a tiny version of it (the model
    kind's tiny overrides, float64, at most 16 samples). --mode forward checks
    forward-mode JVPs, --mode all both modes (the three-way agreement).
    Exit 0 when all pass, 1 otherwise.
    """
    from ..engine import gradcheck as gc

    if not ops and config is None:
        raise fail(FitcliError("gradcheck: give a CONFIG or --ops"))
    if mode not in ("reverse", "forward", "all"):
        raise fail(FitcliError(f"--mode: expected one of reverse, forward, all, got {mode!r}"))
    rule = f"eps {gc.EPS:g}, pass if |num-ana| <= {gc.ATOL:g} + {gc.RTOL:g}·|num|"
    ok = True
    if ops:
        from ..battery import all_cases, missing_cases
        from ..engine import EngineError

        cases = all_cases(seed)
        results, broken = [], []
        for case in cases:
            try:
                if mode in ("reverse", "all"):
                    results += gc.check_grad(case.fn, case.args, name=case.op, label=case.label)
                if mode in ("forward", "all"):
                    results += gc.check_jvp(case.fn, case.args, name=case.op, label=case.label)
            except EngineError as exc:  # e.g. a primitive without a forward-mode rule
                broken.append(f"{case.op} {case.label}: {exc}")
        ok = render_checks(f"gradcheck --ops --mode {mode}: {len(results)} checks, {rule}",
                            results)
        broken += [f"{name}: a registered primitive without a gradcheck case"
                   for name in missing_cases(cases)]
        for line in broken:
            err.print(f"[red]FAIL[/red] {escape(line)}", soft_wrap=True)
        ok = ok and not broken
        n_fail = sum(not r.passed for r in results) + len(broken)
        out.print(f"{len(results) - n_fail} passed, {n_fail} failed")
    if config is not None:
        from ..api import check

        try:
            results, formula = check(config, set_ or [], seed=seed, mode=mode)
        except FitcliError as exc:
            raise fail(exc) from None
        out.print(f"objective: {formula}", markup=False, soft_wrap=True)
        ok = render_checks(f"gradcheck {config} --mode {mode}: {len(results)} checks, {rule}",
                            results) and ok
        n_fail = sum(not r.passed for r in results)
        out.print(f"{len(results) - n_fail} passed, {n_fail} failed")
    if not ok:
        raise typer.Exit(1)


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

    try:
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
