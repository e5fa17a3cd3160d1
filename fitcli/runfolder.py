"""The files of a run folder: metrics.csv, checkpoint.npz, summary.json, loss.png.

Written by the loop (:mod:`fitcli.loop`); read back by ``--resume`` and by commands
that use a finished run (``fitcli sample``). Checkpoints and JSON files are written to
a temporary file and renamed (atomic). Nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError, excerpt

try:
    import fcntl
except ImportError:     # pragma: no cover - not POSIX
    fcntl = None

if TYPE_CHECKING:
    from .problem import Problem

__all__ = ["BASE_COLUMNS", "LOCK_NAME", "Checkpoint", "MetricsWriter", "check_writable",
           "checkpoint_base_dir", "choose_run_dir", "claim", "plot_history", "read_checkpoint",
           "restore_parameters", "save_checkpoint", "write_json", "write_text"]

LOCK_NAME = ".lock"     # present while a run writes the folder (see claim)
BASE_COLUMNS = ("iteration", "loss", "grad_norm", "step", "seconds", "nfev", "ngev")


class MetricsWriter:
    """metrics.csv: header once, one row per log; on resume the file is kept and appended
    (rows past the checkpoint's iteration, from a run killed without checkpointing, are
    dropped first)."""

    def __init__(self, run_dir: Path, columns: list[str], start_iter: int):
        self.path, self.columns = run_dir / "metrics.csv", columns
        self.previous: list[dict] = []
        if start_iter > 0 and self.path.exists():
            header, kept, rows = _read_metrics(self.path, columns, start_iter)
            self.previous, self.columns = rows, header
            write_text(self.path, "\n".join([",".join(header), *kept]) + "\n")
        else:
            write_text(self.path, ",".join(columns) + "\n")
        self.file = self.path.open("a", encoding="utf-8")

    def write(self, row: dict) -> None:
        self.file.write(",".join(_fmt(row.get(c, float("nan"))) for c in self.columns) + "\n")
        self.file.flush()


def _read_metrics(path: Path, columns: list[str], start_iter: int):
    """(header, the kept lines, their rows) of a run's metrics.csv up to ``start_iter``;
    a damaged file (binary, garbage, a header that is not this run's) is one InputError."""
    try:
        lines = read_text(path, "metrics file", 1 << 30).splitlines()
        header = lines[0].split(",") if lines else columns
        if header[:1] != ["iteration"]:
            raise ValueError("the first line is not a metrics.csv header")
        kept = [ln for ln in lines[1:] if ln and int(float(ln.split(",")[0])) <= start_iter]
        rows = [dict(zip(header, map(float, ln.split(",")), strict=False)) for ln in kept]
    except ValueError as exc:
        raise InputError(f"{path}: damaged metrics file ({excerpt(str(exc), 100)}); move it "
                         "away to resume without the earlier rows") from None
    return header, kept, rows


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
    path = run_dir / "checkpoint.npz"
    with _temporary(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
        os.replace(tmp, path)
    return path


@contextlib.contextmanager
def _temporary(path: Path):
    """A temporary file beside ``path`` (named with our pid: a second process never
    shares it), removed if the write fails or is interrupted before the rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
    """Read checkpoint.npz; a missing, damaged or foreign file is one InputError line."""
    if not path.exists():
        raise InputError(f"--resume: no checkpoint at {path}")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except AttributeError:   # np.load of a .npy (not an archive) has no .files
        raise InputError(f"{path}: not a fitcli checkpoint (a single array)") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise InputError(f"{path}: unreadable or damaged checkpoint "
                         f"({excerpt(str(exc), 100)})") from None
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
    with _temporary(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def read_text(path: Path, what: str, limit: int) -> str:
    """A run folder's text file (regular, at most ``limit`` bytes, UTF-8) or ValueError."""
    if not path.is_file():
        raise ValueError("not a regular file")
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"the {what} is not UTF-8 text") from None


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
    """loss.png: objective (train) and validation loss, and the main metric, per iteration.

    Drawn on a bare Figure with the Agg canvas (no pyplot: no backend selection, no global
    figure registry, which a host program's own pyplot state is spared too) with fixed
    margins instead of tight_layout's text measuring: 0.11 → 0.08 s per figure, 0.4 → 0.34 s
    with matplotlib's import (measured)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    it = np.array([r["iteration"] for r in history], dtype=float)
    series = {k: np.array([r.get(k, np.nan) for r in history], dtype=float)
              for k in ("loss", "val_loss", main.replace("val_", "train_"), main)}
    for v in series.values():   # a diverging run's last values would break the axes
        v[~(np.abs(v) < 1e100)] = np.nan
    panels = 2 if main != "loss" else 1
    fig = Figure(figsize=(5.5 * panels, 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)
    ax = axes[0, 0]
    stage = np.array([r.get("stage", 0) for r in history])
    if stage.max() > 0:    # one segment per stage: each level's objective has its own scale
        for s in np.unique(stage):
            sel = stage == s
            ax.plot(it[sel], series["loss"][sel], label=f"objective, stage {int(s)}")
    else:
        ax.plot(it, series["loss"], label="training objective")
    if np.isfinite(series["val_loss"]).any():
        _sparse(ax, it, series["val_loss"], "validation loss")
    finite = series["loss"][np.isfinite(series["loss"])]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="loss")
    ax.legend()
    if panels == 2:
        ax = axes[0, 1]
        for key in dict.fromkeys((main.replace("val_", "train_"), main)):
            if np.isfinite(series[key]).any():
                _sparse(ax, it, series[key], key)
        ax.set(xlabel="iteration", ylabel=main.split("_", 1)[-1]
               if main.startswith(("train_", "val_")) else main)
        ax.legend()
    import textwrap

    lines = textwrap.wrap(title, 95 if panels == 1 else 110)   # fits the figure width
    fig.suptitle("\n".join(lines), fontsize=8)
    fig.subplots_adjust(left=1.0 / (5.5 * panels), right=1 - 0.03 / panels, bottom=0.12,
                        top=0.9 - 0.03 * max(len(lines) - 1, 0), wspace=0.25)
    fig.savefig(path, dpi=100)


def _sparse(ax, it: np.ndarray, v: np.ndarray, label: str) -> None:
    """A series drawn through its finite points only: minibatch rows (full_eval 0) leave
    the metrics blank, and a line would break at every gap."""
    ok = np.isfinite(v)
    ax.plot(it[ok], v[ok], label=label, marker="o" if ok.sum() < 20 else None, ms=3)


def choose_run_dir(default: Path, out_opt: Path | None, resume: Path | None
                   ) -> tuple[Path, str | None]:
    """The run folder: --resume's, --out's (must be new or empty), or ``default``
    (output.dir or runs/<name>), where an existing folder is never overwritten: the next
    free numbered sibling is used, and the note returned says so. The folder's place is
    checked to be writable (nothing is created here)."""
    if resume is not None:
        if not (resume / "checkpoint.npz").is_file():
            raise InputError(f"--resume: no checkpoint.npz in {resume}")
        return resume, None
    if out_opt is not None:
        # 'DIR/missing/..' is DIR once 'missing' exists: judge the folder it will be
        check_writable(out_opt, "--out", folder=True)
        real = Path(os.path.realpath(out_opt))
        if real.exists() and (not real.is_dir() or any(real.iterdir())):
            raise InputError(f"--out {out_opt}: exists and is not empty (continue it with "
                             f"--resume {real}, or choose another folder)")
        return (real if ".." in out_opt.parts else out_opt), None
    base = Path(default)
    check_writable(base if not base.exists() else base.parent, "run folder", folder=True)
    if not base.exists() or (base.is_dir() and not any(base.iterdir())):
        return base, None
    k = 2
    while Path(f"{base}-{k}").exists():
        k += 1
    sibling = Path(f"{base}-{k}")
    return sibling, f"{base} exists; writing to {sibling} instead"


def check_writable(path: Path, what: str, folder: bool = False) -> None:
    """Refuse up front (one line) a place that cannot be written: under a regular file,
    in a read-only folder, a dangling symbolic link, a name too long for the file system."""
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise InputError(f"{what} {path}: the name {part[:20]}... is longer than 255 "
                             "bytes (the file system's limit)")
    if path.is_symlink() and not path.exists():
        raise InputError(f"{what} {path}: a symbolic link to a missing target")
    if path.exists() and folder != path.is_dir():
        raise InputError(f"{what} {path}: exists and is {'not ' if folder else ''}a folder")
    if path.exists() and not folder and not path.is_file():
        raise InputError(f"{what} {path}: exists and is not a regular file (a device or pipe)")
    parent = path if path.exists() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path}: {parent} is not writable")


@contextlib.contextmanager
def claim(run_dir: Path):
    """Hold ``run_dir/.lock`` while a run writes the folder: an advisory lock (flock)
    plus our pid for the message. A second run on the folder is refused with one line;
    a dead owner's lock is taken over (the kernel releases a dead process's flock, so a
    crash never leaves the folder stuck)."""
    try:   # a place os.access calls writable may still refuse a folder (/proc, for root)
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"run folder {run_dir}: cannot be created ({exc.strerror})") from None
    path = run_dir / LOCK_NAME
    if fcntl is None:   # no advisory locks (Windows): no guard
        yield path
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise InputError(f"{run_dir}: in use by another fitcli run (pid {owner}); wait "
                             "for it to end, or use another folder") from None
        try:   # the owner may have removed the file as we opened it: lock the live one
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
