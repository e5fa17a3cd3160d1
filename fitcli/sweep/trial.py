"""One trial of a sweep: its config (the base with its changes), its run folder, its row.

:func:`run_trial` is what an executor runs, in this process or another one (a pool
worker, a Dask worker): it takes a picklable :class:`Task`, fits it by the one loop
(:func:`fitcli.loop.run`) into ``<sweep>/<trial>/`` (resuming from the folder's
checkpoint when an earlier sweep was interrupted there) and returns a plain dict. It
never raises for the trial's own failures: a value the config refuses, a diverged fit,
anything else that breaks is the trial's status.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FINISHED", "Task", "finished_result", "run_trial", "trial_config"]

FINISHED = ("done", "diverged")   # a rerun skips these (the same fit would end the same way)


@dataclass(frozen=True)
class Task:
    index: int
    name: str                     # the folder name under the sweep folder
    changes: dict                 # dotted config key -> value
    run_dir: str                  # absolute path of the trial's run folder
    raw: dict                     # the base config, resolved (Config.resolved)
    base_dir: str                 # where the config's relative paths resolve
    cfg_name: str


def trial_config(task: Task):
    """The trial's resolved Config (a ConfigError when the changes are refused)."""
    from .. import config as C

    raw = C.apply_overrides(task.raw, dict(task.changes))
    return C.resolve(raw, Path(task.base_dir), task.cfg_name)


def _result(task: Task, status: str, wall: float, summary: dict | None = None,
            score=None, error: str = "") -> dict:
    """``seconds``: the fit's (over all its sessions when resumed); ``wall``: this call's."""
    s = summary or {}
    return {"index": task.index, "name": task.name, "params": dict(task.changes),
            "status": status, "seconds": s.get("seconds", round(wall, 4)),
            "wall": round(wall, 4), "loss": s.get("loss"),
            "metrics": s.get("metrics", {}), "iterations": s.get("iterations"),
            "score": score, "error": error, "resumed_from": s.get("resumed_from")}


def finished_result(task: Task) -> dict | None:
    """The result of a trial an earlier sweep finished (summary.json status done or
    diverged), or None."""
    path = Path(task.run_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if summary.get("status") not in FINISHED:
        return None
    meta = _read_meta(Path(task.run_dir))
    return {**_result(task, summary["status"], 0.0, summary, meta.get("score")),
            "skipped": True}


def _read_meta(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "trial.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_trial(task: Task, callback=None, handle_signals: bool = True) -> dict:
    """Fit the trial (resuming its checkpoint if one is there); its result dict."""
    from ..errors import FitcliError
    from ..runfolder import write_json, write_text

    t0 = time.perf_counter()
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {"index": task.index, "name": task.name, "params": task.changes}
    write_json(run_dir / "trial.json", meta)
    try:
        import numpy as np

        from .. import loop
        from ..problem import build

        cfg = trial_config(task)
        problem = build(cfg)
        score = list(problem.model.score())
        resume = run_dir if (run_dir / "checkpoint.npz").exists() else None
        with np.errstate(over="ignore", invalid="ignore"):   # divergence is a status here
            out = loop.run(problem, run_dir, callback=callback, resume=resume,
                           handle_signals=handle_signals)
    except FitcliError as exc:      # a value the config (or the data) refuses
        return _result(task, "error", time.perf_counter() - t0, error=str(exc))
    except Exception as exc:        # never stops the sweep; the traceback is kept
        write_text(run_dir / "error.txt", traceback.format_exc())
        return _result(task, "error", time.perf_counter() - t0,
                       error=f"{type(exc).__name__}: {exc} (see {run_dir / 'error.txt'})")
    seconds = time.perf_counter() - t0
    write_json(run_dir / "trial.json", {**meta, "score": score})
    return _result(task, out.summary["status"], seconds, out.summary, score)
