"""Super-resolution's figures: recovered.png, observed.png, bicubic.png, comparison.png."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...data.images import save_image
from .baseline import nearest_upscale


# -- figures -----------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _title(name: str, m: dict | None) -> str:
    if not m:
        return name
    return f"{name}\nPSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}"


def comparison_figure(path: str | Path, panels: Sequence[tuple[str, np.ndarray, dict | None]],
                      suptitle: str = "") -> Path:
    """Images side by side, each titled with its name (and PSNR / SSIM when given).

    ``panels``: (name, image in [0, 1] (H, W) or (H, W, 3), metrics dict or None).
    """
    plt = _pyplot()
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.6), squeeze=False)
    for ax, (name, img, m) in zip(axes[0], panels, strict=True):
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(_title(name, m), fontsize=11)
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94) if suptitle else None)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def write_figures(run_dir: str | Path, *, recovered: np.ndarray, observed: np.ndarray,
                  baseline: np.ndarray, factor: int, truth: np.ndarray | None = None,
                  metrics: dict | None = None, suptitle: str = "",
                  baseline_label: str = "bicubic") -> list[str]:
    """recovered.png, observed.png (nearest-neighbour ×factor), bicubic.png, comparison.png.

    ``metrics``: ``{"recovered": {psnr, ssim}, "bicubic": {...}}`` when the truth is known.
    Returns the file names written.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = metrics or {}
    obs_view = nearest_upscale(observed, factor)
    save_image(run_dir / "recovered.png", recovered)
    save_image(run_dir / "observed.png", obs_view)
    save_image(run_dir / "bicubic.png", baseline)
    panels = [] if truth is None else [("ground truth", truth, None)]
    panels += [(f"observed (×{factor}, nearest)", obs_view[:recovered.shape[0],
                                                           :recovered.shape[1]], None),
               (baseline_label, baseline, metrics.get("bicubic")),
               ("recovered", recovered, metrics.get("recovered"))]
    comparison_figure(run_dir / "comparison.png", panels, suptitle)
    return ["recovered.png", "observed.png", "bicubic.png", "comparison.png"]
