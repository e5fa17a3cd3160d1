"""``fitcli train``, ``fitcli solve`` and ``fitcli compare``: fits by the one loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import FitcliError
from .common import (
    OutOpt,
    QuietOpt,
    Reporter,
    ResumeOpt,
    SeedOpt,
    SetOpt,
    cell,
    fail,
    load_config,
    note,
    out,
    report_end,
    run_dir_for,
)


def _fit(cfg, run_dir: Path, resume: Path | None, quiet: bool, command: str,
         output: Path | None = None) -> None:
    """Build, print the objective, run the one loop with a reporter, render the end."""
    from ..api import run
    from ..problem import build, iteration_budgets

    try:
        problem = build(cfg)
    except FitcliError as exc:
        raise fail(exc) from None
    if not quiet:
        out.print(f"objective: {problem.formula}", soft_wrap=True, markup=False)
        what = "resuming" if resume else "run folder"
        stages = problem.model.stages()
        staged = f", {len(stages)} stages" if len(stages) > 1 else ""
        samples = f", {problem.data.n_train} training samples" \
            if problem.data.X_train is not None else ""
        out.print(f"{what}: {run_dir}  ({problem.params.size} parameters, "
                  f"{cfg.resolved['optimizer']['type']}{staged}{samples})", markup=False)
    total = sum(iteration_budgets(problem))
    reporter = Reporter(quiet, total, command)
    try:
        result = run(cfg, run_dir, problem=problem, callback=reporter, resume=resume,
                     on_step=reporter.on_step, output=output)
    except FitcliError as exc:
        reporter.close()
        raise fail(exc) from None
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once, the last checkpoint stays
        reporter.close()
        from .common import err

        err.print(f"interrupted at once; the last periodic checkpoint (if any) is in {run_dir}")
        raise typer.Exit(130) from None
    finally:
        reporter.close()
    report_end(result.summary, run_dir, command)


def train(
    config: Annotated[Path | None, typer.Argument(help="The YAML config.")] = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
    resume: ResumeOpt = None,
) -> None:
    """Fit a config: log progress, write the run folder.

    Exit 0 done, 1 the fit failed (non-finite loss or gradient), 2 bad config
    or input, 130 interrupted (a checkpoint is written first).
    """
    try:
        cfg = load_config(config, set_, seed, resume)
        run_dir, msg = run_dir_for(cfg, out_dir, resume)
    except FitcliError as exc:
        raise fail(exc) from None
    if msg:
        note(msg)
    _fit(cfg, run_dir, resume, quiet, "train")


def solve(
    config: Annotated[Path | None, typer.Argument(help="A superres or registration config.")]
    = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
    resume: ResumeOpt = None,
    input_: Annotated[Path | None, typer.Option(
        "--input", help="A real observation instead of the config's (superres: a "
        "low-resolution image; registration: the moving image).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Also write the result image here (.png, .tif, .npy).")] = None,
    sweep: Annotated[str | None, typer.Option(
        "--sweep", help="KEY=v1,v2,...: one solve per value, e.g. "
        "regularization.0.weight=1e-4,1e-3,1e-2; a table and figure, the best marked.")]
    = None,
) -> None:
    """Image recovery (superres, registration): train with --input and --output.

    train plus the observation replaced by --input, the result image written to --output
    and the final comparison against the baseline. Exit codes as train.
    """
    from ..api import with_input
    from ..runfolder import check_writable

    try:
        cfg = load_config(config, set_, seed, resume)
        if not cfg.model_cls.solvable:
            kind = cfg.resolved["model"]["type"]
            raise FitcliError(f"model.type: expected an imaging model for `fitcli solve` "
                              f"(superres, registration), got {kind!r}; use `fitcli train`")
        if input_ is not None:
            cfg = with_input(cfg, input_)
        if output is not None:   # before the solve, not after it
            check_writable(output, "--output")
        run_dir, msg = run_dir_for(cfg, out_dir, resume)
        if sweep is not None:
            if resume is not None or output is not None:
                raise FitcliError("--sweep: not with --resume or --output (each value is its "
                                  "own run folder; resume one of them)")
            if msg:
                note(msg)
            _sweep(cfg, sweep, run_dir)
            return
    except FitcliError as exc:
        raise fail(exc) from None
    if msg:
        note(msg)
    _fit(cfg, run_dir, resume, quiet, "solve", output)


def _sweep(cfg, spec: str, run_dir: Path) -> None:
    """``fitcli solve --sweep KEY=v1,v2,...``: a table with the best value marked (the
    trials run by the sweep machinery, :mod:`fitcli.sweep`, one folder per value)."""
    from ..api import sweep
    from ..sweep import parse_values

    key, values = parse_values(spec)
    reporter = Reporter(True, cfg.stop["iterations"])
    try:
        res = sweep(cfg, key, values, run_dir, callback=reporter)
    finally:
        reporter.close()
    cols = ["value", *res.columns, "loss", "status"]
    table = Table(title=f"sweep of {key}")
    for col in (*cols, ""):
        table.add_column(col)
    for i, r in enumerate(res.rows):
        table.add_row(*(escape(cell(r.get(c))) for c in cols),
                      "[green]best[/green]" if i == res.best else "")
    out.print(table)
    if res.baseline:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in res.baseline.items())
        out.print(f"baseline: {shown}", markup=False)
    out.print(f"run folder: {run_dir} (sweep.csv, sweep.png)")
    if res.interrupted:
        out.print(f"interrupted: {len(res.rows)} of {len(values)} values run")
        raise typer.Exit(130)


def compare(
    config: Annotated[Path, typer.Argument(help="The YAML config whose objective to use.")],
    optimizers: Annotated[str, typer.Option(
        "--optimizers", help="Comma-separated specs: gd,lbfgs:history=5,sgd:step=0.1")],
    iterations: Annotated[int | None, typer.Option(
        min=1, help="Steps per optimizer (default: optimizer.iterations).")] = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
) -> None:
    """The same fit with several optimizers: a convergence figure and a table."""
    from ..compare import compare as run_compare
    from ..compare import plot_comparison
    from ..problem import make_closure
    from ..runfolder import write_json

    try:
        cfg = load_config(config, set_, seed)
        run_dir, msg = run_dir_for(cfg, out_dir, None)
        specs = [s.strip() for s in optimizers.split(",") if s.strip()]
        done = lambda r: quiet or out.print(f"{r.spec}: {r.status}", markup=False)  # noqa: E731
        result = run_compare(cfg, specs, iterations=iterations, callback=done)
    except FitcliError as exc:
        raise fail(exc) from None
    if msg:
        note(msg)
    run_dir.mkdir(parents=True, exist_ok=True)
    problem = result.problem
    full = make_closure(problem, include_nonsmooth=True)
    plot_comparison(result, run_dir / "compare.png",
                    closure=full if problem.params.size == 2 else None, title=cfg.name)
    write_json(run_dir / "compare.json", {"target": result.target, "f_ref": result.f_ref,
                                          "objective": problem.formula, "runs": result.table})
    table = Table(title=f"{cfg.name}: target loss {result.target:.6g}")
    cols = ("optimizer", "status", "final_loss", "iterations", "seconds", "evaluations",
            "iters_to_target", "seconds_to_target")
    for c in cols:
        table.add_column(c)
    for row in result.table:
        table.add_row(*(escape(cell(row[c])) for c in cols))
    out.print(table)
    out.print(f"figure: {run_dir / 'compare.png'}")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(solve)
    app.command()(compare)
