"""The one fitting loop, shared by ``train`` and ``solve``.

``run(problem, run_dir)`` drives ``problem.optimizer`` through the optimizer
protocol (``fitcli/optim/base.py``): it builds the closure once — parameters
are views of the optimizer's flat vector, the gradient is gathered into one
new flat array per evaluation — and then iterates, stopping on
``optimizer.iterations``, ``tol`` (gradient norm), ``rtol`` (relative change
of the loss between iterations), ``time_limit`` (seconds), an optimizer's own
``StepInfo.stop``, a non-finite loss or gradient (status ``diverged``), or
SIGINT/SIGTERM (status ``interrupted``, after writing the checkpoint). Every
``output.every`` iterations it evaluates the full objective term by term and
the model's metrics, appends a row to ``metrics.csv`` and reports a
:class:`Progress` to the callback; it never prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config as C
from .api import Problem, leaves_objective
from .engine import Tensor, forward_mode, no_grad
from .errors import InputError
from .models.base import Model

__all__ = ["Progress", "make_closure", "run"]


@dataclass
class Progress:
    """One logged row, for the CLI to render (or a notebook callback)."""

    iteration: int
    total: int
    row: dict
    main: str                         # the row key of the main metric (e.g. val_accuracy)
    final: bool = False
    summary: dict | None = None


@dataclass
class LoopState:
    iteration: int = 0
    seconds: float = 0.0
    nfev: int = 0
    ngev: int = 0
    prev_loss: float = float("nan")


def make_closure(problem: Problem):
    """``closure(x, batch=None, need_grad=True) -> (loss, grad)`` over the training data."""
    pv, data = problem.params, problem.data
    X, y = data.X_train, data.y_train
    include = not problem.prox_handles_nonsmooth

    def closure(x, batch=None, need_grad=True):
        Xb, yb = (X, y) if batch is None else (None if X is None else X[batch], y[batch])
        if not need_grad:
            with no_grad():
                total, _ = leaves_objective(problem, pv.leaves(x, False), Xb, yb, include)
            return float(total.data), None
        leaves = pv.leaves(x, True)
        total, _ = leaves_objective(problem, leaves, Xb, yb, include)
        if total.requires_grad:
            total.backward()
        # the model may post-process the gradient (e.g. the RNN's norm clipping)
        return float(total.data), problem.model.process_grad(
            pv.gather_grad(leaves, np.empty_like(x)))

    def hvp(x, v):
        """Hessian-vector product of the full objective, by reverse-over-forward."""
        leaves = pv.leaves(x, True)
        for k, t in pv.unflatten(np.asarray(v, dtype=x.dtype)).items():
            leaves[k].tangent = Tensor(t)
        with forward_mode():
            total, _ = leaves_objective(problem, leaves, X, y, include)
        d = total.tangent
        if d is None or not d.requires_grad:
            return np.zeros_like(x)
        d.backward()
        return pv.gather_grad(leaves, np.empty_like(x))

    closure.quadratic = getattr(problem.model, "quadratic", False)
    closure.hvp = hvp
    lipschitz = getattr(problem.model, "lipschitz", None)
    if lipschitz is not None and not problem.smooth and not problem.nonsmooth:
        closure.lipschitz = lipschitz  # known for the bare data term (test functions)
    return closure


def evaluate(problem: Problem, x: np.ndarray) -> dict:
    """Full objective, its terms and the model's metrics at ``x`` (no graph recorded)."""
    model, data, pv = problem.model, problem.data, problem.params
    custom = type(model).data_term is not Model.data_term
    row = {}
    with no_grad():
        leaves = pv.leaves(x, False)
        total, terms = leaves_objective(problem, leaves, data.X_train, data.y_train, True)
        row["loss"] = float(total.data)
        row.update({k: float(v.data) for k, v in terms.items()})
        if not custom:
            pred = model.forward(leaves, data.X_train).data
            row.update({f"train_{k}": v for k, v in model.metrics(pred, data.y_train).items()})
            if data.has_validation:
                pred = model.forward(leaves, data.X_val)
                row["val_loss"] = float(problem.loss(pred, data.y_val).data)
                row.update({f"val_{k}": v
                            for k, v in model.metrics(pred.data, data.y_val).items()})
    row.update(model.param_metrics(pv.unflatten(x)))
    return row


@contextlib.contextmanager
def _signals(enabled: bool):
    """SIGINT/SIGTERM set a flag (the loop finishes its step, checkpoints, stops);
    a second signal interrupts at once."""
    flag: dict = {"signal": None}
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["signal"] is not None:
            raise KeyboardInterrupt
        flag["signal"] = signal.Signals(signum).name

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


