"""The command-line interface: read → build → run → render. The only module that prints."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import allocator
from .errors import FitcliError, InputError

# One BLAS thread unless the user says otherwise (set before anything imports numpy;
# typer, rich and .errors do not): our matrices are
# small (an MLP layer is ~1000 x 64), where OpenBLAS threads cost more than they give, and on a
# shared 2-core machine their spin-waiting made `fitcli train configs/mlp_spirals.yaml` 6x slower
# (18.8 s vs 3.1 s for 100 iterations, measured).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
allocator.tune()   # keep large freed blocks for reuse (glibc; see fitcli/allocator.py)

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
    err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
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
        err.print(f"[red]FAIL[/red] {escape(r.failure_line())}", soft_wrap=True)
    return not failed


# -- config-driven commands ---------------------------------------------------------------
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config value: KEY.PATH=VALUE (YAML value; repeatable).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="The run folder (default: output.dir or runs/<name>).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Override the config's seed.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")]


@app.command()
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
    from .engine import gradcheck as gc

    if not ops and config is None:
        raise fail(FitcliError("gradcheck: give a CONFIG or --ops"))
    if mode not in ("reverse", "forward", "all"):
        raise fail(FitcliError(f"--mode: expected one of reverse, forward, all, got {mode!r}"))
    rule = f"eps {gc.EPS:g}, pass if |num-ana| <= {gc.ATOL:g} + {gc.RTOL:g}·|num|"
    ok = True
    if ops:
        from .battery import all_cases, missing_cases
        from .engine import EngineError

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
        ok = _render_checks(f"gradcheck --ops --mode {mode}: {len(results)} checks, {rule}",
                            results)
        broken += [f"{name}: a registered primitive without a gradcheck case"
                   for name in missing_cases(cases)]
        for line in broken:
            err.print(f"[red]FAIL[/red] {escape(line)}", soft_wrap=True)
        ok = ok and not broken
        n_fail = sum(not r.passed for r in results) + len(broken)
        out.print(f"{len(results) - n_fail} passed, {n_fail} failed")
    if config is not None:
        from .api import check_objective

        try:
            results, formula = check_objective(config, set_ or [], seed, mode=mode)
        except FitcliError as exc:
            raise fail(exc) from None
        out.print(f"objective: {formula}", markup=False, soft_wrap=True)
        ok = _render_checks(f"gradcheck {config} --mode {mode}: {len(results)} checks, {rule}",
                            results) and ok
        n_fail = sum(not r.passed for r in results)
        out.print(f"{len(results) - n_fail} passed, {n_fail} failed")
    if not ok:
        raise typer.Exit(1)


def _load(config: Path | None, set_, seed, resume: Path | None = None):
    from . import config as C
    from .fit import checkpoint_base_dir

    if config is None:
        if resume is None:
            raise FitcliError("give a CONFIG (or --resume RUN_DIR)")
        path = resume / "config.yaml"
        raw = C.read_config(path)
        ckpt = resume / "checkpoint.npz"
        base = checkpoint_base_dir(ckpt) if ckpt.exists() else None
        raw = C.apply_overrides(raw, set_)
        if seed is not None:
            raw["seed"] = seed
        return C.resolve(raw, base or path.parent, raw.get("name", resume.name))
    return C.load(config, set_, seed)


def _choose_run_dir(cfg, out_opt: Path | None, resume: Path | None) -> tuple[Path, str | None]:
    """The run folder: --resume's, --out's (must be new or empty), or output.dir /
    runs/<name>, where an existing folder is never overwritten: a numbered sibling is used."""
    if resume is not None:
        if not (resume / "checkpoint.npz").exists():
            raise InputError(f"--resume: no checkpoint.npz in {resume}")
        return resume, None
    if out_opt is not None:
        if out_opt.exists() and (not out_opt.is_dir() or any(out_opt.iterdir())):
            raise InputError(f"--out {out_opt}: exists and is not empty (continue it with "
                             f"--resume {out_opt}, or choose another folder)")
        return out_opt, None
    base = Path(cfg.output["dir"] or Path("runs") / cfg.name)
    if not base.exists() or (base.is_dir() and not any(base.iterdir())):
        return base, None
    k = 2
    while Path(f"{base}-{k}").exists():
        k += 1
    sibling = Path(f"{base}-{k}")
    return sibling, f"{base} exists; writing to {sibling} instead"


def _fmt_row(p) -> str:
    r = p.row
    extra = f"  {p.main} {r[p.main]:.4f}" if p.main in r and p.main != "loss" else ""
    return (f"iter {p.iteration:>6}/{p.total}  loss {r['loss']:.6g}  |g| {r['grad_norm']:.3e}"
            f"  step {r['step']:.3g}{extra}  {r['seconds']:.1f}s")


class _Reporter:
    """Renders Progress events: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool, total: int):
        self.quiet, self.bar, self.task = quiet, None, None
        if not quiet and out.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                                console=out, transient=False)
            self.task = self.bar.add_task("train", total=total, info="")
            self.bar.start()

    def __call__(self, p) -> None:
        if isinstance(p, dict):  # a solver with its own loop reports plain rows
            if not self.quiet and self.bar is None:
                out.print("  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in p.items()), markup=False, highlight=False)
            return
        if p.summary is not None:
            self.close()
            return
        if self.bar is not None:
            r = p.row
            info = f"loss {r['loss']:.4g}  |g| {r['grad_norm']:.2e}"
            if p.main in r and p.main != "loss":
                info += f"  {p.main} {r[p.main]:.4f}"
            self.bar.update(self.task, completed=p.iteration, info=info)
        elif not self.quiet:
            out.print(_fmt_row(p), markup=False, highlight=False)

    def tick(self, iteration: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=iteration)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="The YAML config.")] = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue the run in RUN_DIR from its checkpoint.")] = None,
) -> None:
    """Fit a config: log progress, write the run folder.

    Exit 0 done, 1 the fit failed (non-finite loss or gradient), 2 bad config
    or input, 130 interrupted (a checkpoint is written first).
    """
    from .api import build
    from .fit import run

    try:
        cfg = _load(config, set_, seed, resume)
        problem = build(cfg)
        run_dir, note = _choose_run_dir(cfg, out_dir, resume)
    except FitcliError as exc:
        raise fail(exc) from None
    if note:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    if not quiet:
        out.print(f"objective: {problem.formula}", soft_wrap=True, markup=False)
        what = "resuming" if resume else "run folder"
        out.print(f"{what}: {run_dir}  ({problem.params.size} parameters, "
                  f"{cfg.resolved['optimizer']['type']}, {problem.data.n_train} training samples)")
    reporter = _Reporter(quiet, cfg.stop["iterations"])
    try:
        summary, _ = run(problem, run_dir, callback=reporter, resume=resume,
                         tick=reporter.tick if reporter.bar is not None else None)
    except FitcliError as exc:
        reporter.close()
        raise fail(exc) from None
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once, the last checkpoint stays
        reporter.close()
        err.print(f"interrupted at once; the last periodic checkpoint (if any) is in {run_dir}")
        raise typer.Exit(130) from None
    finally:
        reporter.close()
    _report_end(summary, run_dir)


