"""``fitcli compare``: several optimizers on the same objective and start; figure and table.

Optimizer specs are ``name`` or ``name:key=value[:key=value...]`` (values read as YAML:
``gd:step=0.01``, ``lbfgs:history=5``, ``sgd:step=0.1:momentum=0.9``,
``lbfgs:bounds=[0,1]``). The same optimizer may appear with several settings.

Every run is the one loop on the config with the spec's optimizer, from the config's
seeded initial point. After each step the full objective F = E + Σ g (non-smooth terms
included) is evaluated at the iterate, outside the timer, so curves are comparable
across methods whatever each reports (a minibatch loss, a loss at an extrapolated point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from . import config as C
from .config import coerce, options_of
from .errors import ConfigError, did_you_mean
from .optim import OPTIMIZERS
from .optim.base import Closure
from .problem import Problem, build, make_closure


@dataclass
class Run:
    """One optimizer's trajectory: full objective after each step (index 0: the start)."""

    spec: str
    losses: np.ndarray                  # (k + 1,)
    seconds: np.ndarray                 # (k + 1,) cumulative time inside step()
    nfev: np.ndarray                    # (k + 1,) cumulative evaluations
    status: str
    iterates: np.ndarray | None = None  # (k + 1, 2) for two-parameter objectives
    iters_to_target: int | None = None
    seconds_to_target: float | None = None


@dataclass
class Comparison:
    runs: list[Run]
    target: float
    f_ref: float                        # reference minimum (f_star or the best loss seen)
    table: list[dict] = field(default_factory=list)
    problem: Problem | None = None      # the objective at the start (level sets, formula)


def parse_spec(spec: str) -> tuple[str, dict]:
    """``'lbfgs:history=5'`` → ``('lbfgs', {'history': 5})``; errors name the spec."""
    parts = spec.strip().split(":")
    name = parts[0].strip()
    if name not in OPTIMIZERS:
        raise ConfigError("--optimizers", "one of " + " | ".join(OPTIMIZERS), name,
                          did_you_mean(name, OPTIMIZERS))
    allowed = options_of(OPTIMIZERS[name])
    options = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--optimizers {spec}", "options as key=value", part)
        if key not in allowed:
            raise ConfigError(f"--optimizers {spec}", f"an option of {name}: "
                              + ", ".join(allowed), key, did_you_mean(key, allowed))
        # typed like a config's optimizer section (PyYAML reads 1e-3 as a string)
        options[key] = coerce(yaml.safe_load(value), allowed[key].annotation,
                              f"--optimizers {spec}")
    return name, options


def _status(summary: dict, losses: np.ndarray) -> str:
    """The table's status of one run from the loop's summary."""
    reason = summary.get("stop_reason") or ""
    if summary["status"] != "done":
        return summary["status"]
    if reason.startswith("iterations"):
        return "diverging (the loss grew)" if losses[-1] > losses[0] else "iterations"
    if reason.startswith(("tol", "rtol")):
        return f"converged ({reason.split(':')[0]})"
    if reason.startswith("optimizer: converged"):   # no decrease measurable (line search)
        return "converged (rounding)"
    if reason.startswith("optimizer: "):
        return "stopped: " + reason[len("optimizer: "):]
    return reason.split(":")[0]


def _spec_config(cfg: C.Config, spec: str, iterations: int | None) -> C.Config:
    """``cfg`` with the optimizer of ``spec`` (its stop rules kept, iterations replaced)."""
    name, options = parse_spec(spec)
    stop = {k: cfg.resolved["optimizer"][k] for k in C.STOP_KEYS
            if k in cfg.resolved["optimizer"]}
    if iterations is not None:
        stop["iterations"] = iterations
    raw = {**cfg.resolved, "optimizer": {"type": name, **stop, **options},
           "output": {**cfg.resolved["output"], "every": 10 ** 9}}
    try:
        return C.resolve(raw, cfg.base_dir, cfg.name)
    except ConfigError as exc:
        raise ConfigError(f"--optimizers {spec}: {exc.field}", exc.expected, exc.got,
                          exc.hint) from None


