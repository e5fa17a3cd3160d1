"""The files of a run folder: metrics.csv, checkpoint.npz, summary.json, loss.png.

Written by the loop (:mod:`fitcli.loop`); read back by ``--resume`` and by commands
that use a finished run (``fitcli sample``). Checkpoints and JSON files are written to
a temporary file and renamed (atomic). Nothing here prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .problem import Problem

__all__ = ["BASE_COLUMNS", "Checkpoint", "MetricsWriter", "checkpoint_base_dir",
           "choose_run_dir", "plot_history", "read_checkpoint", "restore_parameters",
           "save_checkpoint", "write_json", "write_text"]

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
                write_text(self.path, "\n".join([lines[0], *kept]) + "\n")
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


def save_checkpoint(run_dir: Path, problem: Problem, loop_state: Mapping) -> Path:
    """checkpoint.npz — parameters of the current stage, optimizer state (incl. its
    generator), loop state, the model's stage state — written to a temporary file,
    flushed, then renamed over the old one (atomic)."""
    arrays = {"x": problem.params.flat, "base_dir": np.array(str(problem.cfg.base_dir)),
              "dtype": np.array(problem.cfg.dtype)}
    for k, v in loop_state.items():
        arrays[f"loop.{k}"] = np.array(v)
    for k, v in problem.optimizer.state_dict().items():
        if v is not None:
            arrays[f"opt.{k}"] = np.asarray(v)
    for k, v in problem.model.state_arrays().items():
        arrays[f"model.{k}"] = np.asarray(v)
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


@dataclass
class Checkpoint:
    """What :func:`read_checkpoint` found: the flat parameters of the saved stage and the
    optimizer, loop and model state by key."""

    x: np.ndarray
    optimizer: dict
    loop: dict
    model: dict
    base_dir: Path | None = None      # the config's directory the run was started from


def read_checkpoint(path: Path) -> Checkpoint:
    """Read checkpoint.npz; a missing or unreadable file is one InputError line."""
    if not path.exists():
        raise InputError(f"--resume: no checkpoint at {path}")
    try:
        with np.load(path) as f:
            data = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: unreadable checkpoint ({exc})") from None
    if "x" not in data:
        raise InputError(f"{path}: not a fitcli checkpoint (no parameters)")

    def part(prefix):
        return {k[len(prefix):]: _scalar(v) for k, v in data.items() if k.startswith(prefix)}

    base = Path(str(data["base_dir"])) if "base_dir" in data else None
    return Checkpoint(data["x"], part("opt."), part("loop."), part("model."), base)


def restore_parameters(path: Path, ck: Checkpoint, problem: Problem) -> None:
    """Copy the checkpoint's parameters into ``problem`` (shapes checked)."""
    x = ck.x
    if x.shape != problem.params.flat.shape:
        raise InputError(f"{path}: checkpoint has {x.size} parameters, the config's model "
                         f"has {problem.params.size}")
    np.copyto(problem.params.flat, x.astype(problem.params.dtype, copy=False))


def checkpoint_base_dir(path: Path) -> Path | None:
    """The config directory a run was started from (relative data paths resolve there)."""
    with np.load(path) as f:
        return Path(str(f["base_dir"])) if "base_dir" in f.files else None


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically: a temporary file beside it, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, obj: dict) -> None:
    write_text(path, json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False)
               + "\n")


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
    stage = np.array([r.get("stage", 0) for r in history])
    if stage.max() > 0:    # one segment per stage: each level's objective has its own scale
        for s in np.unique(stage):
            sel = stage == s
            ax.plot(it[sel], series["loss"][sel], label=f"objective, stage {int(s)}")
    else:
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
        ax.set(xlabel="iteration", ylabel=main.split("_", 1)[-1]
               if main.startswith(("train_", "val_")) else main)
        ax.legend()
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def choose_run_dir(default: Path, out_opt: Path | None, resume: Path | None
                   ) -> tuple[Path, str | None]:
    """The run folder: --resume's, --out's (must be new or empty), or ``default``
    (output.dir or runs/<name>), where an existing folder is never overwritten: the next
    free numbered sibling is used, and the note returned says so."""
    if resume is not None:
        if not (resume / "checkpoint.npz").exists():
            raise InputError(f"--resume: no checkpoint.npz in {resume}")
        return resume, None
    if out_opt is not None:
        if out_opt.exists() and (not out_opt.is_dir() or any(out_opt.iterdir())):
            raise InputError(f"--out {out_opt}: exists and is not empty (continue it with "
                             f"--resume {out_opt}, or choose another folder)")
        return out_opt, None
    base = Path(default)
    if not base.exists() or (base.is_dir() and not any(base.iterdir())):
        return base, None
    k = 2
    while Path(f"{base}-{k}").exists():
        k += 1
    sibling = Path(f"{base}-{k}")
    return sibling, f"{base} exists; writing to {sibling} instead"