def _report_end(summary: dict, run_dir: Path) -> None:
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in summary["metrics"].items()
                        if isinstance(v, float))
    line = (f"{summary['status']}: {summary['stop_reason']}; {summary['iterations']} iterations"
            f", {summary['seconds']:.3g} s; loss {summary['loss']:.6g}  {metrics}")
    if summary["status"] == "diverged":
        k = summary.get("checkpoint_iteration")
        kept = (f"the checkpoint of iteration {k} is kept in {run_dir}" if k is not None
                else f"no checkpoint was written yet; results in {run_dir}")
        err.print("[red]error:[/red] " + escape(f"diverged: {summary['stop_reason']}; {kept}"),
                  soft_wrap=True)
        raise typer.Exit(1)
    out.print(line, soft_wrap=True, markup=False)
    if summary["status"] == "interrupted":
        out.print(f"checkpoint saved: {run_dir / 'checkpoint.npz'} "
                  f"(continue with: fitcli train --resume {run_dir})", soft_wrap=True)
        raise typer.Exit(130)
    out.print(f"run folder: {run_dir}")


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The YAML config.")],
    set_: SetOpt = None, seed: SeedOpt = None,
) -> None:
    """Parse and check a config without fitting; print the resolved config. Exit 0 valid,
    2 invalid."""
    from . import config as C
    from .api import build

    try:
        cfg = C.load(config, set_, seed)
        problem = build(cfg)
    except FitcliError as exc:
        raise fail(exc) from None
    out.print(C.dump(cfg), end="", highlight=False, markup=False)
    out.print(f"# valid: {problem.formula}; {problem.params.size} parameters", markup=False)