def run_one(cfg: C.Config, spec: str, base: Problem, full, *, iterations: int | None = None,
            handle_signals: bool = True) -> Run:
    """One optimizer spec through the one loop (no run folder, no logging in between)."""
    from .api import run

    spec_cfg = _spec_config(cfg, spec, iterations)     # no rows logged in between
    try:
        problem = build(spec_cfg, data=base.data)
    except ConfigError as exc:
        raise ConfigError(f"--optimizers {spec}: {exc.field}", exc.expected, exc.got,
                          exc.hint) from None
    x0 = problem.params.flat.copy()
    track = x0.size == 2
    losses, secs, nfev = [full(x0)], [0.0], [0]
    iterates = [x0] if track else None

    def on_step(s):
        losses.append(full(s.x))
        secs.append(s.opt_seconds)
        nfev.append(s.nfev)
        if track:
            iterates.append(s.x.copy())

    with np.errstate(over="ignore", invalid="ignore"):   # divergence is an outcome here
        res = run(spec_cfg, None, problem=problem, on_step=on_step,
                  handle_signals=handle_signals)
    losses = np.array(losses)
    return Run(spec, losses, np.array(secs), np.array(nfev), _status(res.summary, losses),
               None if iterates is None else np.array(iterates))


def compare(cfg: C.Config, optimizers: Sequence[str], *, iterations: int | None = None,
            target: float | None = None, callback: Callable | None = None) -> Comparison:
    """Run each optimizer spec on ``cfg``'s objective from its initial point and tabulate.

    Parameters
    ----------
    cfg : a resolved config; its optimizer's stop rules (``tol``, ``rtol``,
        ``time_limit``) apply to every run, ``iterations`` replaces its iteration count
    optimizers : specs such as ``["gd", "gd:step=0.01", "nesterov", "lbfgs:history=5"]``
    target : loss to reach for the "iterations / seconds to target" columns; default
        F_ref + 1e-6·(F(x0) − F_ref), F_ref the known minimum of a test function, else
        the best loss any run found
    callback : called with each finished :class:`Run` (progress reporting)

    Every run is the one loop (:func:`fitcli.loop.run`) with the spec's optimizer; prox
    methods (ista, fista, pdhg) take the non-smooth terms by their prox, the others by
    (sub)gradients, and every curve is the full objective F = smooth part + Σ non-smooth
    values, evaluated after each step outside the timer.

    Returns
    -------
    Comparison with ``runs``, ``target``, ``f_ref`` and ``table`` (one dict per run:
    optimizer, status, final_loss, best_loss, iterations, seconds, evaluations,
    iters_to_target, seconds_to_target).
    """
    if not optimizers:
        raise ConfigError("--optimizers", "at least one optimizer spec, e.g. gd,lbfgs",
                          ",".join(optimizers))
    base = build(cfg)
    if len(base.model.stages()) > 1:
        raise ConfigError("model", "a single-stage objective for compare (this model fits "
                          f"in {len(base.model.stages())} stages; e.g. model.levels: 1)")
    smooth = make_closure(base, include_nonsmooth=False)
    terms = [t for _, t in base.nonsmooth]

    def full(z):
        return float(smooth(z, need_grad=False)[0]) + sum(t.value(z) for t in terms)

    runs = []
    for spec in optimizers:
        r = run_one(cfg, spec, base, full, iterations=iterations)
        runs.append(r)
        if callback is not None:
            callback(r)
        if r.status == "interrupted":
            break
    finite = [np.nanmin(r.losses) for r in runs if np.any(np.isfinite(r.losses))]
    f_star = getattr(smooth, "f_star", None)
    f_ref = float(f_star) if f_star is not None and not terms else (
        min(finite) if finite else float("nan"))
    starts = [r.losses[0] for r in runs if np.isfinite(r.losses[0])]
    f0 = starts[0] if starts else float("nan")
    if target is None:
        target = f_ref + 1e-6 * max(f0 - f_ref, abs(f_ref) * 1e-10, 1e-300)
    table = []
    for r in runs:
        hit = np.nonzero(r.losses <= target)[0]
        if hit.size:
            r.iters_to_target, r.seconds_to_target = int(hit[0]), float(r.seconds[hit[0]])
        ok = np.isfinite(r.losses)
        table.append({
            "optimizer": r.spec, "status": r.status,
            "final_loss": float(r.losses[-1]),
            "best_loss": float(np.min(r.losses[ok])) if ok.any() else float("nan"),
            "iterations": len(r.losses) - 1, "seconds": float(r.seconds[-1]),
            "evaluations": int(r.nfev[-1]),
            "iters_to_target": r.iters_to_target, "seconds_to_target": r.seconds_to_target,
        })
    return Comparison(runs, float(target), float(f_ref), table, base)