BLOWUP = 1e10   # loss / max(1, |initial loss|) beyond which a fit has diverged


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


def _stop_reason(stop: dict, info, state: LoopState, elapsed: float) -> str | None:
    """The optimizer-wide stopping rules, in the order they are checked."""
    if info.stop:
        return f"optimizer: {info.stop}"
    if stop["tol"] > 0 and info.grad_norm <= stop["tol"]:
        return f"tol: gradient norm {info.grad_norm:.3g} <= {stop['tol']:g}"
    prev = state.prev_loss
    if stop["rtol"] > 0 and np.isfinite(prev) and abs(prev - info.loss) <= stop["rtol"] * max(
            abs(prev), abs(info.loss), np.finfo(float).tiny):
        return f"rtol: relative loss change below {stop['rtol']:g}"
    if stop["time_limit"] is not None and elapsed >= stop["time_limit"]:
        return f"time_limit: {elapsed:.1f} s >= {stop['time_limit']:g} s"
    if state.iteration >= stop["iterations"]:
        return f"iterations: reached {stop['iterations']}"
    return None


def run(problem: Problem, run_dir: Path | None, *, callback=None, resume: Path | None = None,
        handle_signals: bool = True, tick=None) -> tuple[dict, list[dict]]:
    """Fit ``problem``; write the run folder when ``run_dir`` is given.

    ``callback(Progress)`` is called at every logged row and once at the end (with
    the summary); ``tick(iteration)``, if given, after every iteration (a progress bar).

    Returns ``(summary, history)``: the summary (as summary.json) and the
    metrics rows (as metrics.csv, including earlier rows of a resumed run).
    """
    loop = _Loop(problem, run_dir, callback, resume)
    with _signals(handle_signals) as flag:
        status, reason, info = loop.iterate(flag, tick)
    return loop.finish(status, reason, info)


