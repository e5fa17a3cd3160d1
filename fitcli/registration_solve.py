"""The multiscale registration solve: data loading, the coarse-to-fine L-BFGS loop, outputs.

``register(fixed, moving, ...)`` is the library entry point on arrays;
``solve_registration(cfg, run_dir)`` runs a resolved config (``fitcli solve``) and writes
the run folder: displacement.npy (2, H, W), warped.png, difference_before/after.png,
grid.png, jacobian.png, fixed.png, moving.png, loss.png, metrics.csv, summary.json.
Nothing here prints; progress goes to ``callback(row: dict)``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import engine as fe
from .data.base import DataContext
from .errors import ConfigError, FitFailed
from .models.registration import (
    Affine,
    Level,
    build_levels,
    level_objective,
    make_similarity,
    make_transform,
)
from .operators.warp import warp
from .registration import check_pair, data_rng, load_registration_data, pair_metrics
from .regularizers.fields import FIELD_REGULARIZERS

__all__ = ["RegistrationResult", "register", "solve_registration"]

# A squared k-th derivative energy on a level 2^L coarser weighs 4^{(k-1)L} times more
# against the data term than on the finest level; the weight is rescaled by 4^{-(k-1)L}
# so that it means the same on every level (k = 0: l2, 1: diffusion, tv, 2: bending).
LEVEL_POWER = {"bending": 1, "l2": -1, "tikhonov": -1}


# -- the solve ----------------------------------------------------------------------------------
@dataclass
class RegistrationResult:
    """What :func:`register` found."""

    displacement: np.ndarray                   # (2, H, W), moving(x + u(x)) ≈ fixed(x)
    warped: np.ndarray                         # moving(x + u(x)), (H, W)
    params: dict                               # final θ per stage (transform name → array)
    history: list = field(default_factory=list)
    affine: dict | None = None                 # matrix, shift, angle, scale (affine stage)
    seconds: float = 0.0
    status: str = "done"


def _per_level(iterations, levels: int) -> list[int]:
    if isinstance(iterations, (list, tuple)) and len(iterations) == 1:
        iterations = iterations[0]
    if isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool):
        its = [int(iterations)] * levels
    elif isinstance(iterations, (list, tuple)) and len(iterations) == levels:
        its = [int(i) for i in iterations]
    else:
        raise ConfigError("model.iterations",
                          f"a positive integer or a list of {levels} (one per level, "
                          "coarsest first)", iterations)
    if any(i < 0 for i in its):
        raise ConfigError("model.iterations", "non-negative integers", iterations)
    return its


def _make_optimizer(optimizer_cls, options: Mapping, x: np.ndarray):
    if optimizer_cls is None:
        from .optim import OPTIMIZERS

        optimizer_cls = OPTIMIZERS["lbfgs"]
    return optimizer_cls(x, **dict(options))


def _solve_level(objective: Callable, x: np.ndarray, iterations: int, optimizer_cls,
                 options: Mapping, tol: float, rtol: float, row0: dict, history: list,
                 callback, every: int = 1) -> np.ndarray:
    """Minimise ``objective`` over θ (starting at ``x``, shape kept) with the optimizer."""
    shape = x.shape
    flat = np.ascontiguousarray(x).reshape(-1).copy()

    def closure(z, batch=None, need_grad=True):
        if not need_grad:
            with fe.no_grad():
                return float(objective(fe.tensor(z.reshape(shape))).data), None
        theta = fe.Tensor(z.reshape(shape), requires_grad=True)
        total = objective(theta)
        total.backward()
        return float(total.data), theta.grad.reshape(-1).astype(z.dtype, copy=False)

    opt = _make_optimizer(optimizer_cls, options, flat)
    start, prev = time.perf_counter(), np.inf
    for k in range(iterations):
        info = opt.step(closure)
        row = dict(row0, iteration=len(history) + 1, level_iteration=k + 1, loss=info.loss,
                   grad_norm=info.grad_norm, step=info.step, seconds=time.perf_counter() - start)
        history.append(row)
        if not np.isfinite(info.loss):
            raise FitFailed(f"registration: non-finite objective at level {row0['level']} "
                            f"iteration {k + 1} (lower the optimizer step or the weights)")
        settled = np.isfinite(prev) and abs(prev - info.loss) <= rtol * abs(prev)
        done = bool(info.stop or info.grad_norm <= tol or settled or k + 1 == iterations)
        if callback is not None and (done or (k + 1) % every == 0):
            callback(row)
        if done:
            break
        prev = info.loss
    return opt.x.reshape(shape)


def _regularizers(regularization: Sequence, level: Level, similarity) -> list:
    """(weight on this level, regulariser): rescaled so that a weight means the same on every
    level. ncc is a mean over pixels, not a sum: a level 2^L coarser then keeps its data
    term's size while the regularisers lose the 4^L pixels, which the weight gets back."""
    mean = 4.0 ** level.index if similarity.type == "ncc" else 1.0
    return [(weight * mean * 0.25 ** (LEVEL_POWER.get(name, 0) * level.index), reg)
            for name, reg, weight in regularization]


