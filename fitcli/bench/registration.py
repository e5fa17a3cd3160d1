"""Registration benchmark: our multiscale solve against scikit-image's optical flow.

``python -m fitcli.bench.registration [--config configs/registration_phantom.yaml]
[--set KEY=VALUE ...] [--seeds 1,2,3]``

On the pair the config makes (default: the phantom, 256², smooth random deformation of
4 px, exact ground truth), for each deformation seed: mean and 95th-percentile endpoint
error over all pixels, folded pixels and seconds for

* fitcli: the config's registration run by the one loop (logging only at level ends),
* ``skimage.registration.optical_flow_tvl1`` (defaults),
* ``skimage.registration.optical_flow_ilk`` (defaults),

plus the error of the zero field. ``--realistic SIGMA``: the pair is made at twice the
resolution (image and deformation), block-averaged 2×2 to the config's size and given
Gaussian noise of σ = SIGMA (the truth: the fine displacement block-averaged and halved),
so the moving image is not made by fitcli's own interpolator.

Both scikit-image methods return the flow in the same convention as ours
(moving(x + u(x)) ≈ fixed(x)), so the numbers compare directly.
"""

from __future__ import annotations

import os

# One BLAS thread, as the CLI sets (before numpy loads): on a busy 2-core machine OpenBLAS's
# spinning threads made the phantom solve 70x slower (128², 4 levels: 1.9 s vs 136 s).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time
from pathlib import Path

import numpy as np

from ..data.base import DataContext
from ..models.registration.data import (
    endpoint_error,
    fold_fraction,
    load_registration_data,
    registration_pair,
)
from ..seeding import generators

DEFAULT = Path(__file__).resolve().parents[2] / "configs" / "registration_phantom.yaml"


def _config(path: Path, sets: list[str]):
    from .. import config as C

    return C.load(path, sets)


def pair(cfg, seed: int | None):
    """fixed, moving, truth for the config (deformation seed replaced when given)."""
    data = dict(cfg.data)
    if seed is not None and data.get("deformation") is not None:
        data["deformation"] = dict(data["deformation"], seed=seed)
    ctx = DataContext(Path(cfg.base_dir), generators(cfg.seed)["data"], np.dtype(cfg.dtype))
    ds = load_registration_data(ctx, **data)
    return ds.extras["fixed"], ds.extras["moving"], ds.extras["truth"]


def _block(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2]
                   + x[..., 1::2, 1::2])


def realistic_pair(cfg, seed: int | None, sigma: float):
    """fixed, moving, truth deformed at 2× the resolution, block-averaged, with noise."""
    from ..models.registration.data import make_deformation, make_moving

    data = dict(cfg.data)
    spec = dict(data.get("deformation") or {"type": "smooth_random"})
    size = int(data["resize"]) * 2
    rng = np.random.default_rng(spec.pop("seed", 0) if seed is None else seed)
    spec["magnitude"] = 2 * float(spec.get("magnitude", 4.0))
    if "shift" in spec:
        spec["shift"] = [2 * float(v) for v in spec["shift"]]
    ctx = DataContext(Path(cfg.base_dir), generators(cfg.seed)["data"], np.dtype(cfg.dtype))
    fine = load_registration_data(ctx, image=data["image"], resize=size,
                                  deformation={"type": "rotation", "angle": 0.0})
    f_hr = fine.extras["fixed"]
    u_hr, affine = make_deformation(f_hr.shape, rng, **spec)
    m_hr = make_moving(f_hr, u_hr, affine)
    noise = np.random.default_rng(12345)
    fixed = _block(f_hr) + sigma * noise.standard_normal((size // 2, size // 2))
    moving = _block(m_hr) + sigma * noise.standard_normal((size // 2, size // 2))
    return fixed, moving, _block(u_hr) * 0.5


def ours(cfg, fixed, moving):
    from ..api import run, with_changes
    from ..problem import build

    cfg = with_changes(cfg, {"output.every": 10 ** 9})   # rows only at each level's end
    res = run(cfg, None, problem=build(cfg, data=registration_pair(fixed, moving)),
              handle_signals=False)
    return res.problem.model.displacement(res.params)


def run(cfg, seeds: list[int | None], realistic: float | None = None) -> list[dict]:
    from skimage.registration import optical_flow_ilk, optical_flow_tvl1

    methods = {"fitcli": lambda f, m: ours(cfg, f, m),
               "optical_flow_tvl1": optical_flow_tvl1,
               "optical_flow_ilk": optical_flow_ilk,
               "zero field": lambda f, m: np.zeros((2,) + f.shape)}
    rows = []
    for seed in seeds:
        fixed, moving, truth = (pair(cfg, seed) if realistic is None else
                                realistic_pair(cfg, seed, realistic))
        if truth is None:
            raise SystemExit("the benchmark needs a synthetic pair (data.image + deformation)")
        for name, fn in methods.items():
            t0 = time.perf_counter()
            u = fn(fixed, moving)
            dt = time.perf_counter() - t0
            e = endpoint_error(u, truth)
            rows.append({"seed": seed, "method": name, "epe_mean": e["epe_mean"],
                         "epe_p95": e["epe_p95"], "folds": fold_fraction(u), "seconds": dt})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=DEFAULT)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--seeds", default="", help="deformation seeds, comma separated "
                    "(default: the config's)")
    ap.add_argument("--realistic", type=float, default=None, metavar="SIGMA",
                    help="deform at 2x resolution, block-average, add noise of this sigma")
    a = ap.parse_args(argv)
    cfg = _config(a.config, a.sets)
    seeds = [int(s) for s in a.seeds.split(",") if s] or [None]
    rows = run(cfg, seeds, a.realistic)
    print(f"{a.config.name}: {cfg.data}")
    print(f"{'seed':>5} {'method':<20}{'EPE mean':>10}{'EPE p95':>10}{'folds':>8}{'seconds':>9}")
    for r in rows:
        print(f"{str(r['seed']):>5} {r['method']:<20}{r['epe_mean']:>10.3f}{r['epe_p95']:>10.3f}"
              f"{r['folds']:>8.4f}{r['seconds']:>9.2f}")
    if len(seeds) > 1:
        for name in dict.fromkeys(r["method"] for r in rows):
            sel = [r for r in rows if r["method"] == name]
            print(f"{'mean':>5} {name:<20}{np.mean([r['epe_mean'] for r in sel]):>10.3f}"
                  f"{np.mean([r['epe_p95'] for r in sel]):>10.3f}"
                  f"{np.mean([r['folds'] for r in sel]):>8.4f}"
                  f"{np.mean([r['seconds'] for r in sel]):>9.2f}")


if __name__ == "__main__":
    main()
