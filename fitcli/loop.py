"""The one fitting loop: ``train``, ``solve``, ``compare``, sweep trials and every level of
a multiscale registration run through :func:`run`.

``run(problem, run_dir)`` drives ``problem.optimizer`` through the optimizer protocol
(``fitcli/optim/base.py``). A model may fit in stages (``Model.stages``: registration's
pyramid levels, coarse to fine, possibly an affine stage first); each stage gets its
own parameters and a new optimizer, started from the previous stage's result
(:func:`fitcli.problem.enter_stage`). Within a stage the loop stops on the stage's
iteration budget (``optimizer.iterations``, or the model's per-stage
``stage_iterations``), ``tol`` (gradient norm), ``rtol`` (relative change of the loss
between iterations) or the optimizer's own ``StepInfo.stop``, and goes on with the
next stage; ``time_limit`` (seconds, the whole fit), a non-finite or exploding loss
(status ``diverged``, the last good iterate kept) and SIGINT/SIGTERM (status
``interrupted``, after writing the checkpoint) end the fit.

Every ``output.every`` iterations of a stage and at its end it evaluates the full
objective term by term and the model's metrics, appends a row to ``metrics.csv`` and
reports a :class:`Progress` to the callback; ``on_step(Step)`` sees every iteration.
It never prints.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import config as C
from .errors import ConfigError, InputError, did_you_mean, excerpt
from .export import model_arrays, save_model
from .problem import (
    Problem,
    enter_stage,
    epoch_steps,
    evaluate,
    iteration_budgets,
    make_closure,
)
from .runfolder import (
    BASE_COLUMNS,
    MetricsWriter,
    claim,
    plot_history,
    read_checkpoint,
    restore_parameters,
    save_checkpoint,
    write_json,
    write_text,
)

__all__ = ["BLOWUP", "Outcome", "Progress", "Step", "run"]

BLOWUP = 1e10   # loss / max(1, |initial loss|) beyond which a fit has diverged


@dataclass
class Progress:
    """One logged row, for the CLI to render (or a notebook callback)."""

    iteration: int
    total: int
    row: dict
    main: str                         # the row key of the main metric (e.g. val_accuracy)
    final: bool = False
    summary: dict | None = None
    stage: str = ""                   # the stage's label for a staged model


@dataclass
class Step:
    """Every iteration, for ``on_step``: a progress bar, compare's per-step trace."""

    iteration: int
    loss: float                       # as the optimizer reports it (may be a minibatch's)
    grad_norm: float
    opt_seconds: float                # cumulative time inside optimizer.step
    nfev: int
    x: np.ndarray                     # the current iterate (a view: copy to keep)
    stage: int = 0


@dataclass
class LoopState:
    """What a checkpoint keeps of the loop (restored bitwise by --resume)."""

    iteration: int = 0                # over all stages
    seconds: float = 0.0
    opt_seconds: float = 0.0
    nfev: int = 0
    ngev: int = 0
    prev_loss: float = float("nan")
    stage: int = 0
    stage_iteration: int = 0
    stage_log: str = "[]"             # JSON list of the finished stages' stop reasons
    # output.early_stopping: the best value of its metric, where, how many rows since, and
    # the parameters there (kept in the checkpoint so that --resume goes on bitwise)
    best_value: float = float("nan")
    best_iteration: int = -1
    rows_since_best: int = 0
    best_x: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Outcome:
    """What :func:`run` returns: the summary (as summary.json), the metrics rows (as
    metrics.csv, including earlier rows of a resumed run) and the final Problem (its
    ``params.views`` are the fitted parameters of the last stage reached)."""

    summary: dict
    history: list
    problem: Problem


@contextlib.contextmanager
def signals(enabled: bool):
    """SIGINT/SIGTERM set a flag (the loop finishes its step, checkpoints, stops);
    a second signal interrupts at once — except once ``flag["finishing"]`` is set: the
    final checkpoint and summary are then always written (signals only noted)."""
    flag: dict = {"signal": None, "finishing": False}
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["signal"] is not None and not flag["finishing"]:
            raise KeyboardInterrupt
        flag["signal"] = flag["signal"] or signal.Signals(signum).name

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _loop_state(saved: dict) -> LoopState:
    """The checkpoint's loop state, each value converted to its field's type (ValueError
    for a non-numeric one; a field an older checkpoint lacks keeps its default)."""
    out = {}
    for f in fields(LoopState):
        if f.default_factory is not MISSING:      # arrays (the best point's parameters)
            out[f.name] = np.asarray(saved.get(f.name, f.default_factory()))
        else:
            out[f.name] = type(f.default)(saved.get(f.name, f.default))
    json.loads(out["stage_log"])
    if out["iteration"] < 0 or out["stage"] < 0:
        raise ValueError("negative loop.iteration or loop.stage")
    return LoopState(**out)