class _Loop:
    """The state of one fit: set-up (resume, run folder, columns), iterations, finish."""

    def __init__(self, problem: Problem, run_dir: Path | None, callback, resume: Path | None):
        self.problem, self.run_dir, self.callback = problem, run_dir, callback
        self.x, self.stop = problem.params.flat, problem.cfg.stop
        self.state = LoopState()
        if resume is not None:
            opt_state, saved = load_checkpoint(resume / "checkpoint.npz", problem)
            problem.optimizer.load_state_dict(opt_state)
            self.state = LoopState(**saved)
        self.start_iter = self.state.iteration
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(C.dump(problem.cfg), encoding="utf-8")
        self.closure = make_closure(problem)
        first = evaluate(problem, self.x)
        # a loss this many times above where the run started is a divergence, finite or not
        self.blowup = BLOWUP * max(1.0, abs(first["loss"])) if np.isfinite(first["loss"]) \
            else np.inf
        columns = list(BASE_COLUMNS) + [k for k in first if k != "loss"]
        metric = problem.model.main_metric
        self.main = next((k for k in (f"val_{metric}", f"train_{metric}", metric)
                          if k in first), "loss")
        self.writer = MetricsWriter(run_dir, columns, self.start_iter) if run_dir else None
        self.history = list(self.writer.previous) if self.writer else []
        if self.start_iter == 0:
            _, g0 = self.closure(self.x)
            self.log(float(np.linalg.norm(g0)) if g0 is not None else float("nan"), 0.0,
                     values=first)

    def log(self, grad_norm: float, step: float, final: bool = False, values=None) -> None:
        """Evaluate at x, append a metrics row, report it."""
        st = self.state
        row = {"iteration": st.iteration, **(values or evaluate(self.problem, self.x)),
               "grad_norm": grad_norm, "step": step, "seconds": round(st.seconds, 6),
               "nfev": st.nfev, "ngev": st.ngev}
        self.history.append(row)
        if self.writer:
            self.writer.write(row)
        if self.callback:
            self.callback(Progress(st.iteration, self.stop["iterations"], row, self.main, final))

    def iterate(self, flag: dict, tick):
        """Step until a stopping rule, divergence or a signal; return (status, reason, info)."""
        problem, x, st, stop = self.problem, self.x, self.state, self.stop
        opt, every = problem.optimizer, problem.cfg.output["every"]
        ck_every = problem.cfg.output["checkpoint_every"]
        x_good = np.empty_like(x)
        status, reason, info = "done", None, None
        t0 = time.perf_counter() - st.seconds
        # Overflow to inf/nan is detected and reported here; numpy's warnings are only noise.
        with np.errstate(all="ignore"):
            while reason is None:
                if st.iteration >= stop["iterations"]:
                    return status, f"iterations: reached {stop['iterations']}", info
                np.copyto(x_good, x)
                info = opt.step(self.closure)
                st.iteration += 1
                st.nfev += info.nfev
                st.ngev += info.ngev
                st.seconds = time.perf_counter() - t0
                if not (np.isfinite(info.loss) and np.isfinite(info.grad_norm)
                        and np.isfinite(np.dot(x, x))):
                    reason = _nonfinite(problem, self.closure, x, info, st.iteration)
                    np.copyto(x, x_good)   # keep the last good iterate
                    return "diverged", reason, info
                if info.loss > self.blowup:
                    np.copyto(x, x_good)
                    return "diverged", (f"the loss grew to {info.loss:.3g} at iteration "
                                        f"{st.iteration}, over {BLOWUP:.0e} times where it "
                                        "started (step too large?)"), info
                reason = _stop_reason(stop, info, st, st.seconds)
                st.prev_loss = float(info.loss)
                if st.iteration % every == 0 or reason is not None:
                    self.log(info.grad_norm, info.step, final=reason is not None)
                if self.run_dir is not None and st.iteration % ck_every == 0:
                    save_checkpoint(self.run_dir, problem, st)
                if tick is not None:
                    tick(st.iteration)
                if reason is None and flag["signal"] is not None:
                    status, reason = "interrupted", f"interrupted by {flag['signal']}"
        return status, reason, info

    def finish(self, status: str, reason: str, info) -> tuple[dict, list[dict]]:
        """Last row, checkpoint (unless diverged), model outputs, loss.png, summary.json."""
        problem, run_dir, history = self.problem, self.run_dir, self.history
        if info is not None and status != "diverged" and (
                not history or history[-1]["iteration"] != self.state.iteration):
            self.log(info.grad_norm, info.step, final=True)
        if self.writer:
            self.writer.file.close()
        summary = _summary(problem, status, reason, self.state, history, self.start_iter)
        if run_dir is not None:
            if status != "diverged":
                save_checkpoint(run_dir, problem, self.state)
            if (run_dir / "checkpoint.npz").exists():
                with np.load(run_dir / "checkpoint.npz") as f:
                    summary["checkpoint_iteration"] = int(f["loop.iteration"])
            files = problem.model.save_outputs(run_dir, problem.params.views, problem.data)
            if problem.cfg.output["plot"] and history:
                plot_history(run_dir / "loss.png", history, self.main, problem.formula)
                files = ["loss.png", *files]
            summary["files"] = ["config.yaml", "metrics.csv", "summary.json", "checkpoint.npz",
                                *files]
            write_json(run_dir / "summary.json", summary)
        if self.callback:
            self.callback(Progress(self.state.iteration, self.stop["iterations"],
                                   history[-1] if history else {}, self.main, True, summary))
        return summary, history


def _summary(problem: Problem, status, reason, state: LoopState, history, start_iter) -> dict:
    last = history[-1] if history else {}
    cfg = problem.cfg
    return {
        "name": cfg.name, "status": status, "stop_reason": reason,
        "objective": problem.formula, "iterations": state.iteration,
        "seconds": round(state.seconds, 4), "loss": last.get("loss"),
        "terms": {k: last.get(k) for k in problem.term_names},
        "metrics": {k: v for k, v in last.items()
                    if k.startswith(("train_", "val_")) or k not in BASE_COLUMNS
                    and k not in problem.term_names and k != "loss"},
        "grad_norm": last.get("grad_norm"), "nfev": state.nfev, "ngev": state.ngev,
        "optimizer": cfg.resolved["optimizer"]["type"], "model": cfg.resolved["model"]["type"],
        "n_params": problem.params.size, "dtype": cfg.dtype, "seed": cfg.seed,
        "resumed_from": start_iter or None,
        "checkpoint_iteration": None,
    }


# -- the run folder -----------------------------------------------------------------------
BASE_COLUMNS = ("iteration", "loss", "grad_norm", "step", "seconds", "nfev", "ngev")


