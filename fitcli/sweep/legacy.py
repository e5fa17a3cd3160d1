"""``fitcli solve --sweep KEY=v1,v2,...``: a front-end over the sweep machinery.

Every trial is an ordinary run folder ``<sweep>/<key>=<value>/`` fitted by the one loop
(:func:`fitcli.api.run`), so ``--resume``, ``gradcheck`` and ``sample`` work on it. The
trials are scored by the model's :meth:`~fitcli.models.base.Model.score` (superres: the
recovered image's PSNR, when the truth is known); the sweep folder gets ``sweep.csv``
and ``sweep.png`` with the best value marked. A trial that fails (a diverged fit, a
value the config refuses) is recorded with its status and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config as C
from ..errors import FitcliError

__all__ = ["SweepResult", "parse_values", "run_sweep"]


@dataclass
class SweepResult:
    key: str
    values: list
    rows: list[dict]                   # value, the score's metrics, loss, status
    columns: list[str]                 # the metric columns of the rows
    score: str | None = None           # e.g. psnr; None when nothing scores the trials
    best: int | None = None            # index of the best row
    baseline: dict = field(default_factory=dict)   # e.g. the bicubic's {psnr, ssim}
    interrupted: bool = False


def parse_values(spec: str) -> tuple[str, list]:
    """``KEY=v1,v2,...`` → (key, values read as YAML)."""
    import yaml

    key, sep, text = spec.partition("=")
    values = [yaml.safe_load(v) for v in text.split(",") if v.strip()] if sep else []
    if not sep or not key.strip() or not values:
        raise FitcliError(f"--sweep: expected KEY=v1,v2,..., got {spec!r}")
    return key.strip(), values


def _trial_name(key: str, value) -> str:
    """A folder name, never a path: separators and '..' cannot escape the sweep folder;
    a value changed to fit (or cut to 80 characters) gets a short hash, so that two
    values never share a folder."""
    text = f"{key}={value}"
    name = "".join(c if c.isalnum() or c in "=.-_+" else "_" for c in text)
    while ".." in name:
        name = name.replace("..", "_")
    if name != text or len(name) > 80:
        import hashlib

        name = f"{name[:80]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return name


def _metrics_of(summary: dict, score: str | None) -> tuple[dict, dict]:
    """(the metrics of the score's group, the baseline group's) from a trial summary."""
    metrics = summary.get("metrics", {})
    if score is None:
        return {}, {}
    group, _, name = score.rpartition(".")
    if not group:
        return ({name: metrics[name]} if name in metrics else {}), {}
    mine = metrics.get(group, {})
    base = next((v for k, v in metrics.items() if k != group and isinstance(v, dict)
                 and name in v), {})
    return dict(mine), dict(base)


def run_sweep(cfg: C.Config, key: str, values: Sequence, run_dir: Path, *, executor=None,
              callback=None) -> SweepResult:
    """Fit ``cfg`` once per value of ``key``; write the trials, sweep.csv and sweep.png.

    The trials run through the sweep machinery (:func:`fitcli.sweep.driver.run_space`,
    sequential in this process unless ``executor`` says otherwise), each in its folder
    ``<key>=<value>/``; the table keeps this command's columns.
    """
    from .driver import run_space
    from .executors import Sequential
    from .space import Space

    space = Space(grid={key: list(values)})
    names = [_trial_name(key, v) for v in values]
    table = run_space(cfg, space, run_dir, executor or Sequential(callback), names=names,
                      write_table=False)
    score = table.metric
    rows, baseline, columns = [], {}, []
    for r in table.results:
        row = {"value": r["params"][key]}
        if r["status"] == "error":
            rows.append({**row, "status": f"error: {r['error']}"})
            continue
        mine, base = _metrics_of(r, score)
        baseline = base or baseline
        columns += [c for c in mine if c not in columns]
        rows.append({**row, **mine, "loss": r.get("loss"), "status": r["status"]})
    name = score.rpartition(".")[2] if score else None
    best = None
    if table.best is not None and name is not None:
        best = table.best
    result = SweepResult(key, list(values), rows, columns, name, best, baseline)
    _write_csv(run_dir / "sweep.csv", result)
    if best is not None:
        sweep_figure(run_dir / "sweep.png", result)
    result.interrupted = table.interrupted
    return result


def _write_csv(path: Path, res: SweepResult) -> None:
    from ..runfolder import write_text

    cols = ["value", *res.columns, "loss", "status", "best"]
    lines = [",".join(cols)]
    for i, r in enumerate(res.rows):
        cells = [str(r.get(c, "")) for c in cols[:-1]] + ["1" if i == res.best else ""]
        lines.append(",".join(c.replace(",", ";") for c in cells))
    write_text(path, "\n".join(lines) + "\n")


def sweep_figure(path: Path, res: SweepResult) -> Path:
    """The score against the swept value (log axis when all positive), the best marked;
    a second metric of the same group on a twin axis; the baseline's dashed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ok = [i for i, r in enumerate(res.rows) if res.score in r]
    try:
        v = np.array([float(res.rows[i]["value"]) for i in ok])
        labels = None
    except (TypeError, ValueError):    # names (an image, a kernel): one position each
        v, labels = np.arange(len(ok), dtype=float), [str(res.rows[i]["value"]) for i in ok]
    s = np.array([res.rows[i][res.score] for i in ok])
    b = ok.index(res.best)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(v, s, "o-", color="C0", label=res.score)
    ax.plot(v[b], s[b], "*", color="C3", markersize=16,
            label=f"best: {res.key} = {res.rows[res.best]['value']}, {res.score} {s[b]:.4g}")
    if res.score in res.baseline:
        ax.axhline(res.baseline[res.score], color="C0", ls="--", lw=1,
                   label=f"{res.score} (baseline)")
    ax.set_xlabel(res.key)
    ax.set_ylabel(res.score, color="C0")
    if labels is not None:
        ax.set_xticks(v, [t[:20] for t in labels])
    elif np.all(v > 0):
        ax.set_xscale("log")
    other = next((c for c in res.columns if c != res.score), None)
    if other is not None:
        ax2 = ax.twinx()
        ax2.plot(v, [res.rows[i].get(other, np.nan) for i in ok], "s-", color="C1",
                 label=other)
        ax2.set_ylabel(other, color="C1")
    ax.legend(loc="lower center", fontsize=8)
    ax.set_title(f"sweep over {res.key}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