def _nonfinite(problem: Problem, closure, x: np.ndarray, info, k: int) -> str:
    """Name what went non-finite at iteration k: the loss, or which parameters' gradient."""
    why = f" ({info.stop})" if info.stop else ""
    if not np.isfinite(info.loss):
        return f"non-finite loss ({info.loss}) at iteration {k}{why}"
    bad_x = [n for n, v in problem.params.unflatten(x).items() if not np.all(np.isfinite(v))]
    if bad_x:
        return f"non-finite parameters {', '.join(bad_x)} at iteration {k}{why}"
    f, g = closure(x)
    blocks = problem.params.unflatten(g)
    bad = [n for n, v in blocks.items() if not np.all(np.isfinite(v))] if g is not None else []
    what = f"gradient of {', '.join(bad)}" if bad else "loss or gradient at a trial point"
    return f"non-finite {what} at iteration {k}{why}"


def _minibatched(problem: Problem) -> bool:
    """Whether the optimizer steps on minibatches smaller than the training set."""
    batches = getattr(problem.optimizer, "batches", None)
    return bool(batches is not None and batches.n and batches.batch_size < batches.n)


def _stop_reason(stop: dict, info, state: LoopState, budget: int,
                 epoch_steps: int | None = None) -> str | None:
    """The stopping rules, in the order they are checked (``budget``: the stage's;
    ``epoch_steps``: the steps of an epoch when ``epochs`` is a rule)."""
    if info.stop:
        return f"optimizer: {info.stop}"
    if stop["tol"] > 0 and info.grad_norm <= stop["tol"]:
        return f"tol: gradient norm {info.grad_norm:.3g} <= {stop['tol']:g}"
    prev = state.prev_loss
    if stop["rtol"] > 0 and np.isfinite(prev) and abs(prev - info.loss) <= stop["rtol"] * max(
            abs(prev), abs(info.loss), np.finfo(float).tiny):
        return f"rtol: relative loss change below {stop['rtol']:g}"
    if stop["time_limit"] is not None and state.seconds >= stop["time_limit"]:
        return f"time_limit: {state.seconds:.1f} s >= {stop['time_limit']:g} s"
    if epoch_steps and state.stage_iteration >= stop["epochs"] * epoch_steps:
        return f"epochs: reached {stop['epochs']} ({state.stage_iteration} steps)"
    if state.stage_iteration >= budget:
        return f"iterations: reached {budget}"
    return None


def run(problem: Problem, run_dir: Path | None, *, callback=None, resume: Path | None = None,
        handle_signals: bool = True, on_step=None) -> Outcome:
    """Fit ``problem``; write the run folder when ``run_dir`` is given.

    ``callback(Progress)`` is called at every logged row and once at the end (with
    the summary); ``on_step(Step)``, if given, after every iteration.
    """
    with contextlib.ExitStack() as stack:
        if run_dir is not None:   # one run at a time writes a folder
            stack.enter_context(claim(run_dir))
        flag = stack.enter_context(signals(handle_signals))
        loop = _Loop(problem, run_dir, callback, resume)
        status, reason, info = loop.iterate(flag, on_step)
        flag["finishing"] = True   # a signal now must not lose the finished fit
        return loop.finish(status, reason, info)


