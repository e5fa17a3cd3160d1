"""Figures and files of a registration run (matplotlib, Agg; nothing printed).

* ``warped.png``        moving(x + u(x)), which should look like the fixed image
* ``difference_before.png`` / ``difference_after.png``  moving − fixed and warped − fixed,
  on one symmetric colour scale (blue negative, red positive) so the two compare
* ``grid.png``          the fixed image under the deformed grid x ↦ x + u(x) (every 8 px)
* ``jacobian.png``      det(I + ∇u) per pixel; folds (det ≤ 0) outlined in black
* ``displacement.npy``  u, shape (2, H, W), row then column component (scikit-image flow)
* ``fixed.png``, ``moving.png`` (the loop draws ``loss.png``, one colour band per level)
* ``endpoint_error.png``  |u − truth| per pixel, for a synthetic pair
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import jacobian_determinant

__all__ = ["write_outputs"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_difference(path: Path, diff: np.ndarray, vmax: float, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(diff, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def grid_figure(path: Path, fixed: np.ndarray, u: np.ndarray, spacing: int = 8) -> None:
    """The fixed image under the curves x + u(x) along every ``spacing``-th row and column."""
    plt = _plt()
    h, w = fixed.shape
    step = max(1, int(spacing))
    fig, ax = plt.subplots(figsize=(5.2, 5.2 * h / w))
    ax.imshow(fixed, cmap="gray", vmin=0, vmax=max(1.0, float(fixed.max())))
    rows = np.arange(h)[:, None] + u[0]
    cols = np.arange(w)[None, :] + u[1]
    for i in range(0, h, step):
        ax.plot(cols[i], rows[i], color="yellow", lw=0.5)
    for j in range(0, w, step):
        ax.plot(cols[:, j], rows[:, j], color="yellow", lw=0.5)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title("deformed grid x + u(x) over the fixed image", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def jacobian_figure(path: Path, u: np.ndarray) -> None:
    """det(I + ∇u) with folds (det ≤ 0) outlined."""
    plt = _plt()
    jac = jacobian_determinant(u)
    folds = jac <= 0
    spread = max(float(np.abs(jac - 1).max()), 1e-3)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(jac, cmap="PuOr_r", vmin=1 - spread, vmax=1 + spread)
    if folds.any():
        ax.contour(folds.astype(float), levels=[0.5], colors="black", linewidths=0.8)
    ax.set_title(f"Jacobian determinant: min {jac.min():.3f}, folded "
                 f"{100 * folds.mean():.2f}% of pixels", fontsize=9)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def error_figure(path: Path, u: np.ndarray, truth: np.ndarray) -> None:
    """|u − truth| per pixel (pixels), with its mean and 95th percentile."""
    plt = _plt()
    e = np.sqrt(((u - truth) ** 2).sum(axis=0))
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(e, cmap="magma", vmin=0, vmax=max(float(np.percentile(e, 99)), 1e-3))
    ax.set_title(f"endpoint error |u − truth|: mean {e.mean():.3f} px, "
                 f"p95 {np.percentile(e, 95):.3f} px", fontsize=9)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(run_dir: Path, fixed: np.ndarray, moving: np.ndarray, warped: np.ndarray,
                  u: np.ndarray, truth: np.ndarray | None = None
                  ) -> list[str]:
    """Write the run-folder files listed in the module docstring; return their names."""
    from ...data.images import save_image

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    np.save(run_dir / "displacement.npy", u)
    lo, hi = float(min(fixed.min(), moving.min())), float(max(fixed.max(), moving.max()))
    span = hi - lo if hi > lo else 1.0
    for name, img in (("fixed", fixed), ("moving", moving), ("warped", warped)):
        save_image(run_dir / f"{name}.png", (img - lo) / span)
    vmax = float(np.abs(moving - fixed).max()) or 1.0
    _save_difference(run_dir / "difference_before.png", moving - fixed, vmax,
                     f"moving − fixed (before), RMS {np.sqrt(np.mean((moving - fixed) ** 2)):.4f}")
    _save_difference(run_dir / "difference_after.png", warped - fixed, vmax,
                     f"warped − fixed (after), RMS {np.sqrt(np.mean((warped - fixed) ** 2)):.4f}")
    grid_figure(run_dir / "grid.png", (fixed - lo) / span, u)
    jacobian_figure(run_dir / "jacobian.png", u)
    names = ["displacement.npy", "fixed.png", "moving.png", "warped.png",
             "difference_before.png", "difference_after.png", "grid.png", "jacobian.png"]
    if truth is not None:
        error_figure(run_dir / "endpoint_error.png", u, truth)
        names.append("endpoint_error.png")
    return names