def _stage(name: str, levels: list[Level], iterations: list[int], similarity, regularization,
           optimizer_cls, options, tol, rtol, history, callback, every=1, pre=None) -> tuple:
    """One transform over all levels, coarse to fine; returns (θ, transform) at the finest."""
    tr = make_transform(name)
    theta = np.zeros(tr.param_shape(levels[0].shape), dtype=levels[0].fixed.dtype)
    for i, level in enumerate(levels):
        if i > 0:
            theta = tr.refine(theta, levels[i - 1], level)
        regs = (_regularizers(regularization, level, similarity) if name == "displacement"
                else [])
        u_pre = None if pre is None else pre(level)
        obj = level_objective(tr, level, similarity, regs, u_pre)
        row0 = {"stage": name, "level": level.index,
                "shape": f"{level.shape[0]}x{level.shape[1]}"}
        theta = _solve_level(obj, theta, iterations[i], optimizer_cls, options, tol, rtol,
                             row0, history, callback, every)
    return theta, tr


def _affine_info(theta: np.ndarray, level: Level, tr: Affine) -> dict:
    m, t = tr.matrix(theta, level)
    scale = float(np.sqrt(abs(np.linalg.det(m))))
    angle = float(np.degrees(np.arctan2(m[1, 0] - m[0, 1], m[0, 0] + m[1, 1])))
    return {"matrix": m, "shift": t, "angle": angle, "scale": scale}


def register(fixed: np.ndarray, moving: np.ndarray, *, transform: str = "displacement",
             levels: int = 3, iterations: int | Sequence[int] = 100, pre: str | None = None,
             loss="ssd", regularization: Sequence = (), optimizer_cls=None,
             optimizer_options: Mapping | None = None, interpolation: str = "cubic",
             boundary: str = "border", tol: float = 0.0, rtol: float = 0.0,
             callback: Callable[[dict], None] | None = None, every: int = 1
             ) -> RegistrationResult:
    """Register ``moving`` to ``fixed`` (both (H, W)): the displacement u with
    moving(x + u(x)) ≈ fixed(x), coarse to fine over ``levels`` pyramid levels.

    Parameters
    ----------
    transform : translation | affine | displacement
    iterations : per level, one number or a list (coarsest level first)
    pre : ``affine`` to run an affine stage first (displacement only)
    loss : ``ssd`` | ``ncc`` | {type: ncc, window: 9}
    regularization : [(name, Regularizer, weight)] on the dense field (field regularisers)
    optimizer_cls, optimizer_options : the optimizer (default: fitcli.optim's lbfgs)
    tol, rtol : stop a level when the gradient norm <= tol or the objective's relative
        change <= rtol
    callback, every : ``callback(row)`` every ``every`` iterations and at the end of each
        level; rows have stage, level, shape, iteration, level_iteration, loss, grad_norm,
        step, seconds (all rows are in ``RegistrationResult.history``)
    """
    check_pair(fixed, moving)
    if not (isinstance(levels, int) and levels >= 1) or min(fixed.shape) >> (levels - 1) < 4:
        raise ConfigError("model.levels", "a positive integer leaving at least 4x4 pixels at "
                          "the coarsest level", levels)
    if pre not in (None, "affine") or (pre and transform != "displacement"):
        raise ConfigError("model.pre", "null, or affine with transform: displacement", pre)
    its = _per_level(iterations, levels)
    similarity = make_similarity(loss)
    pyr = build_levels(fixed, moving, levels, interpolation, boundary)
    history: list = []
    opts = dict(optimizer_options or {})
    start = time.perf_counter()
    params, pre_fn, aff = {}, None, None
    if pre == "affine" or transform == "affine":
        theta_a, tr_a = _stage("affine", pyr, its, similarity, (), optimizer_cls, opts, tol,
                               rtol, history, callback, every)
        params["affine"] = theta_a
        aff = _affine_info(theta_a, pyr[-1], tr_a)
        fine_a = tr_a.displacement(theta_a, pyr[-1])
        if transform == "displacement":
            # the affine field on each level: u_L(X) = u(2^L X + …) / 2^L, via the transform
            thetas = {pyr[-1].index: theta_a}
            for i in range(len(pyr) - 1, 0, -1):
                thetas[pyr[i - 1].index] = _coarsen_affine(thetas[pyr[i].index], pyr[i],
                                                           pyr[i - 1])
            pre_fn = lambda level: tr_a.displacement(thetas[level.index], level)  # noqa: E731
    if transform != "affine":
        theta, tr = _stage(transform, pyr, its, similarity, regularization, optimizer_cls,
                           opts, tol, rtol, history, callback, every, pre_fn)
        params[transform] = theta
        u = tr.displacement(theta, pyr[-1])
        if pre_fn is not None:
            u = u + fine_a
    else:
        u = fine_a
    warped = warp(moving, u, order=3 if interpolation == "cubic" else 1, boundary=boundary)
    return RegistrationResult(u, warped, params, history, aff, time.perf_counter() - start)


