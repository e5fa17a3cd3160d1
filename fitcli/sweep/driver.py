"""Run a sweep: the trials of a :class:`~fitcli.sweep.space.Space` on an executor, into one
sweep folder, resumably.

The folder holds ``sweep.json`` (the base config and the search: a rerun must declare
the same sweep), a lock (two sweeps never write into one folder), one ordinary run folder
per trial (``trial-0007/``), ``sweep.csv`` (rewritten after every trial, so an
interrupted sweep leaves the table of what finished), ``best.json``, ``best`` and
``sweep.png``. A rerun skips the trials whose summary.json says done or diverged and
resumes the others from their checkpoints. SIGINT/SIGTERM stop the scheduling; running
trials checkpoint (their own loop sees the signal) and the table is written.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..errors import ConfigError, FitcliError
from .space import Space
from .table import SweepTable, make_table, metric_of, write_results
from .trial import Task, finished_result, trial_config

__all__ = ["run_space"]


@contextlib.contextmanager
def _lock(folder: Path):
    """An exclusive lock on ``folder/.sweep.lock`` (released when this process ends)."""
    try:
        import fcntl
    except ImportError:      # not POSIX: no lock
        yield
        return
    f = (folder / ".sweep.lock").open("a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise FitcliError(f"--out {folder}: another sweep is writing there (wait for it, "
                          "or choose another folder)") from None
    try:
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


def _signals():
    """The first SIGINT/SIGTERM sets a flag (stop scheduling); a second interrupts: the
    loop's handlers (:func:`fitcli.loop.signals`)."""
    from ..loop import signals

    return signals(True)


def _record(folder: Path, cfg, space: Space, metric, mode) -> None:
    """sweep.json; a folder holding another sweep is refused."""
    from ..runfolder import write_json

    record = json.loads(json.dumps({"config": cfg.resolved, "space": space.describe()},
                                   default=str))
    path = folder / "sweep.json"
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if {k: old.get(k) for k in record} != record:
            raise FitcliError(f"--out {folder}: holds a different sweep (its sweep.json: "
                              "another config or search); choose another --out")
    elif folder.exists() and any(p.name != ".sweep.lock" for p in folder.iterdir()):
        raise FitcliError(f"--out {folder}: exists and is not a sweep folder")
    write_json(path, {**record, "metric": metric, "mode": mode})


def _tasks(cfg, space: Space, folder: Path, names=None) -> list[Task]:
    trials = space.trials(cfg.seed)
    names = names or [f"trial-{i:04d}" for i in range(len(trials))]
    return [Task(i, names[i], changes, str((folder / names[i]).resolve()), cfg.resolved,
                 str(cfg.base_dir), cfg.name) for i, changes in enumerate(trials)]


def _precheck(tasks: list[Task]) -> None:
    """Every trial's config resolved now (cheap): when none is valid the sweep itself is
    wrong (a misspelt key), one error line; otherwise a refused value is its trial's."""
    errors = []
    for t in tasks:
        try:
            trial_config(t)
        except ConfigError as exc:
            errors.append(exc)
    if tasks and len(errors) == len(tasks):
        raise errors[0]


def run_space(cfg, space: Space, folder: Path, executor, *, metric: str | None = None,
              mode: str | None = None, on_result=None, names=None, write_table=True
              ) -> SweepTable:
    """Run the sweep; the table (``interrupted`` when a signal stopped it).

    ``on_result(result, table)`` after each trial; ``names``: the trials' folder names
    (default trial-0000, ...); ``write_table``: sweep.csv/png/best (solve --sweep writes
    its own).
    """
    if mode not in (None, "min", "max"):
        raise ConfigError("--mode", "min or max", mode)
    folder = Path(folder)
    tasks = None
    if space.search == "tpe":
        from .tpe import require

        require(metric)
    else:
        tasks = _tasks(cfg, space, folder, names)
        _precheck(tasks)         # before the folder exists: a wrong sweep leaves nothing
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        if write_table:
            _record(folder, cfg, space, metric, mode)
        state = _State(space.keys, metric, mode, folder, on_result, write_table)
        if tasks is None:
            from .tpe import run_tpe

            return run_tpe(cfg, space, folder, executor, state, _signals)
        with _signals() as flag:
            _schedule(tasks, executor, state, flag)
        return state.finish()


class _State:
    """The results so far; the table rewritten after each."""

    def __init__(self, keys, metric, mode, folder, on_result, write_table):
        self.keys, self.metric, self.mode = keys, metric, mode
        self.folder, self.on_result, self.write_table = folder, on_result, write_table
        self.results: dict[int, dict] = {}
        self.interrupted = False

    def add(self, result: dict) -> None:
        self.results[result["index"]] = result
        if self.metric is None and result.get("score"):
            self.metric, score_mode = result["score"]
            self.mode = self.mode or score_mode
        table = self.table()
        if self.write_table:
            write_results(self.folder, table, figure=False)
        if self.on_result is not None:
            self.on_result(result, table)

    def table(self) -> SweepTable:
        results = [self.results[i] for i in sorted(self.results)]
        t = make_table(results, self.keys, self.metric, self.mode or "min")
        t.interrupted, t.folder = self.interrupted, self.folder
        return t

    def finish(self) -> SweepTable:
        table = self.table()
        if self.write_table:
            write_results(self.folder, table)
        return table


def _lost(task: Task, exc: BaseException, interrupted: bool) -> dict:
    status = "interrupted" if interrupted else "error"
    return {"index": task.index, "name": task.name, "params": dict(task.changes),
            "status": status, "seconds": None, "loss": None, "metrics": {},
            "error": f"the worker was lost ({type(exc).__name__}: {exc}); a rerun resumes it"}


def _schedule(tasks: list[Task], executor, state: _State, flag: dict) -> None:
    """Keep ``executor.slots`` trials running until all are done or a signal came."""
    queue = []
    for t in tasks:
        done = finished_result(t)
        if done is not None:
            state.add(done)
        else:
            queue.append(t)
    running: dict = {}
    try:
        while queue or running:
            while queue and len(running) < executor.slots and flag["signal"] is None:
                t = queue.pop(0)
                try:
                    running[executor.submit(t)] = t
                except Exception as exc:      # a broken pool: each trial says so, in turn
                    state.add(_lost(t, exc, False))
            if not running:
                break
            done, _ = executor.wait(set(running))
            for fut in done:
                t = running.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:      # a worker process died: the trial's status
                    result = _lost(t, exc, flag["signal"] is not None)
                if result["status"] == "interrupted":
                    flag["signal"] = flag["signal"] or "SIGINT"
                state.add(result)
    except KeyboardInterrupt:         # a second signal: stop at once
        flag["signal"] = flag["signal"] or "SIGINT"
        for t in running.values():
            state.add(_lost(t, KeyboardInterrupt("a second signal"), True))
    finally:
        state.interrupted = flag["signal"] is not None
        if state.interrupted:
            executor.interrupt()


def best_value(table: SweepTable):
    """The best row's metric value (None when nothing is scored)."""
    return None if table.best is None else metric_of(table.results[table.best], table.metric)
