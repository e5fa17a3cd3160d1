"""sweep.png: the metric against one swept key (seeds as points around their mean), a
heat map over two (the mean over the others), parallel coordinates beyond; the best
trial marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["sweep_plot"]


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _axis(values) -> tuple[np.ndarray, list]:
    """Positions of the values on an axis and their tick labels (sorted if numbers)."""
    distinct = list(dict.fromkeys(str(v) if not _numeric([v]) else v for v in values))
    if _numeric(distinct):
        distinct = sorted(distinct)
    pos = {str(v): i for i, v in enumerate(distinct)}
    return np.array([pos[str(v)] for v in values], dtype=float), distinct


def sweep_plot(path: Path, table) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    m = table.metric
    rows = [r for r in table.rows if r["status"] == "done" and isinstance(r.get(m), float | int)]
    keys = [k for k in table.keys if k != "seed"] or table.keys
    best = table.best_row
    y = np.array([r[m] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    if len(keys) == 1:
        _one(ax, rows, keys[0], y, best, m)
    elif len(keys) == 2:
        _two(fig, ax, rows, keys, y, best, m)
    else:
        _parallel(fig, ax, rows, keys, y, best, m)
    ax.set_title(f"{m} ({table.mode} is best): best {best['trial']} = {best[m]:.5g}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _one(ax, rows, key, y, best, m) -> None:
    vals = [r[key] for r in rows]
    if _numeric(vals):
        x = np.array(vals, dtype=float)
        if np.all(x > 0) and x.max() / x.min() >= 100:
            ax.set_xscale("log")
        bx = float(best[key])
    else:
        x, labels = _axis(vals)
        ax.set_xticks(range(len(labels)), [str(v) for v in labels], rotation=20, fontsize=8)
        bx = x[[r["trial"] for r in rows].index(best["trial"])]
    ax.plot(x, y, "o", color="C0", alpha=0.5)
    ux = np.unique(x)
    ax.plot(ux, [y[x == u].mean() for u in ux], "-", color="C0", label=f"{m} (mean)")
    ax.plot(bx, best[m], "*", color="C3", markersize=16, label=f"best: {best['trial']}")
    ax.set_xlabel(key)
    ax.set_ylabel(m)
    ax.legend(fontsize=8)


def _two(fig, ax, rows, keys, y, best, m) -> None:
    xi, xl = _axis([r[keys[0]] for r in rows])
    yi, yl = _axis([r[keys[1]] for r in rows])
    grid = np.full((len(yl), len(xl)), np.nan)
    count = np.zeros_like(grid)
    np.add.at(count, (yi.astype(int), xi.astype(int)), 1)
    sums = np.zeros_like(grid)
    np.add.at(sums, (yi.astype(int), xi.astype(int)), y)
    grid[count > 0] = sums[count > 0] / count[count > 0]
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label=f"{m} (mean)")
    ax.set_xticks(range(len(xl)), [f"{v:g}" if _numeric([v]) else str(v) for v in xl],
                  fontsize=8)
    ax.set_yticks(range(len(yl)), [f"{v:g}" if _numeric([v]) else str(v) for v in yl],
                  fontsize=8)
    for (i, j), v in np.ndenumerate(grid):   # a few cells (a grid): their values written
        if np.isfinite(v) and grid.size <= 64:
            ax.text(j, i, f"{v:.4g}", ha="center", va="center", fontsize=7, color="w")
    k = [r["trial"] for r in rows].index(best["trial"])
    ax.plot(xi[k], yi[k], "*", color="C3", markersize=18, markeredgecolor="w")
    ax.set_xlabel(keys[0])
    ax.set_ylabel(keys[1])


def _parallel(fig, ax, rows, keys, y, best, m) -> None:
    cols = [_axis([r[k] for r in rows])[0] for k in keys] + [y]
    data = np.stack(cols, axis=1)
    lo, hi = np.nanmin(data, 0), np.nanmax(data, 0)
    norm = (data - lo) / np.where(hi > lo, hi - lo, 1.0)
    span = np.ptp(y) if np.ptp(y) > 0 else 1.0
    colors = matplotlib_cmap()((y - y.min()) / span)
    xs = np.arange(len(keys) + 1)
    for k in range(len(rows)):
        ax.plot(xs, norm[k], color=colors[k], alpha=0.6, lw=1)
    b = [r["trial"] for r in rows].index(best["trial"])
    ax.plot(xs, norm[b], color="C3", lw=3, label=f"best: {best['trial']}")
    ax.set_xticks(xs, [*keys, m], rotation=15, fontsize=8)
    ax.set_yticks([])
    ax.legend(fontsize=8)


def matplotlib_cmap():
    import matplotlib

    return matplotlib.colormaps["viridis"]
