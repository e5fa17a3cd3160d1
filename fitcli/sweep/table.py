"""A sweep's results: rows, the best trial, sweep.csv, best.json (+ a ``best`` link) and
sweep.png (the metric against one key; a heat map for two; parallel coordinates beyond).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SweepTable", "metric_of", "write_results"]


@dataclass
class SweepTable:
    """What :func:`fitcli.api.sweep` returns: one row per trial (index order)."""

    keys: list[str]                    # the swept config keys
    rows: list[dict]                   # trial, the keys' values, status, metric, loss, ...
    metric: str | None = None
    mode: str = "min"
    best: int | None = None            # index into rows
    results: list[dict] = field(default_factory=list, repr=False)   # run_trial's dicts
    interrupted: bool = False
    folder: Path | None = None

    @property
    def best_row(self) -> dict | None:
        return None if self.best is None else self.rows[self.best]

    @property
    def columns(self) -> list[str]:
        cols = ["trial", *self.keys, "status", *([self.metric] if self.metric else []),
                "loss", "seconds"]
        extra = sorted({k for r in self.rows for k in r} - set(cols) - {"error"})
        return [*cols, *extra, "error"]


def flatten(metrics: dict) -> dict:
    """``{"recovered": {"psnr": x}}`` → ``{"recovered.psnr": x}``; numbers only."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update({f"{k}.{n}": w for n, w in v.items() if _number(w)})
        elif _number(v):
            out[k] = v
    return out


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def metric_of(result: dict, metric: str):
    """The metric's value in a trial result (``loss``, a flat or a dotted group name)."""
    if metric == "loss":
        return result.get("loss")
    return flatten(result.get("metrics", {})).get(metric)


def make_table(results: list[dict], keys: list[str], metric: str | None, mode: str
               ) -> SweepTable:
    rows = []
    for r in results:
        row = {"trial": r["name"], **{k: r["params"].get(k) for k in keys},
               "status": r["status"], "loss": r.get("loss"), "seconds": r.get("seconds")}
        if metric:
            row[metric] = metric_of(r, metric)
        row.update({k: v for k, v in flatten(r.get("metrics", {})).items() if k not in row})
        if r.get("error"):
            row["error"] = r["error"]
        rows.append(row)
    ok = [i for i, row in enumerate(rows) if row["status"] == "done" and metric
          and _number(row.get(metric)) and math.isfinite(row[metric])]
    best = None
    if ok:
        pick = max if mode == "max" else min
        best = pick(ok, key=lambda i: rows[i][metric])
    return SweepTable(list(keys), rows, metric, mode, best, list(results))


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    text = str(v)
    if any(c in text for c in ',"\n'):
        text = '"' + text.replace('"', '""').replace("\n", " ") + '"'
    return text


def write_results(folder: Path, table: SweepTable, figure: bool = True) -> None:
    """sweep.csv (every row, the best marked), best.json and the ``best`` link, and
    sweep.png when at least one trial is scored."""
    from ..runfolder import write_json, write_text

    cols = [*table.columns, "best"]
    lines = [",".join(cols)]
    for i, row in enumerate(table.rows):
        lines.append(",".join([*(_cell(row.get(c)) for c in cols[:-1]),
                               "1" if i == table.best else ""]))
    write_text(folder / "sweep.csv", "\n".join(lines) + "\n")
    if table.best is None:
        return
    row = table.best_row
    write_json(folder / "best.json", {"trial": row["trial"], "metric": table.metric,
                                      "mode": table.mode, "value": row[table.metric],
                                      "params": {k: row[k] for k in table.keys}})
    link = folder / "best"
    try:    # a convenience: best.json is the record
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(row["trial"], link, target_is_directory=True)
    except OSError:
        pass
    if figure:
        from .figure import sweep_plot

        sweep_plot(folder / "sweep.png", table)