def plot_comparison(result: Comparison, path: str | Path, *, closure: Closure | None = None,
                    title: str = "") -> Path:
    """Save the figure: F − F_ref (log) against iterations and seconds; for a two-parameter
    objective (and ``closure`` given) a third panel with the iterates over level sets."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    two_d = closure is not None and any(r.iterates is not None for r in result.runs)
    fig, axes = plt.subplots(1, 3 if two_d else 2, figsize=(16 if two_d else 11, 4.6))
    floor = 1e-16 * max(1.0, abs(result.f_ref))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(result.runs):
        if not np.any(np.isfinite(r.losses)):
            continue
        gap = np.maximum(r.losses - result.f_ref, floor)
        c = colors[i % len(colors)]
        label = r.spec if r.status == "iterations" else f"{r.spec} ({_short(r.status)})"
        axes[0].semilogy(np.arange(len(gap)), gap, color=c, label=label)
        axes[1].semilogy(r.seconds, gap, color=c)
    for ax, xl in zip(axes[:2], ("iteration", "seconds (inside step)"), strict=True):
        ax.axhline(max(result.target - result.f_ref, floor), color="gray", ls=":", lw=1)
        ax.set_xlabel(xl)
        ax.set_ylabel("loss − F* (log)")
        ax.grid(True, which="major", alpha=0.3)
    fig.legend(loc="lower center", ncol=min(4, max(1, len(result.runs))), fontsize=8,
               frameon=False)
    axes[0].set_title(f"F* = {result.f_ref:.6g}; dotted: target")
    if two_d:
        _level_sets(axes[2], result, closure, colors)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 + 0.035 * ((len(result.runs) - 1) // 4), 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _short(status: str) -> str:
    """A legend-sized status: converged / stopped / diverged ..."""
    if "exactly zero" in status or "rounding" in status or status.startswith("converged"):
        return "converged"
    return status.split(":")[0].split(" (")[0]


def _level_sets(ax, result: Comparison, closure: Closure, colors) -> None:
    runs = [r for r in result.runs if r.iterates is not None]
    if not runs:
        return
    # frame the start's sublevel set: iterates of diverging runs leave the picture
    f0 = runs[0].losses[0]
    pts = np.concatenate([r.iterates[r.losses[:len(r.iterates)] <= f0] for r in runs])
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts):
        return
    lo, hi = pts.min(0), pts.max(0)
    # a square frame (equal aspect shows the zig-zag at right angles, as it is)
    half = 0.575 * max(float(np.max(hi - lo)), 1e-3)
    mid = 0.5 * (lo + hi)
    gx = np.linspace(mid[0] - half, mid[0] + half, 160)
    gy = np.linspace(mid[1] - half, mid[1] + half, 160)
    X, Y = np.meshgrid(gx, gy)
    P = np.stack([X.ravel(), Y.ravel()], axis=1)
    if hasattr(closure, "values"):
        Z = closure.values(P)
    else:   # no vectorised form: one evaluation per grid point (plotting only, 160²)
        Z = np.array([closure(p, need_grad=False)[0] for p in P])
    Z = Z.reshape(X.shape)
    finite = Z[np.isfinite(Z)]
    zmin, span = float(finite.min()), float(finite.max() - finite.min())
    # log-spaced levels above the minimum: the valley and the far field both show
    levels = zmin + np.geomspace(max(span * 1e-6, 1e-300), max(span, 1e-300), 22)
    ax.contour(X, Y, Z, levels=np.unique(levels), colors="0.65", linewidths=0.6)
    for i, r in enumerate(result.runs):
        if r.iterates is not None:
            ax.plot(r.iterates[:, 0], r.iterates[:, 1], ".-", color=colors[i % len(colors)],
                    ms=3, lw=1)
    ax.plot(*runs[0].iterates[0], "k*", ms=10)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_title("iterates over the level sets")
    ax.set_aspect("equal", adjustable="box")
