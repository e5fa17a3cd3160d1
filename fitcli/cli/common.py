"""What every command shares: the consoles, the one-line error, the options of the fitting
commands, the progress reporter and the final line of a fit. Renders, never computes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import FitcliError

# Wide enough for tables when output goes to a file or a pipe (rich's default there is 80).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


def fail(exc: FitcliError) -> typer.Exit:
    """One red line on stderr; the exit code the error carries."""
    err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
    return typer.Exit(exc.exit_code)


def note(text: str) -> None:
    err.print(f"[yellow]note:[/yellow] {escape(text)}", soft_wrap=True)


def warn(text: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)


SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config value: KEY.PATH=VALUE (YAML value; repeatable).")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="The run folder (default: output.dir or runs/<name>).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Override the config's seed.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")]
ResumeOpt = Annotated[Path | None, typer.Option(
    "--resume", help="Continue the run in RUN_DIR from its checkpoint.")]


def load_config(config: Path | None, set_, seed, resume: Path | None = None):
    """The resolved config of a command: CONFIG with --set/--seed, or a run folder's
    config.yaml for ``--resume RUN_DIR`` without CONFIG."""
    from .. import config as C

    if config is None:
        if resume is None:
            raise FitcliError("give a CONFIG (or --resume RUN_DIR)")
        from ..runfolder import read_checkpoint

        path = resume / "config.yaml"
        raw = C.read_config(path)
        ckpt = resume / "checkpoint.npz"
        base = read_checkpoint(ckpt).base_dir if ckpt.exists() else None
        raw = C.apply_overrides(raw, set_)
        if seed is not None:
            raw["seed"] = seed
        return C.resolve(raw, base or path.parent, raw.get("name", resume.name))
    return C.load(config, set_, seed)


def run_dir_for(cfg, out_dir: Path | None, resume: Path | None) -> tuple[Path, str | None]:
    from ..runfolder import choose_run_dir

    return choose_run_dir(Path(cfg.output["dir"] or Path("runs") / cfg.name), out_dir, resume)


def cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "-" if v is None else str(v)


def _fmt_row(p) -> str:
    r = p.row
    extra = f"  {p.main} {r[p.main]:.4f}" if p.main in r and p.main != "loss" else ""
    if r.get("full_eval") == 0:    # minibatch rows: the mean loss of the steps since the last
        extra += "  (minibatch mean)"
    stage = f"  [{p.stage}]" if p.stage else ""
    return (f"iter {p.iteration:>6}/{p.total}  loss {r['loss']:.6g}  |g| {r['grad_norm']:.3e}"
            f"  step {r['step']:.3g}{extra}  {r['seconds']:.1f}s{stage}")


class Reporter:
    """Renders Progress events: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool, total: int, label: str = "fit"):
        self.quiet, self.bar, self.task = quiet, None, None
        if not quiet and out.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                                console=out, transient=False)
            self.task = self.bar.add_task(label, total=total, info="")
            self.bar.start()

    def __call__(self, p) -> None:
        if p.summary is not None:
            self.close()
            return
        if self.bar is not None:
            r = p.row
            info = f"loss {r['loss']:.4g}  |g| {r['grad_norm']:.2e}"
            if p.main in r and p.main != "loss":
                info += f"  {p.main} {r[p.main]:.4f}"
            if p.stage:
                info += f"  {p.stage}"
            self.bar.update(self.task, completed=p.iteration, info=info)
        elif not self.quiet:
            out.print(_fmt_row(p), markup=False, highlight=False)

    @property
    def on_step(self):
        """Per-iteration updates of the bar (None without a bar: nothing to do)."""
        if self.bar is None:
            return None
        return lambda s: self.bar.update(self.task, completed=s.iteration)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def report_end(summary: dict, run_dir: Path | None, command: str = "train") -> None:
    """The final lines of a fit: metric groups, the status line, warnings; the exit code
    (1 diverged, 130 interrupted)."""
    flat = {k: v for k, v in summary["metrics"].items() if not isinstance(v, dict)}
    for name, group in summary["metrics"].items():
        if isinstance(group, dict):
            shown = "  ".join(f"{k} {v:.4f}" for k, v in group.items())
            out.print(f"{name}: {shown}", markup=False)
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in flat.items() if isinstance(v, float))
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
    for w in summary.get("warnings", []):
        warn(w)
    if summary.get("output"):
        out.print(f"wrote {summary['output']}", markup=False)
    if summary["status"] == "interrupted":
        out.print(f"checkpoint saved: {run_dir / 'checkpoint.npz'} "
                  f"(continue with: fitcli {command} --resume {run_dir})", soft_wrap=True)
        raise typer.Exit(130)
    out.print(f"run folder: {run_dir}")