KINDS = ("models", "losses", "optimizers", "datasets", "regularizers")


@app.command("list")
def list_(
    kind: Annotated[str | None, typer.Argument(
        help="models | losses | optimizers | datasets | regularizers (default: all).")] = None,
) -> None:
    """The names a config may use, with their options and defaults (from the registries)."""
    from .api import describe_registry
    from .errors import did_you_mean

    if kind is not None and kind not in KINDS:
        hint = did_you_mean(kind, KINDS)
        raise fail(FitcliError(f"list: expected one of {', '.join(KINDS)}, got {kind!r}"
                               + (f" ({hint})" if hint else "")))
    for k in [kind] if kind else KINDS:
        table = Table(title=k, show_lines=False, title_justify="left")
        for col in ("name", "options (default)", "description"):
            table.add_column(col)
        for row in describe_registry(k):
            opts = ", ".join(f"{n}={_show(v)}" for n, v in row["options"].items())
            table.add_row(row["name"], escape(opts) or "-", escape(row["doc"]))
        out.print(table)


def _show(v) -> str:
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, (list, tuple)) else str(v)


@app.command()
def schema() -> None:
    """Print a JSON Schema of the config format (for editors; see the README)."""
    import json

    from .api import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))


# -- commands over the other engineers' libraries: thin wrappers ---------------------------
@app.command()
def solve(
    config: Annotated[Path | None, typer.Argument(help="A superres (or registration) config.")]
    = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue RUN_DIR.")] = None,
    input_: Annotated[Path | None, typer.Option(
        "--input", help="A real low-resolution image (no ground truth).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Also write the recovered image here (.png, .tif, .npy).")] = None,
    sweep: Annotated[str | None, typer.Option(
        "--sweep", help="KEY=v1,v2,...: one solve per value, e.g. "
        "regularization.0.weight=1e-4,1e-3,1e-2; a PSNR/SSIM table and figure.")] = None,
) -> None:
    """Image recovery: the recovered image and a comparison against the baseline.

    Exit codes as train.
    """
    import inspect

    try:
        cfg = _load(config, set_, seed, resume)
        kind = cfg.resolved["model"]["type"]
        solver = _find_solver(kind, cfg.model_cls.__module__)
        run_dir, note = _choose_run_dir(cfg, out_dir, resume)
        if sweep is not None:
            _sweep(cfg, kind, sweep, run_dir, quiet)
            return
        wanted = {"observation": input_, "output": output, "resume": resume}
        params = inspect.signature(solver).parameters
        for key, value in wanted.items():
            if value is not None and key not in params:
                flag = {"observation": "--input"}.get(key, f"--{key}")
                raise FitcliError(f"{flag}: not supported by `fitcli solve` for {kind}")
        extra = {k: v for k, v in wanted.items() if v is not None}
        reporter = _Reporter(quiet, cfg.stop["iterations"])
        try:
            result = solver(cfg, run_dir, callback=reporter, **extra)
        finally:
            reporter.close()
    except FitcliError as exc:
        raise fail(exc) from None
    if note:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    summary = result if isinstance(result, dict) else result.summary
    formula = getattr(result, "formula", None) or summary.get("objective")
    if formula and not quiet:
        out.print(f"objective: {formula}", markup=False, soft_wrap=True)
    for name, values in (getattr(result, "metrics", None) or {}).items():
        shown = "  ".join(f"{k} {v:.4f}" for k, v in values.items())
        out.print(f"{name}: {shown}", markup=False)
    if "stop_reason" in summary:
        _report_end(summary, run_dir)
        return
    metrics = "  ".join(f"{k} {v:.4g}" for k, v in summary.get("metrics", {}).items()
                        if isinstance(v, float))
    out.print(f"{summary.get('status')}: {summary.get('iterations')} iterations; {metrics}",
              markup=False, soft_wrap=True)
    for warning in summary.get("warnings", []):
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    out.print(f"run folder: {run_dir}")
    if summary.get("status") == "diverged":
        raise typer.Exit(1)