def _coarsen_affine(theta: np.ndarray, fine: Level, coarse: Level) -> np.ndarray:
    """Inverse of :meth:`Affine.refine`."""
    from .models.registration import _centre_and_scale

    _, s_c = _centre_and_scale(coarse.shape)
    _, s_f = _centre_and_scale(fine.shape)
    out = np.array(theta, dtype=float)
    out[:4] = theta[:4] / s_f * s_c
    out[4:] = theta[4:] / 2.0
    return out.astype(theta.dtype)


# -- a config run (`fitcli solve`) -----------------------------------------------------------------
def _regularization_terms(cfg) -> list:
    """(name, regulariser, weight) per term; tv / smooth_tv are the field versions."""
    out = []
    for i, (name, cls, weight, opts) in enumerate(cfg.regularization):
        if name in FIELD_REGULARIZERS:
            cls = FIELD_REGULARIZERS[name]
        elif name not in LEVEL_POWER:
            raise ConfigError(f"regularization[{i}].type", "a displacement-field regulariser: "
                              + ", ".join([*FIELD_REGULARIZERS, "l2", "tikhonov"]), name)
        out.append((name, cls(**opts), weight))
    return out


def _affine_metrics(result: RegistrationResult, affine_truth) -> dict:
    if result.affine is None:
        return {}
    a = result.affine
    m = {"angle_deg": a["angle"], "scale": a["scale"],
         "shift_row": float(a["shift"][0]), "shift_col": float(a["shift"][1])}
    if affine_truth is not None:
        tm = np.asarray(affine_truth[0])
        t_angle = float(np.degrees(np.arctan2(tm[1, 0] - tm[0, 1], tm[0, 0] + tm[1, 1])))
        t_scale = float(np.sqrt(abs(np.linalg.det(tm))))
        m.update(angle_true_deg=t_angle, scale_true=t_scale,
                 angle_error_deg=abs(a["angle"] - t_angle),
                 scale_error_rel=abs(a["scale"] / t_scale - 1.0))
    return m


def solve_registration(cfg, run_dir: str | Path | None = None, *,
                       callback: Callable[[dict], None] | None = None) -> dict:
    """Run a resolved registration config (``fitcli.config.Config``); write the run folder.

    Returns the summary: status, metrics (SSD/NCC before and after, fold fraction, endpoint
    error against the truth of a synthetic pair, affine angle/scale), seconds, iterations,
    notes and warnings (e.g. folds), and the files written.
    """
    dtype = np.dtype(cfg.dtype)
    rng = data_rng(cfg.seed)
    data = load_registration_data(DataContext(Path(cfg.base_dir), rng, dtype), **cfg.data)
    fixed, moving = data.extras["fixed"], data.extras["moving"]
    model = dict(cfg.model)
    iterations = model.pop("iterations", None)
    if iterations is None:
        iterations = cfg.stop.get("iterations", 100)
    loss = {"type": cfg.resolved["loss"]["type"], **cfg.loss}
    result = register(fixed, moving, iterations=iterations, loss=loss,
                      regularization=_regularization_terms(cfg),
                      optimizer_cls=cfg.optimizer_cls, optimizer_options=cfg.optimizer,
                      tol=float(cfg.stop.get("tol") or 0.0),
                      rtol=float(cfg.stop.get("rtol") or 0.0), callback=callback,
                      every=int(cfg.output.get("every") or 1), **model)
    truth = data.extras["truth"]
    metrics = pair_metrics(fixed, moving, result.warped, result.displacement, truth)
    metrics.update(_affine_metrics(result, data.extras["affine_truth"]))
    warnings = list(data.extras["notes"])
    if cfg.regularization and model.get("transform", "displacement") != "displacement":
        warnings.append(f"regularization applies to a displacement field only; ignored for "
                        f"transform {model['transform']}")
    if metrics["fold_fraction"] > 0:
        warnings.append(f"the displacement folds on {100 * metrics['fold_fraction']:.2f}% of "
                        "the pixels (Jacobian determinant <= 0): raise the regulariser weight")
    summary = {"status": result.status, "data": data.name, "metrics": metrics,
               "iterations": len(result.history), "seconds": result.seconds,
               "warnings": warnings, "files": []}
    if run_dir is not None:
        summary["files"] = _write_run(Path(run_dir), cfg, fixed, moving, result, summary, truth)
    return summary


def _write_run(run_dir: Path, cfg, fixed, moving, result: RegistrationResult,
               summary: dict, truth: np.ndarray | None) -> list[str]:
    from .fit import write_json
    from .registration_outputs import write_outputs

    run_dir.mkdir(parents=True, exist_ok=True)
    files = write_outputs(run_dir, fixed, moving, result.warped, result.displacement,
                          result.history, truth)
    cols = ["iteration", "stage", "level", "shape", "level_iteration", "loss", "grad_norm",
            "step", "seconds"]
    with open(run_dir / "metrics.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for row in result.history:
            w.writerow(row)
    try:
        from . import config as C

        (run_dir / "config.yaml").write_text(C.dump(cfg), encoding="utf-8")
        files.append("config.yaml")
    except (AttributeError, TypeError):  # a hand-made cfg without the resolved dict
        pass
    files += ["metrics.csv", "summary.json"]
    write_json(run_dir / "summary.json", dict(summary, files=files))
    return files
