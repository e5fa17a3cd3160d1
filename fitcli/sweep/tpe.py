"""``--search tpe``: Optuna's TPE sampler proposes each next trial from the finished ones
(ask/tell; an optional extra: ``pip install 'fitcli[optuna]'``). Trials are the same run
folders; a rerun replays the finished trials (their trial.json and summary.json) into
the study, resumes the unfinished ones and asks for the rest.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import FitcliError
from .trial import Task, finished_result

OPTUNA_HINT = "pip install 'fitcli[optuna]' (optuna)"


def _distributions(space):
    import optuna.distributions as D

    out = {}
    for k, d in space.sample.items():
        lo, hi = (d.args + (None, None))[:2]
        out[k] = {"uniform": lambda: D.FloatDistribution(lo, hi),
                  "loguniform": lambda: D.FloatDistribution(lo, hi, log=True),
                  "int": lambda: D.IntDistribution(lo, hi),
                  "logint": lambda: D.IntDistribution(lo, hi, log=True),
                  "choice": lambda: D.CategoricalDistribution(list(d.args))}[d.kind]()
    return out


def _value(result, metric):
    from .table import metric_of

    v = metric_of(result, metric) if result["status"] == "done" else None
    return v if isinstance(v, int | float) and math.isfinite(v) else None


def require(metric) -> None:
    """Optuna installed and a metric named (before the sweep folder is made)."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise FitcliError(f"--search tpe: Optuna is not installed: {OPTUNA_HINT}") from None
    if metric is None:
        raise FitcliError("--search tpe: give --metric (and --mode) to optimise")


def run_tpe(cfg, space, folder: Path, executor, state, signals):
    """Ask, run, tell until ``space.n_trials`` trials exist (``executor.slots`` at once);
    ``state`` collects the results (the driver's), ``signals`` the driver's handler."""
    import optuna

    metric, mode = state.metric, state.mode or "min"
    state.mode = mode
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = _distributions(space)
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=cfg.seed))

    def task(i, params):
        name = f"trial-{i:04d}"
        return Task(i, name, params, str((folder / name).resolve()), cfg.resolved,
                    str(cfg.base_dir), cfg.name)

    queue, total = [], space.n_trials
    for i in range(total):                       # replay what an earlier run left
        meta = folder / f"trial-{i:04d}" / "trial.json"
        if not meta.exists():
            break
        t = task(i, json.loads(meta.read_text(encoding="utf-8"))["params"])
        done = finished_result(t)
        if done is None:
            queue.append(t)
            continue
        state.add(done)
        v = _value(done, metric)
        study.add_trial(optuna.trial.create_trial(
            params=t.changes, distributions=dists, value=v,
            state=optuna.trial.TrialState.COMPLETE if v is not None
            else optuna.trial.TrialState.FAIL))
    asked = {}
    nxt = len(state.results) + len(queue)
    running: dict = {}
    with signals() as flag:
        while (queue or nxt < total or running) and not (flag["signal"] and not running):
            while len(running) < executor.slots and flag["signal"] is None and (
                    queue or nxt < total):
                if queue:
                    t = queue.pop(0)
                else:
                    trial = study.ask(dists)
                    t = task(nxt, trial.params)
                    asked[t.index], nxt = trial, nxt + 1
                running[executor.submit(t)] = t
            done, _ = executor.wait(set(running))
            for fut in done:
                t = running.pop(fut)
                result = fut.result()
                if result["status"] == "interrupted":
                    flag["signal"] = flag["signal"] or "SIGINT"
                elif t.index in asked:
                    v = _value(result, metric)
                    study.tell(asked[t.index], v, state=None if v is not None
                               else optuna.trial.TrialState.FAIL)
                state.add(result)
        state.interrupted = flag["signal"] is not None
    return state.finish()