def _sweep(cfg, kind: str, spec: str, run_dir: Path, quiet: bool) -> None:
    """``fitcli solve --sweep KEY=v1,v2,...``: a table with the best value marked."""
    import importlib

    import yaml

    key, sep, values = spec.partition("=")
    vals = [yaml.safe_load(v) for v in values.split(",") if v.strip()]
    if not sep or not key or not vals:
        raise FitcliError(f"--sweep: expected KEY=v1,v2,..., got {spec!r}")
    sweeper = getattr(importlib.import_module(cfg.model_cls.__module__), f"sweep_{kind}", None)
    if sweeper is None:
        raise FitcliError(f"--sweep: not supported by `fitcli solve` for {kind}")
    reporter = _Reporter(True, cfg.stop["iterations"])
    try:
        res = sweeper(cfg, key, vals, run_dir, callback=reporter)
    finally:
        reporter.close()
    table = Table(title=f"sweep of {key}")
    for col in ("value", "psnr", "ssim", "loss", "status", ""):
        table.add_column(col)
    for i, r in enumerate(res["results"]):
        table.add_row(*(escape(_cell(r.get(c))) for c in ("value", "psnr", "ssim", "loss",
                                                         "status")),
                      "[green]best[/green]" if i == res["best"] else "")
    out.print(table)
    if res.get("bicubic"):
        shown = "  ".join(f"{k} {v:.4f}" for k, v in res["bicubic"].items())
        out.print(f"bicubic: {shown}", markup=False)
    out.print(f"run folder: {run_dir} (sweep.csv, sweep.png)")


def _find_solver(kind: str, model_module: str):
    """``solve_<kind>`` in the model's module or in ``fitcli.<kind>_solve``."""
    import importlib
    import importlib.util

    for name in (model_module, f"fitcli.{kind}_solve"):
        if importlib.util.find_spec(name) is not None:
            solver = getattr(importlib.import_module(name), f"solve_{kind}", None)
            if solver is not None:
                return solver
    raise FitcliError(f"model.type: expected an imaging model for `fitcli solve` "
                      f"(superres, registration), got {kind!r}; use `fitcli train`")


@app.command()
def sample(
    run_dir: Annotated[Path, typer.Argument(help="A run folder of a character-level rnn.")],
    length: Annotated[int, typer.Option(min=1, help="Characters to generate.")] = 300,
    temperature: Annotated[float, typer.Option(min=1e-6, help="Softmax temperature.")] = 0.8,
    prime: Annotated[str, typer.Option(help="Text to start from.")] = "",
    seed: Annotated[int, typer.Option(help="Seed of the draws.")] = 0,
) -> None:
    """Text generated by a trained character-level RNN. Exit 0, or 2 for a bad run folder."""
    from .sampling import sample_run

    try:
        text = sample_run(run_dir, length, temperature=temperature, prime=prime, seed=seed)
    except FitcliError as exc:
        raise fail(exc) from None
    print(prime + text)


