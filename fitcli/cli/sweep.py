"""``fitcli sweep CONFIG``: many fits of one config (train or solve), each an ordinary run
folder under the sweep folder; a line per finished trial, the table with the best marked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import FitcliError
from .common import QuietOpt, SeedOpt, SetOpt, cell, err, fail, load_config, out, warn

SHOWN = 40   # rows of the table printed; sweep.csv has them all


def _line(result: dict, table, quiet: bool, total: int) -> None:
    if quiet:
        return
    m = table.metric
    from ..sweep.table import metric_of

    value = metric_of(result, m) if m else None
    shown = f"  {m} {value:.5g}" if isinstance(value, float | int) else ""
    when = "finished earlier" if result.get("skipped") else f"{result.get('wall') or 0:.1f} s"
    resumed = f", resumed at {result['resumed_from']}" if result.get("resumed_from") else ""
    params = "  ".join(f"{k}={v}" for k, v in result["params"].items())
    status = result["status"]
    if status == "error":
        status = f"error: {result.get('error', '')}"
    out.print(f"[{len(table.rows)}/{total}] {result['name']}  {params}  {status}{shown}  "
              f"({when}{resumed})", markup=False, soft_wrap=True)


def _render(table, folder: Path) -> None:
    cols = [c for c in table.columns if c not in ("error", "train_loss")][:10]
    t = Table(title=f"sweep: {len(table.rows)} trials, {table.metric or 'no metric'} "
                    f"({table.mode} is best)")
    for c in (*cols, ""):
        t.add_column(c)
    order = list(range(len(table.rows)))
    if len(order) > SHOWN and table.metric:     # the best ones first when cut
        def key(i):
            v = table.rows[i].get(table.metric)
            return (v is None, -v if table.mode == "max" and v is not None else v or 0)
        order = sorted(order, key=key)[:SHOWN]
    for i in order:
        r = table.rows[i]
        t.add_row(*(escape(cell(r.get(c))) for c in cols),
                  "[green]best[/green]" if i == table.best else "")
    out.print(t)
    if len(order) < len(table.rows):
        out.print(f"... {len(table.rows) - len(order)} more rows in sweep.csv", markup=False)
    if table.best is not None:
        b = table.best_row
        params = "  ".join(f"{k}={b[k]}" for k in table.keys)
        out.print(f"best: {b['trial']}  {params}  {table.metric} {b[table.metric]:.6g}",
                  markup=False)
    out.print(f"sweep folder: {folder} (sweep.csv, sweep.png, best.json)", markup=False)


ListOpt = list[str] | None


def sweep(
    config: Annotated[Path, typer.Argument(help="The YAML config (train or solve).")],
    grid: Annotated[ListOpt, typer.Option(
        "--grid", help="KEY=v1,v2,...: a grid axis (repeatable: the cartesian product). "
        "Lists in brackets: model.hidden=[32],[64,64].")] = None,
    zip_: Annotated[ListOpt, typer.Option(
        "--zip", help="KEY=v1,v2,...: lists that advance together (one grid axis).")] = None,
    sample: Annotated[ListOpt, typer.Option(
        "--sample", help="KEY=loguniform(a,b) | uniform(a,b) | int(a,b) | logint(a,b) | "
        "choice(a,b,...): --trials draws.")] = None,
    trials: Annotated[int | None, typer.Option(help="Draws for --sample (or tpe trials).")]
    = None,
    seeds: Annotated[int | None, typer.Option(help="Each point with N seeds (seed+0..N-1).")]
    = None,
    search: Annotated[str | None, typer.Option(
        help="grid (default: --grid/--zip, --sample drawn at random) | random | tpe "
        "(Optuna, an optional extra).")] = None,
    workers: Annotated[int | None, typer.Option(
        help="A local process pool of N workers (one BLAS thread each).")] = None,
    dask_workers: Annotated[int | None, typer.Option(
        "--dask-workers", help="A Dask LocalCluster of N workers (fitcli[dask]).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="An existing Dask cluster, e.g. tcp://host:8786 (its workers must see the "
        "sweep folder).")] = None,
    metric: Annotated[str | None, typer.Option(
        help="The summary metric that ranks trials (default: the model's score, e.g. "
        "val_accuracy, recovered.psnr).")] = None,
    mode: Annotated[str | None, typer.Option(help="min | max (with --metric).")] = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="The sweep folder (default runs/<name>-sweep; rerun to resume).")]
    = None,
    seed: SeedOpt = None, quiet: QuietOpt = False,
) -> None:
    """Many fits of one config, sequential, on a process pool or on Dask; resumable.

    A grid, zipped lists, seeds, sampled ranges. Each trial is a run folder
    SWEEP/trial-NNNN/; sweep.csv, sweep.png and best.json mark the best. Rerunning the
    command resumes.

    Exit 0 done, 1 no trial finished, 2 bad config or options, 130 interrupted (running
    trials checkpoint; rerun to resume).
    """
    from ..api import sweep as api_sweep
    from ..sweep.executors import make_executor
    from ..sweep.space import space_from

    try:
        cfg = load_config(config, set_, seed)
        space = space_from(cfg.sweep, grid=grid, zip_=zip_, sample=sample, trials=trials,
                           seeds=seeds, search=search)
        folder = out_dir or Path(f"{cfg.output['dir'] or Path('runs') / cfg.name}-sweep")
        total = space.n_trials if space.search == "tpe" else len(space.trials(cfg.seed))
        executor = make_executor(workers, dask_workers, scheduler)
    except FitcliError as exc:
        raise fail(exc) from None
    if not quiet:
        out.print(f"sweep: {total} trials over {', '.join(space.keys)} on {executor.name} "
                  f"({executor.slots} at once) -> {folder}", markup=False)
    try:
        table = api_sweep(cfg, grid=grid, zip=zip_, sample=sample, trials=trials,
                          seeds=seeds, search=search, metric=metric, mode=mode,
                          executor=executor, out=folder,
                          on_result=lambda r, t: _line(r, t, quiet, total))
    except FitcliError as exc:
        raise fail(exc) from None
    finally:
        executor.close()
    _render(table, folder)
    failed = [r for r in table.rows if r["status"] not in ("done",)]
    if failed and not table.interrupted:
        warn(f"{len(failed)} of {len(table.rows)} trials did not finish (status in sweep.csv)")
    if table.interrupted:
        finished = sum(r["status"] in ("done", "diverged") for r in table.rows)
        err.print(f"interrupted: {finished} of {total} trials finished; rerun the same "
                  "command to finish the sweep (interrupted trials resume from their "
                  "checkpoints)", markup=False)
        raise typer.Exit(130)
    if not any(r["status"] == "done" for r in table.rows):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(sweep)