class _Loop:
    """The state of one fit: set-up (resume, run folder, columns), iterations, finish."""

    def __init__(self, problem: Problem, run_dir: Path | None, callback, resume: Path | None):
        self.run_dir, self.callback, self.stop = run_dir, callback, problem.cfg.stop
        model = problem.model
        self.labels = model.stages()
        self.budgets = iteration_budgets(problem)
        self.epoch_steps = epoch_steps(problem) if self.stop.get("epochs") else None
        self.total = int(sum(self.budgets))
        self.state = LoopState()
        if resume is not None:
            path = resume / "checkpoint.npz"
            ck = read_checkpoint(path)
            try:   # a checkpoint damaged inside (hand-edited, another version): one line
                self.state = _loop_state(ck.loop)
                model.load_state_arrays(ck.model)
                if self.state.stage != problem.stage:
                    problem = enter_stage(problem, self.state.stage, None)
                restore_parameters(path, ck, problem)
                problem.optimizer.load_state_dict(ck.optimizer)
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                raise InputError(f"{path}: damaged or foreign checkpoint "
                                 f"({type(exc).__name__}: {excerpt(str(exc), 100)})") from None
        self.problem = problem
        self.start_iter = self.state.iteration
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_text(run_dir / "config.yaml", C.dump(problem.cfg))
        self.closure = make_closure(problem)
        first = self.evaluate()
        # a loss this many times above where the run started is a divergence, finite or not
        self.blowup = BLOWUP * max(1.0, abs(first["loss"])) if np.isfinite(first["loss"]) \
            else np.inf
        self.early = problem.cfg.output.get("early_stopping")
        if self.early:
            self.check_early(first)
        # Minibatch rows: with a stochastic optimizer a full evaluation costs as much as
        # many steps, so rows between full ones report the mean of the minibatch
        # objectives the steps computed (column full_eval = 0, metrics blank); the first
        # row, epoch ends, every output.full_every-th row and the end evaluate everything.
        self.full_every = problem.cfg.output.get("full_every")
        self.cheap = _minibatched(problem) and not self.early and self.full_every != 1
        self.batch_loss, self.since_full = [0.0, 0], 0
        columns = list(BASE_COLUMNS) + (["full_eval"] if self.cheap else []) + \
            [k for k in first if k != "loss"]
        metric = model.main_metric
        self.main = next((k for k in (f"val_{metric}", f"train_{metric}", metric)
                          if k in first), "loss")
        self.writer = MetricsWriter(run_dir, columns, self.start_iter) if run_dir else None
        self.history = list(self.writer.previous) if self.writer else []
        if self.start_iter == 0:
            _, g0 = self.closure(problem.params.flat)
            self.log(float(np.linalg.norm(g0)) if g0 is not None else float("nan"), 0.0,
                     values=first)

    @property
    def staged(self) -> bool:
        return len(self.labels) > 1

    def evaluate(self, full: bool = True) -> dict:
        if full:
            row = evaluate(self.problem, self.problem.params.flat)
        else:
            total, n = self.batch_loss
            row = {"loss": total / n if n else float("nan")}
        if self.staged:
            row.update(stage=self.state.stage, stage_iteration=self.state.stage_iteration)
        if self.epoch_steps:
            row["epoch"] = round(self.state.stage_iteration / self.epoch_steps, 6)
        return row

    def log(self, grad_norm: float, step: float, final: bool = False, values=None,
            full: bool = True) -> str | None:
        """Evaluate at x (a minibatch row unless ``full``: see __init__), append a metrics
        row, report it; the early-stopping reason, if the row ends the fit."""
        st = self.state
        full = full or not self.cheap or bool(
            self.full_every and self.since_full + 1 >= self.full_every)
        self.since_full = 0 if full else self.since_full + 1
        row = {"iteration": st.iteration, **(values or self.evaluate(full)),
               "grad_norm": grad_norm, "step": step, "seconds": round(st.seconds, 6),
               "nfev": st.nfev, "ngev": st.ngev}
        if self.cheap:
            row["full_eval"] = int(full)
        self.batch_loss = [0.0, 0]
        self.history.append(row)
        if self.writer:
            self.writer.write(row)
        if self.callback:
            self.callback(Progress(st.iteration, self.total, row, self.main, final,
                                   stage=self.labels[st.stage]))
        return self.watch(row) if self.early else None

    # -- early stopping -------------------------------------------------------------------
    def check_early(self, first: dict) -> None:
        """The metric must be a key of the metrics rows; a staged fit is refused (each
        stage has other parameters and its own loss scale)."""
        path = "output.early_stopping"
        if self.staged:
            raise ConfigError(path, "null for a model fitted in stages "
                              f"({self.problem.model.name}: {len(self.labels)} stages)")
        keys = [k for k in [*first, "grad_norm"] if k not in ("stage", "stage_iteration")]
        if self.early["metric"] not in keys:
            raise ConfigError(f"{path}.metric", "a metrics row key (" + ", ".join(keys) + ")",
                              self.early["metric"], did_you_mean(self.early["metric"], keys))

    def watch(self, row: dict) -> str | None:
        """Track the best value of the metric; keep its parameters (best.npz); the stop
        reason after ``patience`` rows without an improvement by more than min_delta."""
        es, st = self.early, self.state
        value = float(row[es["metric"]])
        sign = 1.0 if es["mode"] == "min" else -1.0
        if np.isfinite(value) and not sign * (value - st.best_value) >= -es["min_delta"]:
            st.best_value, st.best_iteration, st.rows_since_best = value, st.iteration, 0
            st.best_x = self.problem.params.flat.copy()
            if self.run_dir is not None:
                save_model(self.run_dir / "best.npz", model_arrays(
                    self.problem, self.problem.params.views, st.iteration, self.best_info()))
            return None
        st.rows_since_best += 1
        if st.rows_since_best < es["patience"]:
            return None
        return (f"early_stopping: {es['metric']} did not improve by {es['min_delta']:g} for "
                f"{es['patience']} evaluations (best {st.best_value:.4g} at iteration "
                f"{st.best_iteration})")

    def best_info(self) -> dict:
        st = self.state
        return {"best": {"metric": self.early["metric"], "mode": self.early["mode"],
                         "value": st.best_value, "iteration": st.best_iteration}}

    def next_stage(self, reason: str) -> bool:
        """Record the stage's stop reason; start the next stage from its result (False:
        that was the last stage)."""
        st = self.state
        log = json.loads(st.stage_log)
        log.append({"stage": self.labels[st.stage], "iterations": st.stage_iteration,
                    "stop_reason": reason})
        st.stage_log = json.dumps(log, ensure_ascii=False)
        if st.stage + 1 == len(self.labels):
            return False
        previous = {k: v.copy() for k, v in self.problem.params.views.items()}
        self.problem = enter_stage(self.problem, st.stage + 1, previous)
        self.closure = make_closure(self.problem)
        st.stage, st.stage_iteration, st.prev_loss = st.stage + 1, 0, float("nan")
        return True

    def iterate(self, flag: dict, on_step):
        """Step until the last stage stops, divergence or a signal; (status, reason, info)."""
        st, stop = self.state, self.stop
        every = self.problem.cfg.output["every"]
        ck_every = self.problem.cfg.output["checkpoint_every"]
        info, x_good = None, None
        t0 = time.perf_counter() - st.seconds
        # Overflow to inf/nan is detected and reported here; numpy's warnings are only noise.
        with np.errstate(all="ignore"):
            while True:
                problem, x = self.problem, self.problem.params.flat
                if x_good is None or x_good.shape != x.shape:
                    x_good = np.empty_like(x)
                budget = self.budgets[st.stage]
                if st.stage_iteration >= budget:   # a zero budget, or resumed at the end
                    reason = f"iterations: reached {budget}"
                else:
                    np.copyto(x_good, x)
                    t1 = time.perf_counter()
                    info = problem.optimizer.step(self.closure)
                    st.opt_seconds += time.perf_counter() - t1
                    st.iteration += 1
                    st.stage_iteration += 1
                    st.nfev += info.nfev
                    st.ngev += info.ngev
                    st.seconds = time.perf_counter() - t0
                    bad = self.divergence(info, x)
                    if bad is not None:
                        np.copyto(x, x_good)   # keep the last good iterate
                        return "diverged", bad, info
                    reason = _stop_reason(stop, info, st, budget, self.epoch_steps)
                    st.prev_loss = float(info.loss)
                    self.batch_loss[0] += st.prev_loss
                    self.batch_loss[1] += 1
                    last = st.stage + 1 == len(self.labels)
                    epoch_end = self.epoch_steps and st.stage_iteration % self.epoch_steps == 0
                    if st.stage_iteration % every == 0 or reason is not None or epoch_end:
                        early = self.log(info.grad_norm, info.step,
                                         final=reason is not None and last,
                                         full=reason is not None or bool(epoch_end))
                        reason = reason or early
                    if on_step is not None:
                        on_step(Step(st.iteration, float(info.loss), float(info.grad_norm),
                                     st.opt_seconds, st.nfev, x, st.stage))
                if reason is not None and (reason.startswith(("time_limit", "early_stopping"))
                                           or not self.next_stage(reason)):
                    return "done", reason, info
                if self.run_dir is not None and st.iteration % ck_every == 0 and info:
                    save_checkpoint(self.run_dir, self.problem, asdict(st))
                if flag["signal"] is not None:
                    return "interrupted", f"interrupted by {flag['signal']}", info

    def export(self, summary: dict) -> list[str]:
        """With early stopping the result is the best point (its parameters restored after
        the checkpoint kept the last one for --resume); model.npz holds the result."""
        problem, st, files = self.problem, self.state, []
        it = st.iteration
        if self.early and st.best_x.size == problem.params.size:
            np.copyto(problem.params.flat, st.best_x)
            summary["best"] = self.best_info()["best"]
            it, files = st.best_iteration, ["best.npz"]
        if self.run_dir is not None:
            save_model(self.run_dir / "model.npz", model_arrays(
                problem, problem.params.views, it, self.best_info() if self.early else None))
            files = ["model.npz", *files]
        return files

    def divergence(self, info, x: np.ndarray) -> str | None:
        """Why the step diverged (non-finite, or the loss exploded), or None."""
        k = self.state.iteration
        if not (np.isfinite(info.loss) and np.isfinite(info.grad_norm)
                and np.isfinite(np.dot(x, x))):
            return _nonfinite(self.problem, self.closure, x, info, k)
        if info.loss > self.blowup:
            return (f"the loss grew to {info.loss:.3g} at iteration {k}, over {BLOWUP:.0e} "
                    "times where it started (step too large?)")
        return None

    def finish(self, status: str, reason: str, info) -> Outcome:
        """Last row, checkpoint (unless diverged), model outputs, loss.png, summary.json."""
        problem, run_dir, history = self.problem, self.run_dir, self.history
        if info is not None and status != "diverged" and (
                not history or history[-1]["iteration"] != self.state.iteration
                or not history[-1].get("full_eval", 1)):   # the last row is a full one
            self.log(info.grad_norm, info.step, final=True)
        if self.writer:
            self.writer.file.close()
        summary = self.summary(status, reason)
        if run_dir is not None and status != "diverged":
            save_checkpoint(run_dir, problem, asdict(self.state))
        files = self.export(summary) if status != "diverged" else []
        if run_dir is not None:
            if (run_dir / "checkpoint.npz").exists():
                with np.load(run_dir / "checkpoint.npz") as f:
                    summary["checkpoint_iteration"] = int(f["loop.iteration"])
            files = [*files, *problem.model.save_outputs(run_dir, problem.params.views,
                                                         problem.data)]
            if problem.cfg.output["plot"] and history:
                plot_history(run_dir / "loss.png", history, self.main, problem.formula)
                files = ["loss.png", *files]
            summary["files"] = ["config.yaml", "metrics.csv", "summary.json", "checkpoint.npz",
                                *files]
            write_json(run_dir / "summary.json", summary)
        if self.callback:
            self.callback(Progress(self.state.iteration, self.total,
                                   history[-1] if history else {}, self.main, True, summary,
                                   self.labels[self.state.stage]))
        return Outcome(summary, history, problem)

    def rose(self, last: dict) -> list[str]:
        """A fit that ends far above where it started is doubtful however it stopped (adam
        at step 1e3: 2.58 → 85 456, "done"). Not across stages: their losses differ in scale."""
        f0, f1 = (self.history[0].get("loss") if self.history else None), last.get("loss")
        if self.staged or f0 is None or f1 is None or not np.isfinite(f0) \
                or not f1 - f0 > max(abs(f0), 1e-12):
            return []
        return [f"the loss ended at {f1:.6g}, far above where it started ({f0:.6g}): "
                "the step is probably too large"]

    def summary(self, status: str, reason: str) -> dict:
        """summary.json: status, stop reason, objective, loss, terms, metrics (the last row's
        and the model's final ones), warnings, counts."""
        problem, st, cfg = self.problem, self.state, self.problem.cfg
        last = self.history[-1] if self.history else {}
        staged = ("stage", "stage_iteration")
        metrics = {k: v for k, v in last.items()
                   if k.startswith(("train_", "val_")) or k not in BASE_COLUMNS
                   and k not in problem.term_names and k not in ("loss", "full_eval")
                   and k not in staged}
        model, views = problem.model, problem.params.views
        if status != "diverged":
            metrics.update(model.final_metrics(views))
        out = {
            "name": cfg.name, "status": status, "stop_reason": reason,
            "objective": problem.formula, "iterations": st.iteration,
            "seconds": round(st.seconds, 4), "loss": last.get("loss"),
            "terms": {k: last.get(k) for k in problem.term_names},
            "metrics": metrics,
            "grad_norm": last.get("grad_norm"), "nfev": st.nfev, "ngev": st.ngev,
            "optimizer": cfg.resolved["optimizer"]["type"],
            "model": cfg.resolved["model"]["type"],
            "n_params": problem.params.size, "dtype": cfg.dtype, "seed": cfg.seed,
            "resumed_from": self.start_iter or None,
            "checkpoint_iteration": None,
            "warnings": model.warnings(views) + self.rose(last) if status != "diverged" else [],
        }
        if self.staged:
            out["stages"] = json.loads(st.stage_log)
        return out