@app.command()
def compare(
    config: Annotated[Path, typer.Argument(help="The YAML config whose objective to use.")],
    optimizers: Annotated[str, typer.Option(
        "--optimizers", help="Comma-separated specs: gd,lbfgs:history=5,sgd:step=0.1")],
    iterations: Annotated[int | None, typer.Option(
        min=1, help="Steps per optimizer (default: optimizer.iterations).")] = None,
    set_: SetOpt = None, out_dir: OutOpt = None, seed: SeedOpt = None, quiet: QuietOpt = False,
) -> None:
    """The same fit with several optimizers: a convergence figure and a table."""
    from .api import build
    from .compare import compare as run_compare
    from .compare import plot_comparison
    from .fit import make_closure, write_json

    try:
        cfg = _load(config, set_, seed)
        problem = build(cfg)
        run_dir, note = _choose_run_dir(cfg, out_dir, None)
        # smooth part for every optimizer; prox methods get the non-smooth terms separately,
        # and the table compares everyone on the full objective
        closure = make_closure(dataclasses.replace(problem, prox_handles_nonsmooth=True))
        full = make_closure(dataclasses.replace(problem, prox_handles_nonsmooth=False))
        specs = [s.strip() for s in optimizers.split(",") if s.strip()]
        done = lambda r: quiet or out.print(f"{r.spec}: {r.status}", markup=False)  # noqa: E731
        result = run_compare(
            closure, problem.params.flat.copy(), specs,
            iterations=iterations or cfg.stop["iterations"], seed=cfg.seed,
            n_samples=problem.optimizer.n_samples, tol=cfg.stop["tol"],
            nonsmooth=[t for _, t in problem.nonsmooth], full_closure=full,
            time_limit=cfg.stop["time_limit"], callback=done)
    except FitcliError as exc:
        raise fail(exc) from None
    if note:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    run_dir.mkdir(parents=True, exist_ok=True)
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
        table.add_row(*(escape(_cell(row[c])) for c in cols))
    out.print(table)
    out.print(f"figure: {run_dir / 'compare.png'}")


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "-" if v is None else str(v)


@app.command()
def graph(
    config: Annotated[Path, typer.Argument(help="The YAML config.")],
    set_: SetOpt = None,
    out_file: Annotated[Path, typer.Option("--out", help="The .dot file (SVG beside it where "
                                                          "Graphviz is installed).")]
    = Path("graph.dot"),
) -> None:
    """The computational graph of a config's objective (DOT, SVG), at the model's tiny size."""
    from . import graph as G
    from .api import build, leaves_objective, load_tiny

    try:
        problem = build(load_tiny(config, set_ or []))
    except FitcliError as exc:
        raise fail(exc) from None
    pv, data = problem.params, problem.data
    leaves = pv.leaves(pv.flat)
    total, _ = leaves_objective(problem, leaves, data.X_train, data.y_train, True)
    names = {id(t): k for k, t in leaves.items()}
    summary = G.summarize(total, names)
    written = G.write(total, out_file, names)
    per_op = ", ".join(f"{k} {v}" for k, v in summary.per_op.items())
    out.print(f"{summary.nodes} ops ({per_op}); {summary.leaves} parameter blocks; depth "
              f"{summary.depth}", markup=False, soft_wrap=True)
    out.print("wrote " + ", ".join(map(str, written)), markup=False)


bench_app = typer.Typer(help="Measurements on this machine.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("complexity")
def bench_complexity(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller sizes (a first look).")]
    = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the figure.")]
    = Path("runs/bench"),
    configs: Annotated[list[Path] | None, typer.Option(
        "--config", help="Also time loss vs loss+gradient of this config (repeatable).")]
    = None,
) -> None:
    """The measured cost of finite differences, forward and reverse mode.

    1. gradient of f: Rⁿ → R by FD, forward and reverse mode, relative to f;
    2. full Jacobians by forward vs reverse mode (crossover at m ≈ n);
    3. a chain of dense Jacobians multiplied from the input or the output end;
    4. with --config, the cheap-gradient ratio of that config's objective.
    """
    from .api import build
    from .bench import complexity
    from .fit import make_closure

    res = complexity.run(quick)
    out.print(complexity.format_tables(res), markup=False, highlight=False)
    rows = []
    for c in configs or []:
        try:
            problem = build(_load(c, [], None))
        except FitcliError as exc:
            raise fail(exc) from None
        closure, x = make_closure(problem), problem.params.flat.copy()
        r = complexity.objective_ratio(lambda: closure(x, need_grad=False),
                                       lambda: closure(x))
        rows.append((str(c), r))
    if rows:
        out.print("\n4. a config's objective: time(loss + gradient) / time(loss)")
        for name, r in rows:
            out.print(f"{name:<40}{r['loss_seconds'] * 1e3:>10.3f} ms{r['ratio']:>8.2f}",
                      markup=False)
    path = complexity.figure(res["gradient"], res["jacobian"], res["chain"],
                             out_dir / "complexity.png")
    out.print(f"figure: {path}", markup=False)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