class MetricsWriter:
    """metrics.csv: header once, one row per log; on resume the file is kept and appended
    (rows past the checkpoint's iteration, from a run killed without checkpointing, are
    dropped first)."""

    def __init__(self, run_dir: Path, columns: list[str], start_iter: int):
        self.path, self.columns = run_dir / "metrics.csv", columns
        self.previous: list[dict] = []
        if start_iter > 0 and self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            header = lines[0].split(",") if lines else columns
            kept = [ln for ln in lines[1:] if ln and int(float(ln.split(",")[0])) <= start_iter]
            self.previous = [dict(zip(header, map(float, ln.split(",")), strict=False))
                             for ln in kept]
            if len(kept) != len(lines) - 1:
                self.path.write_text("\n".join([lines[0], *kept]) + "\n", encoding="utf-8")
            self.columns = header
        else:
            self.path.write_text(",".join(columns) + "\n", encoding="utf-8")
        self.file = self.path.open("a", encoding="utf-8")

    def write(self, row: dict) -> None:
        self.file.write(",".join(_fmt(row.get(c, float("nan"))) for c in self.columns) + "\n")
        self.file.flush()


def _fmt(v) -> str:
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def save_checkpoint(run_dir: Path, problem: Problem, state: LoopState) -> Path:
    """checkpoint.npz — parameters, optimizer state (incl. its generator), loop state —
    written to a temporary file, flushed, then renamed over the old one (atomic)."""
    arrays = {"x": problem.params.flat, "base_dir": np.array(str(problem.cfg.base_dir)),
              "dtype": np.array(problem.cfg.dtype)}
    for k, v in vars(state).items():
        arrays[f"loop.{k}"] = np.array(v)
    for k, v in problem.optimizer.state_dict().items():
        if v is not None:
            arrays[f"opt.{k}"] = np.asarray(v)
    path, tmp = run_dir / "checkpoint.npz", run_dir / ".checkpoint.tmp.npz"
    with tmp.open("wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _scalar(a: np.ndarray):
    if a.ndim == 0:
        return str(a) if a.dtype.kind == "U" else a.item()
    return a


def load_checkpoint(path: Path, problem: Problem) -> tuple[dict, dict]:
    """Restore the parameters in place; return (optimizer state, loop state)."""
    if not path.exists():
        raise InputError(f"--resume: no checkpoint at {path}")
    try:
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable checkpoint ({exc})") from None
    x = data.get("x")
    if x is None or x.shape != problem.params.flat.shape:
        raise InputError(f"{path}: checkpoint has {None if x is None else x.size} parameters, "
                         f"the config's model has {problem.params.size}")
    np.copyto(problem.params.flat, x.astype(problem.params.dtype, copy=False))
    opt = {k[4:]: _scalar(v) for k, v in data.items() if k.startswith("opt.")}
    loop = {k[5:]: _scalar(v) for k, v in data.items() if k.startswith("loop.")}
    return opt, loop


def checkpoint_base_dir(path: Path) -> Path | None:
    """The config directory a run was started from (relative data paths resolve there)."""
    with np.load(path) as f:
        return Path(str(f["base_dir"])) if "base_dir" in f.files else None


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".tmp")
    text = json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _json_default(o):
    if isinstance(o, (np.generic,)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def plot_history(path: Path, history: list[dict], main: str, title: str) -> None:
    """loss.png: objective (train) and validation loss, and the main metric, per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    it = np.array([r["iteration"] for r in history], dtype=float)
    series = {k: np.array([r.get(k, np.nan) for r in history], dtype=float)
              for k in ("loss", "val_loss", main.replace("val_", "train_"), main)}
    for v in series.values():   # a diverging run's last values would break the axes
        v[~(np.abs(v) < 1e100)] = np.nan
    panels = 2 if main != "loss" else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), squeeze=False)
    ax = axes[0, 0]
    ax.plot(it, series["loss"], label="training objective")
    if np.isfinite(series["val_loss"]).any():
        ax.plot(it, series["val_loss"], label="validation loss")
    finite = series["loss"][np.isfinite(series["loss"])]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="loss")
    ax.legend()
    if panels == 2:
        ax = axes[0, 1]
        for key in dict.fromkeys((main.replace("val_", "train_"), main)):
            if np.isfinite(series[key]).any():
                ax.plot(it, series[key], label=key)
        ax.set(xlabel="iteration", ylabel=main.split("_", 1)[-1])
        ax.legend()
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class _CallableModule(types.ModuleType):
    """``fitcli.fit(config, ...)`` is the notebook API (:func:`fitcli.api.fit`), yet
    ``fitcli.fit`` is also this module once imported (Python binds a submodule to its
    package's attribute); making the module callable keeps both meanings working."""

    def __call__(self, *args, **kwargs):
        from .api import fit

        return fit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
